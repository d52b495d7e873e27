"""The interface every knowledge-tracing model implements, for the benchmark harness."""

from __future__ import annotations

from typing import Protocol

from hyperlearn.core.kt.log import FloatArray, InteractionLog


class KnowledgeTracer(Protocol):
    name: str

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        """Learn parameters from a log. `n_items`/`n_skills` are the vocabulary sizes known at
        fit time; later logs may use larger indices (new items and skills: cold start)."""

    def predict_online(self, log: InteractionLog) -> FloatArray:
        """P(correct) for every row of `log`, row i computed only from what was fitted and the
        same learner's rows before i in `log` (never from row i's or later outcomes)."""
        ...
