"""Performance Factors Analysis (Pavlik, Cen & Koedinger, 2009) on skills: the classic
logistic-regression baseline of knowledge tracing.

    logit P(correct) = b0 + sum over the attempt's skills s of
                       (beta_s + gamma_s * successes_s + rho_s * failures_s)

where successes_s and failures_s count the same learner's EARLIER attempts on skill s (never the
current one or later ones). The weights are fitted by L2-regularised logistic regression (L-BFGS
on a sparse design). A skill unseen in training contributes nothing: the prediction falls back
to the intercept plus the known skills' terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, sparse
from scipy.special import expit

from hyperlearn.core.kt.log import FloatArray, IntArray, InteractionLog

CountTransform = Literal["raw", "log"]


@dataclass(frozen=True)
class SkillHistory:
    """One entry per (attempt, skill) pair, in log order, with the learner's prior counts."""

    row: IntArray  # the attempt (row of the log) of each entry
    skill: IntArray
    successes: FloatArray  # the learner's earlier successes on this skill
    failures: FloatArray  # the learner's earlier failures on this skill


def skill_history(log: InteractionLog) -> SkillHistory:
    """Prior success and failure counts per (attempt, skill), vectorised.

    Entries are grouped by (learner, skill) with a stable sort, so within a group they keep the
    log's order, which is time order within a learner; the counts are exclusive cumulative sums.
    """
    n_entries = len(log.skill_idx)
    rows = np.repeat(np.arange(len(log), dtype=np.int64), np.diff(log.skill_ptr))
    skills = log.skill_idx.astype(np.int64)
    if not n_entries:
        empty = np.zeros(0, dtype=np.float64)
        return SkillHistory(rows, skills, empty, empty.copy())
    correct = log.correct[rows].astype(np.float64)
    key = log.learner[rows].astype(np.int64) * (int(skills.max()) + 1) + skills
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    position = np.arange(n_entries)
    starts = np.ones(n_entries, dtype=bool)
    starts[1:] = sorted_key[1:] != sorted_key[:-1]
    group_start = np.maximum.accumulate(np.where(starts, position, 0))
    sorted_correct = correct[order]
    before = np.cumsum(sorted_correct) - sorted_correct  # successes strictly before, overall
    prior_successes = before - before[group_start]
    prior_attempts = (position - group_start).astype(np.float64)
    successes = np.empty(n_entries, dtype=np.float64)
    attempts = np.empty(n_entries, dtype=np.float64)
    successes[order] = prior_successes
    attempts[order] = prior_attempts
    return SkillHistory(rows, skills, successes, attempts - successes)


class PFAModel:
    """Classic PFA. `counts="log"` uses log(1 + count) instead of raw counts (a common variant);
    `l2` is the ridge penalty on every weight except the intercept (loss summed over rows)."""

    name = "pfa"

    def __init__(
        self,
        l2: float = 1.0,
        counts: CountTransform = "raw",
        max_iter: int = 2000,
        tol: float = 1e-7,
    ) -> None:
        if l2 < 0:
            raise ValueError("l2 must be >= 0")
        if counts not in ("raw", "log"):
            raise ValueError("counts must be 'raw' or 'log'")
        self.l2 = l2
        self.counts: CountTransform = counts
        self.max_iter = max_iter
        self.tol = tol
        self.intercept = 0.0
        self.beta: FloatArray = np.zeros(0, dtype=np.float64)
        self.gamma: FloatArray = np.zeros(0, dtype=np.float64)
        self.rho: FloatArray = np.zeros(0, dtype=np.float64)
        self.n_iter = 0
        self.converged = True

    @property
    def n_skills(self) -> int:
        return len(self.beta)

    def _transform(self, counts: FloatArray) -> FloatArray:
        return np.log1p(counts) if self.counts == "log" else counts

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        n_skills = max(n_skills, int(train.skill_idx.max()) + 1 if len(train.skill_idx) else 0)
        self.beta = np.zeros(n_skills, dtype=np.float64)
        self.gamma = np.zeros(n_skills, dtype=np.float64)
        self.rho = np.zeros(n_skills, dtype=np.float64)
        n = len(train)
        if not n:
            self.intercept, self.n_iter, self.converged = 0.0, 0, True
            return
        y = train.correct.astype(np.float64)
        base = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        history = skill_history(train)
        s = history.skill
        design = sparse.csr_matrix(
            (
                np.concatenate(
                    (
                        np.ones(len(s)),
                        self._transform(history.successes),
                        self._transform(history.failures),
                    )
                ),
                (
                    np.tile(history.row, 3),
                    np.concatenate((s, s + n_skills, s + 2 * n_skills)),
                ),
            ),
            shape=(n, 3 * n_skills),
        )
        # Precondition: optimise v = coef * scale (columns of unit root-mean-square), the same
        # objective with a far better conditioned Hessian (raw counts reach the hundreds).
        scale = np.sqrt(np.asarray(design.multiply(design).mean(axis=0)).ravel())
        scale[scale == 0] = 1.0
        scaled = design @ sparse.diags(1.0 / scale)
        scaled = sparse.csr_matrix(scaled)
        scaled_t = scaled.T.tocsr()
        penalty = self.l2 / scale**2

        def loss_and_grad(w: FloatArray) -> tuple[float, FloatArray]:
            v = w[1:]
            z = w[0] + scaled @ v
            loss = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.dot(penalty * v, v))
            residual = expit(z) - y
            grad = np.empty_like(w)
            grad[0] = residual.sum()
            grad[1:] = scaled_t @ residual + penalty * v
            return loss, grad

        start = np.zeros(1 + 3 * n_skills, dtype=np.float64)
        start[0] = np.log(base / (1 - base))
        result = optimize.minimize(
            loss_and_grad,
            start,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter, "gtol": self.tol * n, "ftol": 1e-12},
        )
        w = np.asarray(result.x, dtype=np.float64)
        w[1:] /= scale
        self.intercept = float(w[0])
        self.beta = w[1 : 1 + n_skills].copy()
        self.gamma = w[1 + n_skills : 1 + 2 * n_skills].copy()
        self.rho = w[1 + 2 * n_skills :].copy()
        self.n_iter = int(result.nit)
        self.converged = bool(result.success)

    def predict_online(self, log: InteractionLog) -> FloatArray:
        history = skill_history(log)
        known = history.skill < self.n_skills
        s = history.skill[known]
        contribution = (
            self.beta[s]
            + self.gamma[s] * self._transform(history.successes[known])
            + self.rho[s] * self._transform(history.failures[known])
        )
        z = self.intercept + np.bincount(
            history.row[known], weights=contribution, minlength=len(log)
        )
        return np.asarray(expit(z), dtype=np.float64)
