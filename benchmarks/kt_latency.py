"""Latency of HyperLearn's knowledge-tracing model in the product's two hot paths.

    python benchmarks/kt_latency.py [--train FILE --format akt] [--candidates 10000] [--out DIR]

Fits the model on a training log (default: ASSISTments 2009 fold 1 from ../shared/data), then
measures, on the test learners' attempts:
- online update: `update(state, item, skills, correct, time)` per attempt (target < 1 ms);
- scoring candidates: `predict(state, ...)` for N candidate items of one learner at once
  (target < 5 ms for 10,000).
Prints the figures and writes them as JSON. Timings are wall-clock on this machine: compare
them as ratios within one run.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from hyperlearn.core.kt.model import HyperLearnKT, LearnerState
from hyperlearn.evaluation.kt_data import Vocabularies, load_log

ASSIST = Path(__file__).resolve().parents[1].parent / "shared/data/logs/assist2009"


def main(
    train: Annotated[Path, typer.Option()] = ASSIST / "assist2009_pid_train1.csv",
    test: Annotated[Path, typer.Option()] = ASSIST / "assist2009_pid_test1.csv",
    fmt: Annotated[str, typer.Option("--format")] = "akt",
    candidates: Annotated[int, typer.Option()] = 10_000,
    learners: Annotated[int, typer.Option(help="Test learners to replay.")] = 200,
    out: Annotated[Path, typer.Option()] = Path("bench-results/kt-latency"),
) -> None:
    vocab = Vocabularies()
    train_log, _ = load_log(train, fmt, vocab)
    n_items, n_skills = len(vocab.items), len(vocab.skills)
    test_log, _ = load_log(test, fmt, vocab, max_learners=learners)
    model = HyperLearnKT()
    started = time.perf_counter()
    model.fit(train_log, n_items, n_skills)
    fit_s = time.perf_counter() - started

    # Online updates, replaying the test learners attempt by attempt.
    update_us: list[float] = []
    states: list[LearnerState] = []
    for start, end in test_log.learner_spans():
        state = LearnerState()
        for row in range(start, end):
            skills = test_log.skills_of(row).tolist()
            t0 = time.perf_counter()
            model.update(
                state,
                int(test_log.item[row]),
                skills,
                bool(test_log.correct[row]),
                float(test_log.time[row]),
            )
            update_us.append((time.perf_counter() - t0) * 1e6)
        states.append(state)

    # Scoring many candidates for one learner: random items with their own skills.
    rng = np.random.default_rng(0)
    items = rng.integers(0, n_items, candidates).astype(np.int64)
    per_item = rng.integers(1, 3, candidates)
    skill_ptr = np.concatenate(([0], np.cumsum(per_item))).astype(np.int64)
    skill_idx = rng.integers(0, n_skills, int(skill_ptr[-1])).astype(np.int64)
    predict_ms: list[float] = []
    for state in states[:50]:
        t0 = time.perf_counter()
        model.predict(state, items, skill_ptr, skill_idx, 0.0)
        predict_ms.append((time.perf_counter() - t0) * 1e3)

    result = {
        "train": str(train),
        "n_train": len(train_log),
        "n_items": n_items,
        "n_skills": n_skills,
        "fit_s": round(fit_s, 2),
        "updates": len(update_us),
        "update_us_median": round(statistics.median(update_us), 2),
        "update_us_p99": round(float(np.percentile(update_us, 99)), 2),
        "candidates": candidates,
        "predict_ms_median": round(statistics.median(predict_ms), 3),
        "predict_ms_p99": round(float(np.percentile(predict_ms, 99)), 3),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
