"""`hyperlearn content anki`: a thin command over hyperlearn.service.export (heavy imports
inside the command keep `hyperlearn --help` quick)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hyperlearn.settings import Settings

console = Console()
errors = Console(stderr=True)


def content_anki(
    ctx: typer.Context,
    skills: Annotated[
        str, typer.Option(help="Comma-separated skill ids, e.g. en.past_continuous,en.used_to.")
    ],
    out: Annotated[Path, typer.Option(help="The .apkg file to write.", dir_okay=False)],
    language: Annotated[str, typer.Option(help="Language of the skills: en or ru.")] = "en",
    level: Annotated[
        str | None, typer.Option(help="Leave out items above this CEFR level.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Export the items of some skills as an Anki deck: one card per exercise, the answer, the
    rule and the source and licence on the back. Re-exporting updates the same deck in Anki."""
    from hyperlearn.service import ServiceError
    from hyperlearn.service import export as service
    from hyperlearn.store.engine import make_engine, schema_is_current, session_factory

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    engine = make_engine(settings.effective_database_url)
    try:
        if not schema_is_current(engine):
            errors.print("The database is missing or out of date: run `hyperlearn init` first.")
            raise typer.Exit(1)
        wanted = [s.strip() for s in skills.split(",") if s.strip()]
        with session_factory(engine)() as session:
            report = service.export_anki(session, language, wanted, out, level=level)
    except ServiceError as exc:
        errors.print(f"[red]{exc.reason}[/red]")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    if as_json:
        payload = {
            "path": str(report.path),
            "deck_id": report.deck_id,
            "deck_name": report.deck_name,
            "notes": report.notes,
            "per_skill": report.per_skill,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    console.print(f"Wrote {report.notes} cards to {report.path} (deck {report.deck_name!r}).")
    for skill_id, count in report.per_skill.items():
        console.print(f"  {skill_id}: {count}")
