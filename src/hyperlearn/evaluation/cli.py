"""`hyperlearn bench ...`: benchmark commands. Heavy imports happen inside the commands, so that
mounting this app keeps `hyperlearn --help` quick."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from typer.models import OptionInfo

if TYPE_CHECKING:
    from hyperlearn.llm.backend import LLMBackend

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks on public and exported logs.")


class LogFormatOption(StrEnum):
    akt = "akt"
    dkvmn = "dkvmn"
    pykt = "pykt"
    hyperlearn = "hyperlearn"


def _files(role: str) -> OptionInfo:
    option: OptionInfo = typer.Option(
        exists=True,
        dir_okay=False,
        metavar="FILE",
        readable=True,
        help=f"{role} log file; repeat the option for several folds (paired in order).",
    )
    return option


@bench_app.command("kt")
def kt(
    fmt: Annotated[
        LogFormatOption, typer.Option("--format", help="Format of the train and test files.")
    ],
    train: Annotated[list[Path], _files("A train")],
    test: Annotated[list[Path], _files("A test")],
    models: Annotated[
        str,
        typer.Option(help="Comma-separated: hyperlearn, pfa, pfa_log, bkt, majority, skill_mean."),
    ] = "hyperlearn,pfa,bkt,majority,skill_mean",
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for results.json, results.md, roc.svg (default: bench-results/kt/DATASET)."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="Name in the report (default: the test file's folder name)."),
    ] = None,
    max_learners: Annotated[
        int | None,
        typer.Option(min=1, help="Read only the first N learners of each file (quick runs)."),
    ] = None,
) -> None:
    """Knowledge tracing: fit each model on --train, predict every --test attempt online.

    Example, five folds: --train train1.csv --train train2.csv ... --test test1.csv --test
    test2.csv ...
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from hyperlearn.evaluation import kt_bench

    errors = Console(stderr=True)
    names = [name.strip() for name in models.split(",") if name.strip()]
    name = dataset or test[0].resolve().parent.name or "dataset"
    out_dir = out if out is not None else Path("bench-results") / "kt" / name
    try:
        for model_name in names:
            kt_bench.make_model(model_name)
        if len(train) != len(test):
            raise kt_bench.BenchmarkError(
                f"--train and --test must pair up: {len(train)} train file(s), "
                f"{len(test)} test file(s)"
            )
        steps = len(train) * (1 + len(names))
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[dim]{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=errors,
        ) as progress:
            task = progress.add_task("starting", total=steps)
            done = -1

            def report(message: str) -> None:
                nonlocal done
                done += 1
                progress.update(task, description=message, completed=done)

            folds = kt_bench.load_folds(
                fmt.value, train, test, max_learners=max_learners, progress=report
            )
            result = kt_bench.run_benchmark(name, folds, names, progress=report)
            progress.update(task, description="done", completed=steps)
    except kt_bench.BenchmarkError as error:
        errors.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from error

    problems = [p for fold in folds for p in fold.problems]
    if problems:
        errors.print(f"[yellow]{len(problems)} malformed record(s) skipped or renamed:[/yellow]")
        for problem in problems[:10]:
            errors.print(f"  {problem}", markup=False, highlight=False)
        if len(problems) > 10:
            errors.print(f"  ... and {len(problems) - 10} more (see results.json)")
    written = kt_bench.write_outputs(result, out_dir)

    summary = result.summary
    several = summary["n_folds"] > 1
    table = Table(
        "model",
        *(kt_bench.SHORT_NAMES.get(metric, metric) for metric, _ in kt_bench.TABLE_COLUMNS),
        *(["auc sd"] if several else []),
        title=f"{name}: {summary['n_test']:,} test attempts, {summary['n_folds']} fold(s)"
        + (" (means over folds)" if several else ""),
    )
    for row in kt_bench.table_rows(summary, with_sd=False):
        sd = summary["models"][row[0]]["auc_sd"]
        table.add_row(*row, *([kt_bench.fmt_number(sd)] if several else []))
    screen = errors if as_json else Console()
    if not screen.is_terminal:
        screen.width = max(screen.width, 140)  # a log file or a pipe: do not squeeze the table
    screen.print(table)
    errors.print(f"Wrote {', '.join(str(path) for path in written)}")
    if as_json:
        typer.echo(json.dumps(summary))


@bench_app.command("import")
def import_speed(
    out: Annotated[Path, typer.Option(help="Folder for results.json.")] = Path(
        "bench-results/import"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Import speed and peak memory: UD English-EWT train (CoNLL-U) and ReLCo (M2), each in a
    fresh process and database (targets: >= 2,000 sentences/s, < 300 MB)."""
    from hyperlearn.evaluation.import_bench import default_targets, run

    targets = default_targets()
    missing = [str(t.path) for t in targets if not t.path.is_file()]
    if missing:
        Console(stderr=True).print(f"[red]missing corpus files: {', '.join(missing)}[/red]")
        raise typer.Exit(1)
    results = run(targets, out)
    if as_json:
        print(json.dumps(results))
        return
    for row in results:
        Console().print(
            f"{row['name']}: {row['records']:,} records in {row['seconds']} s "
            f"({row['records_per_s']:,} records/s, {row['items_per_s']:,} items/s), "
            f"{row['kept']:,} items kept, peak {row['peak_mb']} MB"
        )


@bench_app.command("recommend")
def recommend(
    items: Annotated[
        list[int],
        typer.Option(min=1, help="Bank size; repeat for several (e.g. 1000, 10000, 100000)."),
    ],
    policy: Annotated[str, typer.Option(help="hybrid, mastery or random.")] = "hybrid",
    language: Annotated[str, typer.Option(help="en or ru.")] = "en",
    calls: Annotated[int, typer.Option(min=10, help="Timed calls per path.")] = 300,
    history: Annotated[
        int, typer.Option(min=1, help="Answers the learner has given before the timing.")
    ] = 200,
    core_only: Annotated[
        bool, typer.Option("--core-only", help="Skip the service path (no database).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    out: Annotated[Path, typer.Option(help="Folder for results.json.")] = Path("bench-results")
    / "recommend",
) -> None:
    """Time choosing the next exercise (p50, p99) in the core and through the service."""
    from rich.table import Table

    from hyperlearn.core import Language, policy_named
    from hyperlearn.evaluation import recommend_bench

    errors = Console(stderr=True)
    try:
        lang = Language(language)
        policy_named(policy)
    except ValueError as error:
        errors.print(str(error), style="red", markup=False)
        raise typer.Exit(2) from error
    results = []
    with errors.status("starting") as status:
        for n in items:
            results.append(
                recommend_bench.run(
                    n,
                    lang,
                    policy,
                    calls=calls,
                    history=history,
                    service=not core_only,
                    progress=lambda message: status.update(message),
                )
            )
    table = Table("items", "core p50 ms", "core p99 ms", "service p50 ms", "service p99 ms")
    for result in results:
        service = result.service
        table.add_row(
            f"{result.items:,}",
            f"{result.core.p50_ms:.2f}",
            f"{result.core.p99_ms:.2f}",
            f"{service.p50_ms:.2f}" if service else "-",
            f"{service.p99_ms:.2f}" if service else "-",
        )
    (errors if as_json else Console()).print(table)
    payload = [result.to_json() for result in results]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    errors.print(f"Wrote {out / 'results.json'}")
    if as_json:
        typer.echo(json.dumps(payload[0] if len(payload) == 1 else payload))


def simulate(
    policies: Annotated[
        str, typer.Option(help="Comma-separated policies: hybrid, mastery, random.")
    ] = "random,mastery,hybrid",
    learners: Annotated[int, typer.Option(min=1, help="Synthetic learners per seed.")] = 200,
    steps: Annotated[int, typer.Option(min=1, help="Exercises per learner.")] = 1600,
    seed: Annotated[int, typer.Option(help="First seed.")] = 0,
    seeds: Annotated[int, typer.Option(min=1, help="Number of seeds (seed, seed+1, ...).")] = 5,
    language: Annotated[str, typer.Option(help="en or ru: whose skill graph and bank.")] = "en",
    target_level: Annotated[
        str, typer.Option(help="Mastery is measured on the skills up to this level.")
    ] = "B1",
    workers: Annotated[
        int, typer.Option(min=1, help="Processes; (policy, seed) runs go in parallel.")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    out: Annotated[Path, typer.Option(help="Folder for results.json and results.md.")] = Path(
        "bench-results"
    )
    / "simulate",
) -> None:
    """Simulated learners over the shipped skill graph and bank: which policy teaches fastest.

    Hidden knowledge grows with practice (most at the right difficulty, gated by prerequisites),
    fades with time, and answers come with slip and guess; disliked topics cause skips and quits.
    Policies see only the answers. See hyperlearn.evaluation.simulation for the model."""
    from rich.progress import Progress
    from rich.table import Table

    from hyperlearn.content.bank import load_bank
    from hyperlearn.core import CEFRLevel, Language, policy_named
    from hyperlearn.evaluation.simulation import SimulationConfig
    from hyperlearn.evaluation.simulation import simulate as run_simulation

    errors = Console(stderr=True)
    names = [name.strip() for name in policies.split(",") if name.strip()]
    try:
        lang = Language(language)
        level = CEFRLevel(target_level)
        for name in names:
            policy_named(name)
        config = SimulationConfig(
            learners=learners,
            steps=steps,
            seeds=tuple(range(seed, seed + seeds)),
            target_level=level,
        )
    except ValueError as error:
        errors.print(str(error), style="red", markup=False)
        raise typer.Exit(2) from error
    bank = load_bank()
    with Progress(console=errors) as progress:
        task = progress.add_task("simulating", total=len(names) * seeds)
        report = run_simulation(
            bank.items[lang],
            bank.graphs[lang],
            list(bank.topics),
            names,
            config,
            workers=workers,
            on_done=lambda name, s: progress.advance(task),
        )
    table = Table(
        "policy",
        "mastery after steps",
        "steps to mastery",
        "reached",
        "retention 30 d",
        "dropouts",
        title=f"{learners} learners x {seeds} seeds, {steps} steps, {report.n_target_skills} "
        f"target skills (A1-{level}), {report.n_items} items; mean [95% CI over seeds]",
    )
    for name, result in report.policies.items():
        ci = result.ci95
        table.add_row(
            name,
            _with_ci(result.mastery_after_steps, ci["mastery_after_steps"], 3),
            _with_ci(result.steps_to_mastery, ci["steps_to_mastery"], 0),
            f"{result.reached_mastery:.0%}",
            _with_ci(result.retention_30d, ci["retention_30d"], 3),
            _with_ci(result.dropouts, ci["dropouts"], 3),
        )
    (errors if as_json else Console()).print(table)
    payload = report.to_json()
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    errors.print(f"Wrote {out / 'results.json'}")
    if as_json:
        typer.echo(json.dumps(payload))


def _with_ci(value: float, interval: tuple[float, float], digits: int) -> str:
    return f"{value:.{digits}f} [{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


class LLMBackendOption(StrEnum):
    none = "none"
    openai = "openai"
    llamacpp = "llamacpp"


def load_bench_backend(backend: LLMBackendOption, model_path: Path | None) -> LLMBackend:
    """The backend a benchmark asked for (openai from HYPERLEARN_LLM_*), a local model loaded
    now so that a bad file fails once, here; raises ValueError or LLMError."""
    from hyperlearn.llm.factory import backend_from_settings
    from hyperlearn.settings import Settings

    update: dict[str, object] = {"llm_backend": backend.value}
    if model_path is not None:
        update["llm_model_path"] = model_path
    llm = backend_from_settings(Settings().model_copy(update=update))
    load = getattr(llm, "load", None)
    if callable(load):
        load()
    return llm


@bench_app.command("llm")
def bench_llm(
    backend: Annotated[
        LLMBackendOption,
        typer.Option(help="none measures the deterministic paths; openai uses HYPERLEARN_LLM_*."),
    ] = LLMBackendOption.none,
    model_path: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="GGUF file for --backend llamacpp."),
    ] = None,
    items: Annotated[
        int, typer.Option(min=1, help="Themed requests, and as many explanations.")
    ] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the drawn cases.")] = 0,
    explain_language: Annotated[
        str, typer.Option(help="Language of the explanations: en or ru.")
    ] = "en",
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate", help="Also simulate the llm and tallrec policies next to hybrid."
        ),
    ] = False,
    tallrec_model_dir: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="A model `hyperlearn llm tune` wrote, for the tallrec policy of --simulate "
            "(default: HYPERLEARN_TALLREC_MODEL_DIR; neither: tallrec is not simulated).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    out: Annotated[Path, typer.Option(help="Folder for results.json and details.json.")] = Path(
        "bench-results"
    )
    / "llm",
) -> None:
    """Language models at work: acceptance of themed exercises, explanations that pass the
    checks, latency p50/p95. With --backend none: the template and rule paths."""
    from hyperlearn.evaluation import llm_bench
    from hyperlearn.llm.backend import LLMError
    from hyperlearn.settings import Settings

    errors = Console(stderr=True)
    if explain_language not in ("en", "ru"):
        errors.print("--explain-language must be en or ru", style="red")
        raise typer.Exit(2)
    if tallrec_model_dir is not None and not simulate:
        errors.print("--tallrec-model-dir needs --simulate", style="red")
        raise typer.Exit(2)
    try:
        # The setting only when simulating: a configured model must not make a plain run fail.
        if simulate and tallrec_model_dir is None:
            tallrec_model_dir = Settings().tallrec_model_dir
        llm = load_bench_backend(backend, model_path)
        with errors.status(f"bench llm: {backend.value}, {items} items"):
            result, details = llm_bench.run(
                llm,
                items=items,
                seed=seed,
                explain_language="ru" if explain_language == "ru" else "en",
                simulate=simulate,
                tallrec_dir=tallrec_model_dir,
            )
    except (ValueError, LLMError) as error:
        errors.print(str(error), style="red", markup=False, highlight=False)
        raise typer.Exit(2) from error
    written = llm_bench.write_outputs(result, details, out)
    themed, explained, latency = result["themed"], result["explanations"], result["latency_ms"]
    console = errors if as_json else Console()
    console.print(
        f"{result['backend']} {result['model']}: themed {themed['accepted']}/"
        f"{themed['attempted']} accepted ({themed['acceptance_rate']:.0%}), rejected "
        f"{themed['rejected_by_reason']}; explanations {explained['passed']}/"
        f"{explained['checked']} passed ({explained['pass_rate']:.0%}), not used "
        f"{details['explanations_rejected_by_reason']}; latency p50 {latency['p50']} ms, "
        f"p95 {latency['p95']} ms",
        markup=False,
        highlight=False,
    )
    if "policies" in result:
        simulated = result["policies"]
        mastery = ", ".join(
            f"{name} {outcome['mastery_after_steps']:.3f}"
            for name, outcome in simulated["policies"].items()
        )
        tallrec = simulated["tallrec"]
        console.print(
            f"mastery after {simulated['config']['steps']} steps: {mastery}; llm fallbacks "
            f"{simulated['llm']['fallbacks']}, answers keeping hybrid's first choice "
            f"{simulated['llm']['same_first_as_hybrid']}/{simulated['llm']['answered']}; "
            + (tallrec.get("note") or f"tallrec failures {tallrec['failures']}"),
            markup=False,
            highlight=False,
        )
    errors.print(f"Wrote {', '.join(str(path) for path in written)}")
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
