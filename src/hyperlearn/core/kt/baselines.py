"""Two floor baselines for the knowledge-tracing benchmark: any model must beat them.

- `MajorityModel` predicts the training success rate for every attempt (AUC 0.5 by design; its
  accuracy is the majority-class accuracy).
- `SkillMeanModel` predicts each skill's training success rate (mean over an attempt's skills),
  shrunk towards the base rate for rarely seen skills; unseen skills get the base rate. It ignores
  the learner's history entirely, so it cannot look ahead.
"""

from __future__ import annotations

import numpy as np

from hyperlearn.core.kt.log import FloatArray, IntArray, InteractionLog


def _base_rate(log: InteractionLog) -> float:
    return float(log.correct.mean()) if len(log) else 0.5


def row_means(values: FloatArray, skill_ptr: IntArray) -> FloatArray:
    """Mean of per-(attempt, skill) `values` over each attempt's skills (CSR offsets)."""
    lengths = np.diff(skill_ptr)
    if not len(lengths):
        return np.zeros(0, dtype=np.float64)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    sums = np.bincount(rows, weights=values, minlength=len(lengths))
    return np.asarray(sums / lengths, dtype=np.float64)


class MajorityModel:
    name = "majority"

    def __init__(self) -> None:
        self.base_rate = 0.5

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        self.base_rate = _base_rate(train)

    def predict_online(self, log: InteractionLog) -> FloatArray:
        return np.full(len(log), self.base_rate, dtype=np.float64)


class SkillMeanModel:
    """P(correct) = mean over the attempt's skills of (successes_s + k * base) / (attempts_s + k),
    where k = `prior_strength` pseudo-attempts at the base rate."""

    name = "skill_mean"

    def __init__(self, prior_strength: float = 10.0) -> None:
        if prior_strength <= 0:
            raise ValueError("prior_strength must be positive")
        self.prior_strength = prior_strength
        self.base_rate = 0.5
        self.skill_rate: FloatArray = np.zeros(0, dtype=np.float64)

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        self.base_rate = _base_rate(train)
        n = max(n_skills, int(train.skill_idx.max()) + 1 if len(train.skill_idx) else 0)
        rows = np.repeat(np.arange(len(train)), np.diff(train.skill_ptr))
        attempts = np.bincount(train.skill_idx, minlength=n).astype(np.float64)
        successes = np.bincount(
            train.skill_idx, weights=train.correct[rows].astype(np.float64), minlength=n
        )
        k = self.prior_strength
        self.skill_rate = (successes + k * self.base_rate) / (attempts + k)

    def predict_online(self, log: InteractionLog) -> FloatArray:
        skills = log.skill_idx
        known = skills < len(self.skill_rate)
        values = np.full(len(skills), self.base_rate, dtype=np.float64)
        values[known] = self.skill_rate[skills[known]]
        return row_means(values, log.skill_ptr)
