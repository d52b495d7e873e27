"""The LLM policies on the simulation harness: `llm` (and `tallrec`) next to `hybrid`.

Every policy meets the same synthetic learners (`evaluation.simulation`); the configuration is
small because the language model answers every step of every learner. The result carries the
per-policy outcomes and what happened to the model's answers: how many decided the ranking and
how many fell back to the hybrid order, by reason. `hyperlearn bench llm --simulate` prints it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from hyperlearn.content.bank import load_bank
from hyperlearn.core import Item, Language, Policy
from hyperlearn.evaluation.simulation import SimulationConfig, simulate
from hyperlearn.llm.backend import LLMBackend
from hyperlearn.llm.policies import tallrec_policy
from hyperlearn.llm.recommender import LLMPolicy

DEFAULT_LEARNERS = 2  # the model answers every step: 2 x 20 = 40 calls
DEFAULT_STEPS = 20


def simulate_llm_policies(
    backend: LLMBackend,
    items: int | None = None,
    seed: int = 0,
    learners: int = DEFAULT_LEARNERS,
    steps: int = DEFAULT_STEPS,
    tallrec_dir: Path | None = None,
    language: Language = Language.EN,
) -> dict[str, Any]:
    """Simulate `hybrid`, `llm` on `backend` (and `tallrec` on the model in `tallrec_dir`)
    for `learners` x `steps` on one seed, over the shipped bank (or `items` of it, spread over
    the skills). Returns {"config", "n_items", "policies": {name: outcomes}, "llm": counts}."""
    if items is not None and items < 1:
        raise ValueError("items must be at least 1")
    bank = load_bank()
    pool = _spread(bank.items[language], items)
    llm = LLMPolicy(backend)  # a fresh policy: its counts are this run's only
    policies: list[str | Policy] = ["hybrid", llm]
    if tallrec_dir is not None:
        policies.append(tallrec_policy(tallrec_dir))
    config = SimulationConfig(learners=learners, steps=steps, seeds=(seed,))
    started = time.perf_counter()
    report = simulate(pool, bank.graphs[language], list(bank.topics), policies, config)
    seconds = time.perf_counter() - started
    latencies = llm.usage.latencies_ms
    return {
        "config": {
            "learners": learners,
            "steps": steps,
            "seed": seed,
            "language": str(language),
            "backend": backend.name,
            "model": backend.model,
        },
        "n_items": report.n_items,
        "seconds": round(seconds, 2),
        "policies": {
            name: {
                "mastery_after_steps": result.mastery_after_steps,
                "steps_to_mastery": result.steps_to_mastery,
                "reached_mastery": result.reached_mastery,
                "retention_30d": result.retention_30d,
                "dropouts": result.dropouts,
            }
            for name, result in report.policies.items()
        },
        "llm": {
            **llm.counts(),
            "latency_ms": {
                "p50": float(np.percentile(latencies, 50)) if latencies else None,
                "p95": float(np.percentile(latencies, 95)) if latencies else None,
            },
        },
    }


def _spread(items: list[Item], n: int | None) -> list[Item]:
    """`n` items taken in turn from each skill (by id within a skill), so a small bank still
    covers the skill graph; all of them when `n` is None."""
    if n is None or n >= len(items):
        return list(items)
    by_skill: dict[str, list[Item]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i.id):
        by_skill[item.primary_skill].append(item)
    queues = [by_skill[s] for s in sorted(by_skill)]
    chosen: list[Item] = []
    depth = 0
    while len(chosen) < n:
        for queue in queues:
            if depth < len(queue) and len(chosen) < n:
                chosen.append(queue[depth])
        depth += 1
    return chosen


__all__ = ["DEFAULT_LEARNERS", "DEFAULT_STEPS", "simulate_llm_policies"]
