"""`hyperlearn llm ...`: check a configured model, build TALLRec data, tune and score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from hyperlearn.settings import Settings

if TYPE_CHECKING:
    from hyperlearn.llm.tallrec.data import ExportOptions, ExportReport

llm_app = typer.Typer(help="Language models: check the backend, TALLRec export and tuning.")

# The smallest request that exercises JSON output: a check that it parses and validates.
CHECK_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
}


@llm_app.command("check")
def llm_check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Send one tiny JSON request to the configured model; print backend, model, JSON mode,
    latency and tokens. Exits 1 with the reason when the model gives nothing usable."""
    from hyperlearn.llm.backend import CompletionRequest, LLMError
    from hyperlearn.llm.factory import backend_from_settings

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    result: dict[str, object] = {"backend": settings.llm_backend, "model": settings.llm_model}
    try:
        backend = backend_from_settings(settings)
        request = CompletionRequest(
            prompt='Is the sky blue on a clear day? Answer {"ok": true} or {"ok": false}.',
            schema=CHECK_SCHEMA,
            max_tokens=32,
        )
        completion = backend.complete(request)
    except (LLMError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, LLMError) else "configuration"
        result |= {"ok": False, "reason": reason, "error": str(exc)}
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            Console(stderr=True).print(f"LLM check failed ({reason}): {exc}", highlight=False)
        raise typer.Exit(1) from None
    result |= {
        "ok": True,
        "model": completion.model,
        "json_mode": getattr(backend, "json_mode", "grammar"),
        "latency_ms": round(completion.latency_ms, 1),
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "answer": completion.data,
    }
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key in ("backend", "model", "json_mode", "latency_ms", "answer"):
            print(f"{key + ':':<12} {json.dumps(result[key]) if key == 'answer' else result[key]}")
        tokens = f"{completion.prompt_tokens} prompt, {completion.completion_tokens} completion"
        print(f"{'tokens:':<12} {tokens}")


# -- TALLRec (paradigm 2): export, tune, score -------------------------------------------------


@llm_app.command("export-tallrec")
def llm_export_tallrec(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="The JSON-lines file to write.", dir_okay=False)],
    language: Annotated[str, typer.Option(help="Exercises of this language: en or ru.")] = "en",
    history: Annotated[int, typer.Option(help="Earlier interactions per example.")] = 10,
    limit: Annotated[
        int | None, typer.Option(help="At most this many examples, drawn at random.")
    ] = None,
    negatives_ratio: Annotated[
        float | None,
        typer.Option(help="Wanted No examples per Yes in the train split (subsamples)."),
    ] = None,
    split_by_learner: Annotated[
        float, typer.Option(help="Share of learners held out for validation.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the sampling and the split.")] = 0,
    log: Annotated[
        Path | None,
        typer.Option(help="Read a knowledge-tracing log file instead of the database."),
    ] = None,
    log_format: Annotated[
        str, typer.Option(help="Format of --log: akt, dkvmn, pykt or hyperlearn.")
    ] = "hyperlearn",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Turn the attempt log into TALLRec instruction data: for each attempt, the learner's
    earlier interactions and the exercise -> "Yes"/"No" (did they answer it correctly?).
    No example sees its own outcome or a later one; train and validation split by learner."""
    from hyperlearn.llm.tallrec.data import ExportOptions, TallRecDataError

    try:
        options = ExportOptions(
            history=history,
            validation_share=split_by_learner,
            negatives_ratio=negatives_ratio,
            limit=limit,
            seed=seed,
        )
        report = (
            _export_log(log, log_format, out, options)
            if log is not None
            else _export_database(ctx, language, out, options)
        )
    except TallRecDataError as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
        return
    Console().print(
        f"Wrote {report.examples} examples of {report.learners} learners to {out}: "
        f"{report.train} train, {report.validation} validation, "
        f"{100 * report.yes_share:.0f}% Yes.",
        highlight=False,
    )


def _export_database(
    ctx: typer.Context, language: str, out: Path, options: ExportOptions
) -> ExportReport:
    from hyperlearn.llm.tallrec.data import TallRecDataError
    from hyperlearn.service import ServiceError
    from hyperlearn.service.tallrec import export_tallrec
    from hyperlearn.store.engine import make_engine, schema_is_current, session_factory

    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    engine = make_engine(settings.effective_database_url)
    try:
        if not schema_is_current(engine):
            raise TallRecDataError("the database is missing or out of date: run `hyperlearn init`")
        with session_factory(engine)() as session:
            return export_tallrec(session, language, out, options)
    except ServiceError as exc:
        raise TallRecDataError(exc.reason) from exc
    finally:
        engine.dispose()


def _export_log(path: Path, fmt: str, out: Path, options: ExportOptions) -> ExportReport:
    from hyperlearn.evaluation.kt_data import UnknownFormatError, Vocabularies, load_log
    from hyperlearn.llm.tallrec.data import (
        ExportReport,
        TallRecDataError,
        build_examples,
        sequences_from_log,
        write_jsonl,
    )

    vocab = Vocabularies()
    try:
        log, problems = load_log(path, fmt, vocab)
    except UnknownFormatError as exc:
        raise TallRecDataError(str(exc)) from exc
    except OSError as exc:
        raise TallRecDataError(f"cannot read {path}: {exc.strerror}") from exc
    for problem in problems[:5]:
        Console(stderr=True).print(f"skipped {problem}", highlight=False)
    if len(problems) > 5:
        Console(stderr=True).print(f"... {len(problems)} records skipped in all", highlight=False)
    sequences = sequences_from_log(
        log, vocab.learners.labels, vocab.items.labels, vocab.skills.labels
    )
    examples = build_examples(sequences, options)
    if not examples:
        raise TallRecDataError(f"{path} holds no usable attempts: nothing to export")
    write_jsonl(examples, out)
    return ExportReport.of(examples, out)


@llm_app.command("tune")
def llm_tune(
    base: Annotated[Path, typer.Option(help="Base causal LM directory (Hugging Face layout).")],
    data: Annotated[Path, typer.Option(help="JSON lines from `llm export-tallrec`.")],
    out: Annotated[Path, typer.Option(help="New directory for the adapter and tokenizer.")],
    epochs: Annotated[int, typer.Option(help="Passes over the train split.")] = 2,
    lr: Annotated[float, typer.Option(help="Learning rate (AdamW).")] = 2e-4,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 8,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha (scale = alpha / r).")] = 16,
    lora_dropout: Annotated[float, typer.Option(help="Dropout on the LoRA input.")] = 0.05,
    target_modules: Annotated[
        str, typer.Option(help="Comma-separated module names that get LoRA.")
    ] = "q_proj,v_proj",
    batch_size: Annotated[int, typer.Option(help="Examples per step.")] = 8,
    max_length: Annotated[int, typer.Option(help="Tokens per example (prompt cut left).")] = 512,
    device: Annotated[str, typer.Option(help="auto (CUDA when available), cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of initialisation and shuffling.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """LoRA instruction tuning (loss on the answer only) of a local model on TALLRec data.
    Saves the adapter, the tokenizer and tallrec.json (base path, data hash, settings, final
    loss, validation AUC of P(Yes)). Needs torch, transformers and peft (the train extra)."""
    from hyperlearn.llm.tallrec.data import TallRecDataError
    from hyperlearn.llm.tallrec.model import TallRecModelError
    from hyperlearn.llm.tallrec.tuning import TuneConfig, tune

    # Progress goes to stderr so that --json leaves stdout to the report.
    progress = Console(stderr=True)
    try:
        config = TuneConfig(
            epochs=epochs,
            lr=lr,
            lora_r=lora_r,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            target_modules=tuple(m.strip() for m in target_modules.split(",") if m.strip()),
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            seed=seed,
        )
        report = tune(
            base, data, out, config, progress=lambda m: progress.print(m, highlight=False)
        )
    except (TallRecModelError, TallRecDataError) as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    payload = {
        "out": str(report.out),
        "device": report.device,
        "dtype": report.dtype,
        "train_examples": report.train_examples,
        "validation_examples": report.validation_examples,
        "initial_loss": report.initial_loss,
        "epoch_losses": report.epoch_losses,
        "final_loss": report.final_loss,
        "validation_auc": report.validation_auc,
        "seconds": report.seconds,
        "seconds_per_epoch": report.seconds_per_epoch,
    }
    if as_json:
        print(json.dumps(payload))
        return
    auc = "n/a" if report.validation_auc is None else f"{report.validation_auc:.3f}"
    Console().print(
        f"Tuned on {report.device}: loss {report.initial_loss:.3f} -> {report.final_loss:.3f}, "
        f"validation AUC {auc}, {report.seconds:.1f} s.",
        highlight=False,
    )


@llm_app.command("tallrec-score")
def llm_tallrec_score(
    model: Annotated[Path, typer.Option(help="Directory written by `llm tune`.")],
    data: Annotated[Path, typer.Option(help="JSON lines from `llm export-tallrec`.")],
    split: Annotated[str, typer.Option(help="train, validation or all.")] = "validation",
    limit: Annotated[int | None, typer.Option(help="Score only the first N examples.")] = None,
    batch_size: Annotated[int, typer.Option(help="Examples per forward pass.")] = 32,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score examples with a tuned model: AUC and accuracy of P(Yes) against the real answers.
    Exits 1 when the model cannot be loaded."""
    from hyperlearn.llm.backend import LLMError
    from hyperlearn.llm.tallrec.data import TallRecDataError
    from hyperlearn.llm.tallrec.model import TallRecModelError
    from hyperlearn.llm.tallrec.tuning import evaluate

    try:
        report = evaluate(
            model, data, split=split, device=device, batch_size=batch_size, limit=limit
        )
    except (TallRecModelError, TallRecDataError) as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    except LLMError as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    if as_json:
        print(json.dumps(report.to_json()))
        return
    auc = "n/a (one class only)" if report.auc is None else f"{report.auc:.3f}"
    Console().print(
        f"{report.examples} {split} examples: AUC {auc}, accuracy {report.accuracy:.3f} "
        f"(real Yes share {report.yes_share:.3f}, mean P(Yes) {report.mean_p_yes:.3f}), "
        f"{report.seconds:.2f} s.",
        highlight=False,
    )
