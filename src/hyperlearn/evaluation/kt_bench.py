"""The knowledge-tracing benchmark: next-answer prediction on held-out learners.

For each fold, every model is fitted on the train log and then asked, through
`KnowledgeTracer.predict_online`, for P(correct) of every test attempt, each computed only from the
fitted parameters and the same learner's earlier test attempts. A multi-skill attempt is one row,
so it is one prediction. Metrics are computed here with numpy only:

- auc: rank-based (Mann-Whitney) area under the ROC curve, ties counted as one half;
- acc: accuracy at the 0.5 threshold (p >= 0.5 predicts "correct");
- logloss: mean negative log-likelihood, probabilities clipped to [1e-15, 1 - 1e-15];
- rmse: root mean squared error of the probabilities;
- auc_first5: AUC on the attempts that are among the learner's first five on at least one of
  their skills (cold start);
- fit_s: wall time of `fit`; predict_us_per_attempt: wall time of `predict_online` per test row.

With several folds, each metric is the mean over folds, `<metric>_sd` its sample standard
deviation (ddof=1; null with one fold), and `folds` lists the per-fold figures.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hyperlearn.core.kt.log import FloatArray, IntArray, InteractionLog
from hyperlearn.core.kt.protocol import KnowledgeTracer
from hyperlearn.evaluation.kt_data import Vocabularies, load_log
from hyperlearn.records import RecordProblem

METRICS = ("auc", "acc", "logloss", "rmse", "auc_first5", "fit_s", "predict_us_per_attempt")
LOGLOSS_EPS = 1e-15
FIRST_ATTEMPTS = 5

# name -> (module, class, keyword arguments, what to do when it is missing)
MODEL_REGISTRY: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "hyperlearn": ("hyperlearn.core.kt.model", "HyperLearnKT", {}, "the HyperLearn model"),
    "pfa": ("hyperlearn.core.kt.pfa", "PFAModel", {}, "classic PFA"),
    "pfa_log": ("hyperlearn.core.kt.pfa", "PFAModel", {"counts": "log"}, "PFA, log counts"),
    "bkt": (
        "hyperlearn.evaluation.bkt",
        "PyBKTModel",
        {},
        "pyBKT in its own environment (see benchmarks/bkt/requirements.txt)",
    ),
    "majority": ("hyperlearn.core.kt.baselines", "MajorityModel", {}, "base rate"),
    "skill_mean": ("hyperlearn.core.kt.baselines", "SkillMeanModel", {}, "skill success rate"),
}
DEFAULT_MODELS = ("hyperlearn", "pfa", "bkt", "majority", "skill_mean")


class BenchmarkError(Exception):
    """A benchmark that cannot run as asked: the message says why, for the command line."""


class ModelUnavailableError(BenchmarkError):
    pass


def make_model(name: str) -> KnowledgeTracer:
    """A fresh, unfitted model by registry name; imports it only now."""
    entry = MODEL_REGISTRY.get(name)
    if entry is None:
        raise ModelUnavailableError(
            f"unknown model {name!r}; known models: {', '.join(MODEL_REGISTRY)}"
        )
    module_name, class_name, kwargs, about = entry
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, class_name)
    except (ImportError, AttributeError) as error:
        raise ModelUnavailableError(
            f"model {name!r} ({about}) is not available: {error}"
        ) from error
    model: KnowledgeTracer = factory(**kwargs)
    return model


# ---------------------------------------------------------------- metrics


def _checked(y: NDArray[Any], p: NDArray[Any]) -> tuple[FloatArray, FloatArray]:
    y_arr = np.asarray(y, dtype=np.float64)
    p_arr = np.asarray(p, dtype=np.float64)
    if y_arr.shape != p_arr.shape or y_arr.ndim != 1:
        raise ValueError("labels and predictions must be 1-d arrays of the same length")
    return y_arr, p_arr


def average_ranks(values: FloatArray) -> FloatArray:
    """1-based ranks, tied values sharing the mean of their ranks."""
    n = len(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new_value = np.ones(n, dtype=bool)
    new_value[1:] = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(new_value)
    ends = np.r_[starts[1:], n]
    group = np.cumsum(new_value) - 1
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = ((starts + 1 + ends) / 2)[group]
    return ranks


def auc(y: NDArray[Any], p: NDArray[Any]) -> float:
    """Probability that a random positive scores above a random negative (ties: one half).
    NaN when only one class is present."""
    y_arr, p_arr = _checked(y, p)
    positive = y_arr == 1
    n_pos = int(positive.sum())
    n_neg = len(y_arr) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = average_ranks(p_arr)  # a tie contributes 1/2
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def accuracy(y: NDArray[Any], p: NDArray[Any]) -> float:
    y_arr, p_arr = _checked(y, p)
    if not len(y_arr):
        return math.nan
    return float(np.mean((p_arr >= 0.5) == (y_arr == 1)))


def logloss(y: NDArray[Any], p: NDArray[Any]) -> float:
    y_arr, p_arr = _checked(y, p)
    if not len(y_arr):
        return math.nan
    q = np.clip(p_arr, LOGLOSS_EPS, 1 - LOGLOSS_EPS)
    return float(-np.mean(y_arr * np.log(q) + (1 - y_arr) * np.log(1 - q)))


def rmse(y: NDArray[Any], p: NDArray[Any]) -> float:
    y_arr, p_arr = _checked(y, p)
    if not len(y_arr):
        return math.nan
    return float(np.sqrt(np.mean((y_arr - p_arr) ** 2)))


def roc_curve(y: NDArray[Any], p: NDArray[Any]) -> tuple[FloatArray, FloatArray]:
    """(false positive rate, true positive rate) at every distinct threshold, from (0, 0) to
    (1, 1). Empty arrays when only one class is present."""
    y_arr, p_arr = _checked(y, p)
    n_pos = float((y_arr == 1).sum())
    n_neg = float(len(y_arr) - n_pos)
    if n_pos == 0 or n_neg == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-p_arr, kind="stable")
    scores = p_arr[order]
    hits = (y_arr[order] == 1).astype(np.float64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(hits)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos]


def within_position(log: InteractionLog) -> IntArray:
    """Each row's position within its learner's block (0 for the block's first row)."""
    position = np.arange(len(log), dtype=np.int64)
    for start, end in log.learner_spans():
        position[start:end] -= start
    return position


def first_attempts_mask(log: InteractionLog, k: int = FIRST_ATTEMPTS) -> NDArray[np.bool_]:
    """True for rows that are among the learner's first `k` attempts on at least one of the
    row's skills (counted in this log)."""
    n = len(log)
    if not n:
        return np.zeros(0, dtype=bool)
    rows = np.repeat(np.arange(n), np.diff(log.skill_ptr))
    key = log.learner[rows] * (int(log.skill_idx.max()) + 1) + log.skill_idx
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    index = np.arange(len(key))
    rank_sorted = index - np.maximum.accumulate(np.where(starts, index, 0))
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    early = np.bincount(rows, weights=(rank < k).astype(np.float64), minlength=n)
    return early > 0


def score(log: InteractionLog, p: FloatArray) -> dict[str, float]:
    y = log.correct
    first = first_attempts_mask(log)
    return {
        "auc": auc(y, p),
        "acc": accuracy(y, p),
        "logloss": logloss(y, p),
        "rmse": rmse(y, p),
        "auc_first5": auc(y[first], p[first]),
    }


# ---------------------------------------------------------------- no look-ahead


def take_rows(log: InteractionLog, rows: IntArray) -> InteractionLog:
    """The sub-log of `rows` (in the given order)."""
    rows = np.asarray(rows, dtype=np.int64)
    lengths = np.diff(log.skill_ptr)[rows]
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    # entry e of new row r comes from old entry skill_ptr[rows[r]] + (e - ptr[r])
    entries = np.repeat(log.skill_ptr[rows] - ptr[:-1], lengths) + np.arange(ptr[-1])
    return InteractionLog(
        learner=log.learner[rows],
        item=log.item[rows],
        skill_ptr=ptr,
        skill_idx=log.skill_idx[entries],
        correct=log.correct[rows],
        time=log.time[rows],
        has_time=log.has_time,
    )


def check_no_lookahead(
    model: KnowledgeTracer,
    log: InteractionLog,
    *,
    atol: float = 1e-9,
    truncate: bool = True,
    max_positions: int | None = None,
) -> list[int]:
    """Rows whose prediction depends on the present or the future: [] when the model is honest.

    For every position j within a learner (all learners at once), the outcomes of each learner's
    rows at positions >= j are flipped and the predictions of rows at positions <= j must not
    move. With `truncate`, the log cut after position j must also give the same predictions (this
    catches leaks through the mere presence, items or skills of later rows). `model` must be
    fitted. Costs one or two `predict_online` calls per position: meant for small logs.
    """
    base = np.asarray(model.predict_online(log), dtype=np.float64)
    position = within_position(log)
    longest = int(position.max()) + 1 if len(log) else 0
    if max_positions is not None:
        longest = min(longest, max_positions)
    bad: set[int] = set()
    for j in range(longest):
        flipped = log.correct.copy()
        later = position >= j
        flipped[later] = 1 - flipped[later]
        moved = np.asarray(
            model.predict_online(dataclasses.replace(log, correct=flipped)), dtype=np.float64
        )
        checked = np.flatnonzero(position <= j)
        bad.update(checked[~np.isclose(moved[checked], base[checked], rtol=0, atol=atol)].tolist())
        if truncate:
            kept = np.flatnonzero(position <= j)
            cut = np.asarray(model.predict_online(take_rows(log, kept)), dtype=np.float64)
            bad.update(kept[~np.isclose(cut, base[kept], rtol=0, atol=atol)].tolist())
    return sorted(bad)


# ---------------------------------------------------------------- running


@dataclass
class Fold:
    train: InteractionLog
    test: InteractionLog
    n_items: int  # vocabulary sizes after reading the train file only
    n_skills: int
    train_file: str
    test_file: str
    problems: list[RecordProblem] = field(default_factory=list)


@dataclass
class ModelRun:
    """One model's figures on one fold, and its test predictions (for the ROC plot)."""

    metrics: dict[str, float]
    predictions: FloatArray


@dataclass
class BenchmarkResult:
    dataset: str
    folds: list[Fold]
    runs: dict[str, list[ModelRun]]
    summary: dict[str, Any]


Progress = Callable[[str], None]


def load_folds(
    fmt: str,
    train: Sequence[str | Path],
    test: Sequence[str | Path],
    *,
    max_learners: int | None = None,
    progress: Progress | None = None,
) -> list[Fold]:
    """Pair i of (train, test) is fold i; each fold has its own vocabularies, shared by its
    train and test logs."""
    if len(train) != len(test):
        raise BenchmarkError(
            f"--train and --test must pair up: {len(train)} train file(s), {len(test)} test file(s)"
        )
    if not train:
        raise BenchmarkError("give at least one --train and one --test file")
    folds = []
    for train_path, test_path in zip(train, test, strict=True):
        if progress:
            progress(f"loading {Path(train_path).name} + {Path(test_path).name}")
        vocab = Vocabularies()
        train_log, train_problems = load_log(train_path, fmt, vocab, max_learners=max_learners)
        n_items, n_skills = len(vocab.items), len(vocab.skills)
        test_log, test_problems = load_log(test_path, fmt, vocab, max_learners=max_learners)
        if not len(train_log) or not len(test_log):
            empty = train_path if not len(train_log) else test_path
            raise BenchmarkError(f"{empty}: no attempts could be read")
        folds.append(
            Fold(
                train_log,
                test_log,
                n_items,
                n_skills,
                str(train_path),
                str(test_path),
                train_problems + test_problems,
            )
        )
    return folds


def run_model_on_fold(model: KnowledgeTracer, fold: Fold) -> ModelRun:
    start = time.perf_counter()
    model.fit(fold.train, fold.n_items, fold.n_skills)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    raw = model.predict_online(fold.test)
    predict_s = time.perf_counter() - start
    p = np.asarray(raw, dtype=np.float64)
    if p.shape != (len(fold.test),) or not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise BenchmarkError(
            f"model {model.name!r} returned {p.shape} predictions for {len(fold.test)} rows, "
            "or values outside [0, 1]"
        )
    metrics = score(fold.test, p)
    metrics["fit_s"] = fit_s
    metrics["predict_us_per_attempt"] = predict_s / len(fold.test) * 1e6
    return ModelRun(metrics, p)


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def summarise(dataset: str, folds: list[Fold], runs: dict[str, list[ModelRun]]) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for name, model_runs in runs.items():
        entry: dict[str, Any] = {}
        for metric in METRICS:
            values = np.array([run.metrics[metric] for run in model_runs], dtype=np.float64)
            finite = values[np.isfinite(values)]
            entry[metric] = _clean(float(finite.mean())) if len(finite) else None
            entry[f"{metric}_sd"] = _clean(float(finite.std(ddof=1))) if len(finite) > 1 else None
        entry["folds"] = [
            {metric: _clean(run.metrics[metric]) for metric in METRICS} for run in model_runs
        ]
        models[name] = entry
    return {
        "dataset": dataset,
        "n_test": int(sum(len(fold.test) for fold in folds)),
        "n_test_learners": int(sum(len(fold.test.learner_spans()) for fold in folds)),
        "n_train": int(sum(len(fold.train) for fold in folds)),
        "n_folds": len(folds),
        "folds": [
            {
                "train": fold.train_file,
                "test": fold.test_file,
                "n_train": len(fold.train),
                "n_test": len(fold.test),
                "n_test_learners": len(fold.test.learner_spans()),
                "n_items": fold.n_items,
                "n_skills": fold.n_skills,
                "problems": len(fold.problems),
            }
            for fold in folds
        ],
        "models": models,
    }


def run_benchmark(
    dataset: str,
    folds: list[Fold],
    model_names: Sequence[str],
    *,
    progress: Progress | None = None,
) -> BenchmarkResult:
    """Fit and score every model on every fold. Every model is resolved before any work, so an
    unknown or unavailable model fails at once."""
    if not model_names:
        raise BenchmarkError("no models to run")
    if len(set(model_names)) != len(model_names):
        raise BenchmarkError("a model is named twice")
    for name in model_names:
        make_model(name)
    runs: dict[str, list[ModelRun]] = {name: [] for name in model_names}
    for k, fold in enumerate(folds, start=1):
        for name in model_names:
            if progress:
                progress(f"fold {k}/{len(folds)}: {name} ({len(fold.train):,} train rows)")
            runs[name].append(run_model_on_fold(make_model(name), fold))
    return BenchmarkResult(dataset, folds, runs, summarise(dataset, folds, runs))


# ---------------------------------------------------------------- reports


def fmt_number(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _with_sd(entry: dict[str, Any], metric: str, digits: int = 4) -> str:
    text = fmt_number(entry[metric], digits)
    sd = entry.get(f"{metric}_sd")
    return text if sd is None else f"{text} ± {sd:.{digits}f}"


TABLE_COLUMNS = (
    ("auc", 4),
    ("acc", 4),
    ("logloss", 4),
    ("rmse", 4),
    ("auc_first5", 4),
    ("fit_s", 2),
    ("predict_us_per_attempt", 3),
)
SHORT_NAMES = {"auc_first5": "auc@5", "fit_s": "fit s", "predict_us_per_attempt": "µs/attempt"}


def table_rows(summary: dict[str, Any], with_sd: bool = True) -> list[list[str]]:
    """One row per model: name, then each column of TABLE_COLUMNS (mean, with `with_sd`
    "mean ± sd" over folds)."""
    return [
        [
            name,
            *(
                _with_sd(entry, metric, digits) if with_sd else fmt_number(entry[metric], digits)
                for metric, digits in TABLE_COLUMNS
            ),
        ]
        for name, entry in summary["models"].items()
    ]


def render_markdown(summary: dict[str, Any]) -> str:
    header = ["model", *(metric for metric, _ in TABLE_COLUMNS)]
    lines = [
        f"# Knowledge tracing: {summary['dataset']}",
        "",
        f"{summary['n_folds']} fold(s), {summary['n_test']:,} test attempts from "
        f"{summary['n_test_learners']:,} learners, {summary['n_train']:,} train attempts.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(TABLE_COLUMNS)) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(summary)]
    if summary["n_folds"] > 1:
        lines += ["", "## Per fold (AUC)", ""]
        lines.append(
            "| model | " + " | ".join(f"fold {k + 1}" for k in range(summary["n_folds"])) + " |"
        )
        lines.append("|---|" + "---:|" * summary["n_folds"])
        for name, entry in summary["models"].items():
            lines.append(
                f"| {name} | " + " | ".join(fmt_number(f["auc"]) for f in entry["folds"]) + " |"
            )
    lines += [
        "",
        "auc_first5: AUC on attempts among the learner's first five on one of their skills. "
        "fit_s in seconds; predict_us_per_attempt in microseconds. Mean ± sample sd over folds.",
        "",
    ]
    return "\n".join(lines)


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def render_roc_svg(
    curves: dict[str, tuple[FloatArray, FloatArray]],
    aucs: dict[str, float | None],
    title: str,
    max_points: int = 300,
) -> str:
    """A self-contained SVG: axes with ticks, the chance diagonal, one polyline per model and a
    legend with each model's AUC."""
    size, left, top, plot = 520, 60, 40, 400
    bottom = top + plot

    def x(v: float) -> float:
        return left + v * plot

    def y(v: float) -> float:
        return bottom - v * plot

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 160}" height="{size}" '
        f'viewBox="0 0 {size + 160} {size}" font-family="sans-serif" font-size="12">',
        f'<rect width="{size + 160}" height="{size}" fill="white"/>',
        f'<text x="{left + plot / 2}" y="22" text-anchor="middle" font-size="14">'
        f"ROC: {escape(title)}</text>",
        f'<rect x="{left}" y="{top}" width="{plot}" height="{plot}" fill="none" stroke="black"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" '
        'stroke-dasharray="4 4"/>',
    ]
    for k in range(6):
        v = k / 5
        parts += [
            f'<line x1="{x(v)}" y1="{bottom}" x2="{x(v)}" y2="{bottom + 5}" stroke="black"/>',
            f'<text x="{x(v)}" y="{bottom + 18}" text-anchor="middle">{v:.1f}</text>',
            f'<line x1="{left - 5}" y1="{y(v)}" x2="{left}" y2="{y(v)}" stroke="black"/>',
            f'<text x="{left - 8}" y="{y(v) + 4}" text-anchor="end">{v:.1f}</text>',
        ]
    parts += [
        f'<text x="{left + plot / 2}" y="{bottom + 38}" text-anchor="middle">'
        "false positive rate</text>",
        f'<text x="18" y="{top + plot / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + plot / 2})">true positive rate</text>',
    ]
    for k, (name, (fpr, tpr)) in enumerate(curves.items()):
        color = PALETTE[k % len(PALETTE)]
        if len(fpr) > max_points:
            pick = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
            fpr, tpr = fpr[pick], tpr[pick]
        if len(fpr):
            points = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(fpr, tpr, strict=True))
            parts.append(
                f'<polyline class="roc" data-model="{escape(name)}" points="{points}" '
                f'fill="none" stroke="{color}" stroke-width="2"/>'
            )
        ly = top + 10 + 20 * k
        parts += [
            f'<line x1="{left + plot + 15}" y1="{ly}" x2="{left + plot + 40}" y2="{ly}" '
            f'stroke="{color}" stroke-width="3"/>',
            f'<text x="{left + plot + 45}" y="{ly + 4}">{escape(name)} '
            f"(AUC {fmt_number(aucs.get(name), 3)})</text>",
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def mean_roc(result: BenchmarkResult, grid: int = 201) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Each model's ROC curve; with several folds, the vertical average of the folds' curves
    (true positive rate averaged at fixed false positive rates), so that folds with different
    base rates do not blur each other."""
    curves: dict[str, tuple[FloatArray, FloatArray]] = {}
    fpr_grid = np.linspace(0.0, 1.0, grid)
    for name, runs in result.runs.items():
        per_fold = [
            roc_curve(fold.test.correct, run.predictions)
            for fold, run in zip(result.folds, runs, strict=True)
        ]
        per_fold = [curve for curve in per_fold if len(curve[0])]
        if len(per_fold) == 1:
            curves[name] = per_fold[0]
        elif per_fold:
            tpr = np.mean([np.interp(fpr_grid, f, t) for f, t in per_fold], axis=0)
            tpr[0] = 0.0
            curves[name] = (fpr_grid, tpr)
        else:
            curves[name] = (np.zeros(0), np.zeros(0))
    return curves


def write_outputs(result: BenchmarkResult, out_dir: str | Path) -> list[Path]:
    """results.json, results.md and roc.svg under `out_dir` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problems = [str(p) for fold in result.folds for p in fold.problems]
    payload = dict(result.summary)
    payload["load_problems"] = {"count": len(problems), "first": problems[:100]}
    written = [out / "results.json", out / "results.md", out / "roc.svg"]
    written[0].write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    written[1].write_text(render_markdown(result.summary), encoding="utf-8")
    aucs = {name: entry["auc"] for name, entry in result.summary["models"].items()}
    n_folds = len(result.folds)
    title = result.dataset + (f" (mean of {n_folds} folds)" if n_folds > 1 else "")
    written[2].write_text(render_roc_svg(mean_roc(result), aucs, title), encoding="utf-8")
    return written
