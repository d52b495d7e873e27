"""The `hyperlearn` command. Commands stay thin: they parse options and call the services."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table

from hyperlearn.accounts_cli import token_app, user_app
from hyperlearn.evaluation.cli import bench_app, simulate
from hyperlearn.export_cli import content_anki
from hyperlearn.llm_cli import llm_app
from hyperlearn.reading_cli import bench_reading, texts_app
from hyperlearn.settings import Settings

app = typer.Typer(no_args_is_help=True, help="HyperLearn: personalised language practice.")
content_app = typer.Typer(no_args_is_help=True, help="Check and count the shipped content.")
app.add_typer(content_app, name="content")
learner_app = typer.Typer(
    no_args_is_help=True, help="Refit a learner's models from their attempts."
)
app.add_typer(learner_app, name="learner")
app.add_typer(bench_app, name="bench")
app.command("simulate")(simulate)
app.add_typer(texts_app, name="texts")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(llm_app, name="llm")
bench_app.command("reading")(bench_reading)
content_app.command("anki")(content_anki)
console = Console()
errors = Console(stderr=True)


def _now() -> datetime:
    return datetime.now(UTC)


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: SQLite under HYPERLEARN_DATA_DIR)."),
    ] = None,
) -> None:
    ctx.obj = Settings(database_url=db) if db else Settings()


def _settings(ctx: typer.Context) -> Settings:
    assert isinstance(ctx.obj, Settings)
    return ctx.obj


@app.command()
def init(ctx: typer.Context) -> None:
    """Create or upgrade the database and load the starter content (safe to repeat)."""
    from hyperlearn.service.setup import init_database
    from hyperlearn.store.engine import make_engine

    settings = _settings(ctx)
    counts = init_database(make_engine(settings.effective_database_url), _now())
    console.print(
        f"Database ready: {counts.skills} skills, {counts.topics} topics, "
        f"{counts.items_added} items added, {counts.items_updated} already there."
    )


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the web app and the JSON API."""
    import uvicorn

    from hyperlearn.store.engine import make_engine, schema_is_current
    from hyperlearn.web.app import create_app, freeze_startup_heap

    settings = _settings(ctx)
    engine = make_engine(settings.effective_database_url)
    if not schema_is_current(engine):
        errors.print("The database is missing or out of date: run `hyperlearn init` first.")
        raise typer.Exit(1)
    engine.dispose()
    host = host or settings.host
    port = port or settings.port
    console.print(f"HyperLearn is running at [bold]http://{host}:{port}[/bold]  (Ctrl+C stops it)")
    web_app = create_app(settings)
    web_app.router.on_startup.append(freeze_startup_heap)
    uvicorn.run(web_app, host=host, port=port, log_level="warning")


@app.command()
def practice(
    ctx: typer.Context,
    learner: Annotated[str | None, typer.Option(help="Continue as this learner id.")] = None,
    language: Annotated[str, typer.Option(help="en or ru, for a new learner.")] = "en",
    level: Annotated[str, typer.Option(help="Self-assessed CEFR level, for a new learner.")] = "A2",
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable sessions.")] = None,
) -> None:
    """Practise in the terminal. Type the answer, or the number of a choice; 'q' quits."""
    from hyperlearn.service import ServiceError
    from hyperlearn.service import practice as service
    from hyperlearn.store.engine import make_engine, session_factory

    sessions = session_factory(make_engine(_settings(ctx).effective_database_url))
    rng = random.Random(seed)
    with sessions() as session:
        try:
            if learner is None:
                name = Prompt.ask("Your name", default="Learner")
                created = service.onboard(
                    session, name=name, language=language, level=level, interests=[], now=_now()
                )
                learner = created.id
                console.print(
                    f"Your learner id is [bold]{learner}[/bold] (use --learner next time)."
                )
            while True:
                exercise = service.next_exercise(session, learner, rng, _now())
                console.rule(f"{exercise.skill_name} · {exercise.level}")
                console.print(exercise.text.replace("___", "[bold]_____[/bold]"))
                if exercise.hint:
                    console.print(f"[dim]({exercise.hint})[/dim]")
                for n, option in enumerate(exercise.options, start=1):
                    console.print(f"  {n}. {option}")
                answer = Prompt.ask("Answer")
                if answer.strip().lower() == "q":
                    break
                if exercise.options and answer.strip().isdigit():
                    index = int(answer) - 1
                    if 0 <= index < len(exercise.options):
                        answer = exercise.options[index]
                feedback = service.submit_answer(
                    session,
                    learner,
                    item_id=exercise.item_id,
                    answer=answer,
                    idempotency_key=str(uuid.uuid4()),
                    now=_now(),
                )
                if feedback.correct:
                    console.print("[green]Correct![/green]")
                else:
                    console.print(f"[red]Not quite.[/red] Answer: [bold]{feedback.expected}[/bold]")
                    if feedback.correction:
                        console.print(f"Correct sentence: {feedback.correction}")
                console.print(f"[dim]{feedback.explanation}[/dim]")
                console.print(f"[dim]Rule: {feedback.rule}[/dim]")
        except ServiceError as exc:
            errors.print(f"[red]{exc.reason}[/red]")
            raise typer.Exit(1) from exc


@content_app.command("validate")
def content_validate(
    data_dir: Annotated[
        Path | None, typer.Option(help="Check this content folder instead of the shipped one.")
    ] = None,
) -> None:
    """Check every skill and item; exit 1 with the list of problems if any."""
    from hyperlearn.content.bank import validate

    problems = validate(data_dir) if data_dir else validate()
    for problem in problems:
        typer.echo(str(problem))  # one unwrapped line per problem, for grep and editors
    if problems:
        errors.print(f"[red]{len(problems)} problem(s) found.[/red]")
        raise typer.Exit(1)
    console.print("[green]All content is valid.[/green]")


@content_app.command("stats")
def content_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Count skills, items and topics per language."""
    from hyperlearn.content.bank import ContentError, load_bank

    try:
        bank = load_bank()
    except ContentError as exc:
        errors.print(f"{exc}\nRun `hyperlearn content validate` for the full list.")
        raise typer.Exit(1) from exc
    stats: dict[str, dict[str, object]] = {}
    for language, graph in bank.graphs.items():
        items = bank.items.get(language, [])
        stats[str(language)] = {
            "skills": len(graph),
            "items": len(items),
            "items_by_type": dict(sorted(Counter(str(i.type) for i in items).items())),
            "items_by_level": dict(sorted(Counter(str(i.level) for i in items).items())),
            "topics": len({t for i in items for t in i.topics}),
        }
    if as_json:
        print(json.dumps({"languages": stats}, ensure_ascii=False))
        return
    table = Table("language", "skills", "items", "by type", "topics")
    for code, row in stats.items():
        by_type = ", ".join(f"{k} {v}" for k, v in row["items_by_type"].items())  # type: ignore[attr-defined]
        table.add_row(code, str(row["skills"]), str(row["items"]), by_type, str(row["topics"]))
    console.print(table)


@learner_app.command("refit-memory")
def learner_refit_memory(
    ctx: typer.Context,
    learner_id: Annotated[str, typer.Argument(help="The learner's id.")],
    min_reviews: Annotated[
        int | None,
        typer.Option(min=1, help="Fit only with at least this many reviews (default 400)."),
    ] = None,
) -> None:
    """Fit the learner's FSRS memory parameters to their attempts and reschedule their reviews."""
    from hyperlearn.service import ServiceError
    from hyperlearn.service import memory as memory_service
    from hyperlearn.store.engine import make_engine, session_factory

    engine = make_engine(_settings(ctx).effective_database_url)
    try:
        with session_factory(engine)() as session:
            result = memory_service.refit_memory(
                session,
                learner_id,
                _now(),
                min_reviews=min_reviews or memory_service.MIN_REVIEWS_TO_FIT,
            )
    except ServiceError as exc:
        errors.print(f"[red]{exc.reason}[/red]")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    console.print(
        result.message if result.fitted else f"[yellow]{result.message}[/yellow]", soft_wrap=True
    )


@learner_app.command("refit")
def learner_refit(
    ctx: typer.Context,
    min_attempts: Annotated[
        int | None,
        typer.Option(min=1, help="Fit only with at least this many attempts (default 200)."),
    ] = None,
) -> None:
    """Refit the knowledge-tracing model (item and skill parameters) on every stored attempt."""
    from hyperlearn.service import knowledge
    from hyperlearn.store.engine import make_engine, session_factory

    engine = make_engine(_settings(ctx).effective_database_url)
    try:
        with session_factory(engine)() as session:
            report = knowledge.refit(
                session, _now(), min_attempts=min_attempts or knowledge.MIN_ATTEMPTS_TO_FIT
            )
    finally:
        engine.dispose()
    if report.fitted:
        console.print(f"Model {report.model_id}: {report.message} in {report.seconds:.1f} s.")
    else:
        console.print(f"[yellow]{report.message}[/yellow]", soft_wrap=True)


@learner_app.command("export")
def learner_export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="CSV file to write.", dir_okay=False)],
) -> None:
    """Export every attempt as CSV (learner_id,item_id,skills,correct,answered_at), the format
    `hyperlearn bench kt --format hyperlearn` reads."""
    from hyperlearn.service import knowledge
    from hyperlearn.store.engine import make_engine, session_factory

    engine = make_engine(_settings(ctx).effective_database_url)
    try:
        with session_factory(engine)() as session:
            count = knowledge.export_attempts_csv(session, path)
    finally:
        engine.dispose()
    console.print(f"Wrote {count} attempts to {path}.")


@app.command("import")
def import_corpus(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="m2, conllu or pairs.")],
    paths: Annotated[list[Path], typer.Argument(help="Files to import.")],
    lang: Annotated[str, typer.Option("--lang", help="Language of the files: en or ru.")],
    source: Annotated[str | None, typer.Option(help="Source name shown with each item.")] = None,
    licence: Annotated[str, typer.Option(help="Licence of the source.")] = "unknown",
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after N kept items.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build and verify, store nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Build verified exercises from a corpus (M2 learner errors, CoNLL-U treebanks, minimal
    pairs). Re-importing the same file adds nothing."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hyperlearn.content.importing.runner import ImportFailed, run_import
    from hyperlearn.store.engine import make_engine, schema_is_current, session_factory

    engine = make_engine(_settings(ctx).effective_database_url)
    if not schema_is_current(engine):
        errors.print("The database is missing or out of date: run `hyperlearn init` first.")
        raise typer.Exit(1)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        disable=not errors.is_terminal,
    )
    try:
        with progress:
            task = progress.add_task("importing", total=None)
            report = run_import(
                fmt,
                paths,
                language=lang,
                sessions=session_factory(engine),
                source=source or ", ".join(p.name for p in paths),
                licence=licence,
                now=_now(),
                limit=limit,
                dry_run=dry_run,
                on_progress=lambda run: progress.update(
                    task,
                    description=f"{run.read:,} records read, {run.kept:,} items kept, "
                    f"{sum(run.dropped.values()):,} dropped",
                ),
            )
    except (ImportFailed, UnicodeDecodeError) as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return
    console.print(
        f"{report.read:,} records read, {report.generated:,} items generated, "
        f"{report.kept:,} kept ({report.added:,} new), {report.seconds:.1f} s"
        + (" [dry run: nothing stored]" if dry_run else "")
    )
    for reason, count in report.dropped.items():
        console.print(f"  dropped {count:,}: {reason}", highlight=False)
    for line in report.malformed[:20]:
        console.print(f"  [yellow]{line}[/yellow]", highlight=False)
    table = Table("skill", "items")
    for skill_id, count in report.per_skill.items():
        table.add_row(skill_id, f"{count:,}")
    console.print(table)


if __name__ == "__main__":
    app()
