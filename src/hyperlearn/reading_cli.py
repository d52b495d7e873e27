"""`hyperlearn texts ...` and `hyperlearn bench reading`: thin commands over the reading
service and benchmark (heavy imports inside the commands keep `hyperlearn --help` quick)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hyperlearn.evaluation.cli import LLMBackendOption, load_bench_backend
from hyperlearn.settings import Settings

texts_app = typer.Typer(no_args_is_help=True, help="Reading texts and their questions.")
console = Console()
errors = Console(stderr=True)
SHARED_TEXTS = Path("../shared/data/texts")


@texts_app.command("import")
def texts_import(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(exists=True, help="Text/HTML files, or a OneStopEnglish folder."),
    ],
    lang: Annotated[str, typer.Option("--lang", help="Language of the texts: en or ru.")],
    level: Annotated[
        str | None, typer.Option(help="CEFR level to store instead of the estimate.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Source name shown with each text.")] = None,
    licence: Annotated[str | None, typer.Option(help="Licence of the texts.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import reading texts: split them into sentences, estimate their level and build their
    grounded questions. Importing the same text again adds nothing."""
    from hyperlearn.core import CEFRLevel, Language
    from hyperlearn.service import reading
    from hyperlearn.store.engine import make_engine, schema_is_current, session_factory

    try:
        language = Language(lang)
        cefr = CEFRLevel(level) if level else None
    except ValueError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    engine = make_engine(settings.effective_database_url)
    if not schema_is_current(engine):
        errors.print("The database is missing or out of date: run `hyperlearn init` first.")
        raise typer.Exit(1)
    try:
        with session_factory(engine)() as session:
            reports = reading.import_texts(
                session,
                paths,
                language,
                now=datetime.now(UTC),
                level=cefr,
                source=source,
                licence=licence,
                settings=settings,
            )
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps([r.to_json() for r in reports], ensure_ascii=False))
    else:
        for r in reports:
            status = "new" if r.added else "refused" if not r.text_id else "already stored"
            line = f"{r.title} [{r.level or '-'}{', ' + r.label if r.label else ''}]: "
            line += f"{r.sentences} sentences, {r.questions} questions ({status})"
            console.print(line + (f" — {r.problem}" if r.problem else ""), highlight=False)
        added = sum(r.added for r in reports)
        refused = sum(not r.text_id for r in reports)
        console.print(
            f"{len(reports)} texts: {added} new, {refused} refused, "
            f"{sum(r.questions for r in reports if r.added)} questions added"
        )
    if reports and all(not r.text_id for r in reports):
        raise typer.Exit(1)


def bench_reading(
    data: Annotated[
        Path, typer.Option(help="Folder with xquad/, squad-qg-du2017/ and onestopenglish/.")
    ] = SHARED_TEXTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Use only the first N paragraphs/sentences/articles (quick)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for results.json.")] = Path(
        "bench-results/reading"
    ),
    backend: Annotated[
        LLMBackendOption,
        typer.Option(
            help="A model that also writes questions (reported under 'llm'); openai uses "
            "HYPERLEARN_LLM_*; none: no model."
        ),
    ] = LLMBackendOption.none,
    model_path: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="GGUF file for --backend llamacpp."),
    ] = None,
    llm_paragraphs: Annotated[
        int, typer.Option(min=1, help="XQuAD paragraphs per language the model writes for.")
    ] = 10,
) -> None:
    """Reading questions: grounding and gold overlap on XQuAD (en, ru), BLEU-4/ROUGE-L on
    SQuAD-QG (Du et al. 2017 test), level ordering on OneStopEnglish; with --backend, the
    model's questions on XQuAD paragraphs, checked the same way."""
    from hyperlearn.evaluation.reading_bench import Paths, run
    from hyperlearn.llm.backend import LLMBackend, LLMError

    paths = Paths.under(data)
    for folder in (paths.xquad, paths.squad_qg, paths.onestop):
        if not folder.is_dir():
            errors.print(f"[red]{folder} is missing[/red]")
            raise typer.Exit(1)
    llm: LLMBackend | None = None
    if backend is not LLMBackendOption.none:
        try:
            llm = load_bench_backend(backend, model_path)
        except (ValueError, LLMError) as error:
            errors.print(str(error), style="red", markup=False, highlight=False)
            raise typer.Exit(2) from error
    results = run(
        paths,
        xquad_limit=limit,
        squad_limit=limit,
        onestop_limit=limit,
        report=lambda step: errors.print(f"… {step}", highlight=False),
        llm=llm,
        llm_paragraphs=llm_paragraphs,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    if as_json:
        print(json.dumps(results, ensure_ascii=False))
        return
    for language, row in results["xquad"].items():
        console.print(
            f"XQuAD {language}: {row['paragraphs']} paragraphs, {row['questions']} questions, "
            f"grounded {row['grounded_rate']:.1%}, gold overlap {row['gold_overlap']:.1%}, "
            f"{row['s_per_paragraph']:.3f} s/paragraph",
            highlight=False,
        )
    qg = results["squad_qg"]
    console.print(
        f"SQuAD-QG test: BLEU-4 {qg['bleu4']}, ROUGE-L {qg['rougeL']} "
        f"(coverage {qg['coverage']:.1%}; Du et al. 2017: BLEU-4 12.28, ROUGE-L 39.75)",
        highlight=False,
    )
    console.print(
        f"OneStopEnglish: level ordering accuracy {results['onestop']['level_accuracy']:.1%}",
        highlight=False,
    )
    for language, row in results.get("llm", {}).items():
        if not isinstance(row, dict):
            continue  # the backend's and model's names
        console.print(
            f"Model questions {language} ({results['llm']['model'] or results['llm']['backend']}"
            f"): {row['accepted']}/{row['proposed']} accepted on {row['paragraphs']} "
            f"paragraphs, grounded {row['grounded_rate']}, gold overlap "
            f"{row['gold_overlap']:.1%}, rejected {row['rejected_by_reason']}, failed calls "
            f"{row['failed_calls_by_reason']}, latency p50 {row['latency_ms']['p50']} ms, "
            f"p95 {row['latency_ms']['p95']} ms",
            markup=False,
            highlight=False,
        )
    console.print(f"Wrote {out / 'results.json'}")
