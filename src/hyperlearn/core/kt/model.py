"""HyperLearn's knowledge-tracing model: a regularised logistic model over online features.

It belongs to the Best-LR / DAS3H family. For an attempt of learner u on item j with skills S:

    logit P(correct) = b + item_j + mean_s(skill_s + gamma_s log1p(succ_us) + rho_s log1p(fail_us)
                                           + sum_k W[s, k] . T_uk)
                       + (w + mean_s v_s) . [h(history of u), r(residuals of u)]
                       + beta * v_j . u_u

- item_j has a stronger L2 penalty than skill_s, so a rare item's difficulty is shrunk towards its
  skills' difficulty, and a new item (item_j = 0) gets exactly its skills' difficulty;
- gamma_s / rho_s are per-skill learning rates from successes and failures (PFA), log-scaled;
- T is skill-to-skill transfer (with `KTConfig.transfer`): for every skill k the learner has
  practised, four numbers (its two EMAs and log-counts of successes and failures) weighted by
  W[s, k], so practice on one skill informs the prediction on another, as DKT's hidden state
  does, but with a learned, readable matrix (strongly L2-penalised; n_skills^2 x 4 weights);
- h are learner-history features (HISTORY_FEATURES), weighted by w shared by all skills plus,
  with `KTConfig.skill_history`, a per-skill correction v_s (L2-penalised towards zero, so a
  rare skill keeps the shared weights): overall successes and
  failures, the learner's smoothed success rate (ability), exponential moving averages of recent
  correctness on the skill and overall (recency, at two speeds), the last outcome on the skill
  and on the item, attempts on this item, how many attempts in a row the learner has spent on the
  skill and their current right/wrong streak (bucketed), and, when the log has real times,
  time-decayed success/failure counts and time since the skill was practised (forgetting);
- r are difficulty-adjusted history features (RESIDUAL_FEATURES, with `KTConfig.residual`): the
  item's prior difficulty d_j (the logit of its success rate in the training log, shrunk towards
  its skills' rates; for a training row, without the row's own learner) and the learner's
  residuals y - sigmoid(d_j) so far, overall and on the attempt's skills (shrunk means and EMAs).
  The raw success rate cannot tell a learner who did easy items from one who did hard ones;
  these can (ASSISTments 2009: about +0.0013 AUC on each of the 5 folds, +0.0008 more with
  the per-skill corrections v_s over them too).

- v_j . u_u is the item-factor correction (`KTConfig.item_factors`, see
  hyperlearn.core.kt.factors): v_j is item j's vector from a low-rank factorisation of the
  training log's residuals (what the terms above did not predict), u_u the learner's ridge
  estimate from their own earlier residuals, beta fitted on out-of-fold scores. Learners who
  beat the model on some items beat it on certain others, across skill tags; this term learns
  which (ASSISTments 2009, problem ids, 5 folds: AUC 0.788 -> 0.829).

An attempt's features come from the learner's earlier attempts only, through the same
`LearnerState` updates that serve the product online, so batch and online agree exactly and
nothing can look ahead. Per-attempt work is plain Python on the attempt's one to three skills
(fast for a loop); predicting many candidates for one learner is vectorised with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import minimize

from hyperlearn.core.kt.factors import (
    FactorMemory,
    factor_scores,
    fit_item_factors,
)
from hyperlearn.core.kt.log import FloatArray, IntArray, InteractionLog

FORMAT = "hyperlearn-kt"
# 2 added the transfer and per-skill history blocks, 3 the residual features, 4 the item
# factors; older versions load without them.
FORMAT_VERSION = 4
SECONDS_PER_DAY = 86_400.0
RUN_BUCKETS = (1, 2, 3, 4, 6, 9, 14)  # upper bounds; the last bucket is open-ended
STREAK_BUCKETS = (1, 2, 3)
# Per practised skill k, what the transfer weights W[s, k] read (see SkillMemory).
TRANSFER_FEATURES = ("ema", "fast_ema", "log_successes", "log_failures")
N_TRANSFER = len(TRANSFER_FEATURES)

HISTORY_FEATURES = (
    "log_total_successes",
    "log_total_failures",
    "ability_logit",  # smoothed overall success rate so far
    "skill_ema",  # recent correctness on the attempt's skills, +1/-1 scale, 0 = no history
    "skill_fast_ema",
    "skill_known",  # 1 when the learner has practised one of the skills before
    "skill_last",  # last outcome on the skills: +1 right, -1 wrong, 0 never
    "overall_ema",
    "overall_fast_ema",
    "overall_last",
    "log_item_attempts",
    "item_last",  # last outcome on this very item
    "decayed_successes",  # only with real times
    "decayed_failures",
    "log_days_since_skill",
    *(f"run_{b}" for b in ("1", "2", "3", "4", "5_6", "7_9", "10_14", "15+")),
    *(f"right_streak_{b}" for b in ("1", "2", "3", "4+")),
    *(f"wrong_streak_{b}" for b in ("1", "2", "3", "4+")),
)
N_HISTORY = len(HISTORY_FEATURES)
RESIDUAL_FEATURES = (
    "item_prior_logit",
    "residual_mean",  # shrunk towards 0 by RESIDUAL_SHRINK pseudo-attempts
    "residual_ema",
    "skill_residual_mean",
    "skill_residual_ema",
)
N_RESIDUAL = len(RESIDUAL_FEATURES)
RESIDUAL_SHRINK = 3.0
_RUN_AT = HISTORY_FEATURES.index("run_1")
_RIGHT_AT = HISTORY_FEATURES.index("right_streak_1")
_WRONG_AT = HISTORY_FEATURES.index("wrong_streak_1")


@dataclass(frozen=True, slots=True)
class KTConfig:
    item_l2: float = 1.0  # an item is its skills plus a deviation; L2 shrinks rare items to them
    skill_l2: float = 1.0
    history_l2: float = 1.0
    transfer: bool = True
    # Much stronger than the other penalties: n_skills^2 x 4 weights, most seen rarely.
    transfer_l2: float = 300.0
    skill_history: bool = True
    skill_history_l2: float = 100.0
    skill_ema_decay: float = 0.7  # weight of the past in the EMAs
    fast_ema_decay: float = 0.4
    overall_ema_decay: float = 0.9
    half_life_days: float = 7.0  # for time-decayed counts
    ability_prior: float = 4.0  # pseudo-attempts at the base rate in the ability estimate
    max_iter: int = 100  # enough with the rescaling in _fit_logistic (AUC flat from 50 on)
    residual: bool = True
    item_prior_strength: float = 5.0  # pseudo-attempts at the skills' rate in an item's prior
    residual_ema_decay: float = 0.8
    skill_residual_ema_decay: float = 0.6
    # Item factors (see hyperlearn.core.kt.factors): dimension (0 = off), ridge penalty (also
    # the learner's prior in the online estimate), ALS sweeps, and the learner folds that give
    # training rows out-of-fold scores to fit the factor term's weight on.
    item_factors: int = 16
    factor_l2: float = 4.0
    factor_iterations: int = 8
    factor_folds: int = 4
    factor_seed: int = 0


@dataclass(slots=True)
class SkillMemory:
    """What the model remembers of one learner on one skill."""

    successes: int = 0
    failures: int = 0
    ema: float = 0.0
    fast_ema: float = 0.0
    last: float = 0.0
    right_streak: int = 0
    wrong_streak: int = 0
    decayed_successes: float = 0.0
    decayed_failures: float = 0.0
    time: float | None = None
    residual_sum: float = 0.0  # sum of y - sigmoid(item prior) on this skill
    residual_ema: float = 0.0


SKILL_MEMORY_FIELDS = tuple(f.name for f in fields(SkillMemory))


@dataclass
class LearnerState:
    """Everything the model remembers about one learner; JSON-serialisable via to_dict."""

    skills: dict[int, SkillMemory] = field(default_factory=dict)
    item_attempts: dict[int, int] = field(default_factory=dict)
    item_last: dict[int, float] = field(default_factory=dict)
    total_successes: int = 0
    total_failures: int = 0
    overall_ema: float = 0.0
    overall_fast_ema: float = 0.0
    overall_last: float = 0.0
    run_skills: tuple[int, ...] = ()  # skills of the last attempt
    run_length: int = 0  # attempts in a row sharing a skill, up to the last one
    residual_sum: float = 0.0  # sum of y - sigmoid(item prior) over all attempts
    residual_ema: float = 0.0
    factors: FactorMemory | None = None  # from the first attempt on a factored item

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in _LEARNER_SCALARS}
        if self.factors is not None:
            data["factor_gram"] = self.factors.gram.ravel().tolist()
            data["factor_moment"] = self.factors.moment.tolist()
        # A skill's memory as a list in SKILL_MEMORY_FIELDS order: half the JSON of a dict,
        # and a class heat map decodes a hundred states per page.
        data["skill_fields"] = list(SKILL_MEMORY_FIELDS)
        data["skills"] = {
            str(k): [getattr(v, name) for name in SKILL_MEMORY_FIELDS]
            for k, v in self.skills.items()
        }
        data["item_attempts"] = {str(k): v for k, v in self.item_attempts.items()}
        data["item_last"] = {str(k): v for k, v in self.item_last.items()}
        data["run_skills"] = list(self.run_skills)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LearnerState:
        moment = data.get("factor_moment")
        factors = None
        if moment is not None:
            factors = FactorMemory(len(moment), data["factor_gram"], moment)
        return cls(
            # Lists in SKILL_MEMORY_FIELDS order; dicts in states saved before that.
            skills={
                int(k): SkillMemory(*v) if isinstance(v, list) else SkillMemory(**v)
                for k, v in data["skills"].items()
            },
            item_attempts={int(k): int(v) for k, v in data["item_attempts"].items()},
            item_last={int(k): float(v) for k, v in data["item_last"].items()},
            total_successes=int(data["total_successes"]),
            total_failures=int(data["total_failures"]),
            overall_ema=float(data["overall_ema"]),
            overall_fast_ema=float(data["overall_fast_ema"]),
            overall_last=float(data["overall_last"]),
            run_skills=tuple(int(s) for s in data["run_skills"]),
            run_length=int(data["run_length"]),
            # States saved before the residual features start from none.
            residual_sum=float(data.get("residual_sum", 0.0)),
            residual_ema=float(data.get("residual_ema", 0.0)),
            factors=factors,
        )


_LEARNER_SCALARS = tuple(
    f.name
    for f in fields(LearnerState)
    if f.name not in ("skills", "item_attempts", "item_last", "run_skills", "factors")
)


class HyperLearnKT:
    name = "hyperlearn"

    def __init__(self, config: KTConfig | None = None) -> None:
        self.config = config or KTConfig()
        self.n_items = 0
        self.n_skills = 0
        self.base_rate = 0.5
        self.uses_time = False
        self.intercept = 0.0
        self.item_weights: FloatArray = np.zeros(0)
        self.skill_weights: FloatArray = np.zeros(0)
        self.success_weights: FloatArray = np.zeros(0)
        self.failure_weights: FloatArray = np.zeros(0)
        # W[s, k, f]: feature f of practised skill k, for an attempt on skill s.
        self.transfer_weights: FloatArray = np.zeros((0, 0, N_TRANSFER))
        # v_s: skill s's correction to the shared history and residual weights.
        self.skill_history_weights: FloatArray = np.zeros((0, N_HISTORY))
        self.history_weights: FloatArray = np.zeros(N_HISTORY)
        self.residual_weights: FloatArray = np.zeros(0)
        # Training-log counts behind the items' prior difficulty, and the skills' success rates.
        self.item_successes: FloatArray = np.zeros(0)
        self.item_attempts: FloatArray = np.zeros(0)
        self.skill_successes: FloatArray = np.zeros(0)
        self.skill_attempts: FloatArray = np.zeros(0)
        self.skill_rates: FloatArray = np.zeros(0)  # smoothed skill_successes / skill_attempts
        # v_j per item (n_items x KTConfig.item_factors; no rows when off) and the weight of
        # the correction v_j . u in the logit.
        self.item_factors: FloatArray = np.zeros((0, 0))
        self.factor_weight = 0.0

    # ------------------------------------------------------------------ one attempt
    def history(
        self, state: LearnerState, item: int, skills: Sequence[int], time: float
    ) -> list[float]:
        """The shared history features of an attempt, from the state before it."""
        cfg = self.config
        values = [0.0] * N_HISTORY
        total = state.total_successes + state.total_failures
        rate = (state.total_successes + cfg.ability_prior * self.base_rate) / (
            total + cfg.ability_prior
        )
        values[0] = math.log1p(state.total_successes)
        values[1] = math.log1p(state.total_failures)
        values[2] = math.log(rate / (1.0 - rate))
        known = [state.skills[s] for s in skills if s in state.skills]
        share = 1.0 / len(skills)
        if known:
            values[3] = sum(m.ema for m in known) * share
            values[4] = sum(m.fast_ema for m in known) * share
            values[5] = 1.0
            values[6] = sum(m.last for m in known) * share
        values[7] = state.overall_ema
        values[8] = state.overall_fast_ema
        values[9] = state.overall_last
        values[10] = math.log1p(state.item_attempts.get(item, 0))
        values[11] = state.item_last.get(item, 0.0)
        if self.uses_time:
            timed = [(m, m.time) for m in known if m.time is not None]
            if timed:
                elapsed = [max(time - t, 0.0) / SECONDS_PER_DAY for _, t in timed]
                decay = [0.5 ** (e / cfg.half_life_days) for e in elapsed]
                pairs = list(zip((m for m, _ in timed), decay, strict=True))
                values[12] = sum(m.decayed_successes * d for m, d in pairs) / len(timed)
                values[13] = sum(m.decayed_failures * d for m, d in pairs) / len(timed)
                values[14] = math.log1p(min(elapsed))
        if state.run_length and not set(skills).isdisjoint(state.run_skills):
            values[_RUN_AT + _bucket(state.run_length, RUN_BUCKETS)] = 1.0
        right = max((m.right_streak for m in known), default=0)
        wrong = max((m.wrong_streak for m in known), default=0)
        if right:
            values[_RIGHT_AT + _bucket(right, STREAK_BUCKETS)] = 1.0
        if wrong:
            values[_WRONG_AT + _bucket(wrong, STREAK_BUCKETS)] = 1.0
        return values

    def expected(self, item: int, skills: Sequence[int], own: _OwnCounts | None = None) -> float:
        """sigmoid(d_j): the item's prior success rate, from the training log's counts shrunk
        towards its skills' rates. `own`: the learner's own successes and attempts, left out
        (when fitting, so a row's feature never contains its own outcomes)."""
        strength = self.config.item_prior_strength
        if own is None:
            known = len(self.skill_rates)
            rates = [self.skill_rates[s] if s < known else self.base_rate for s in skills]
        else:
            rates = []
            for s in skills:
                if s >= len(self.skill_attempts):
                    rates.append(self.base_rate)
                    continue
                mine = own.skills.get(s, (0.0, 0.0))
                rates.append(
                    (self.skill_successes[s] - mine[0] + strength * self.base_rate)
                    / (self.skill_attempts[s] - mine[1] + strength)
                )
        prior = sum(rates) / len(rates)
        successes = attempts = 0.0
        if 0 <= item < len(self.item_attempts):
            mine = own.items.get(item, (0.0, 0.0)) if own is not None else (0.0, 0.0)
            successes = float(self.item_successes[item]) - mine[0]
            attempts = float(self.item_attempts[item]) - mine[1]
        rate = (successes + strength * prior) / (attempts + strength)
        return min(max(rate, 0.01), 0.99)

    def residual(self, state: LearnerState, skills: Sequence[int], expected: float) -> list[float]:
        """The residual features of an attempt (RESIDUAL_FEATURES), from the state before it."""
        values = [math.log(expected / (1.0 - expected)), 0.0, 0.0, 0.0, 0.0]
        total = state.total_successes + state.total_failures
        values[1] = state.residual_sum / (total + RESIDUAL_SHRINK)
        values[2] = state.residual_ema
        known = [state.skills[s] for s in skills if s in state.skills]
        if known:
            share = 1.0 / len(skills)
            values[3] = share * sum(
                m.residual_sum / (m.successes + m.failures + RESIDUAL_SHRINK) for m in known
            )
            values[4] = share * sum(m.residual_ema for m in known)
        return values

    def update(
        self,
        state: LearnerState,
        item: int,
        skills: Sequence[int],
        correct: bool,
        time: float,
        expected: float | None = None,
        factors: bool = True,
    ) -> None:
        """Online: fold one attempt into a learner's state (no refit). `expected`: the item's
        prior success rate when the caller has it (fitting leaves the learner out of it).
        `factors=False` leaves the item-factor memory alone: the batch passes build it
        separately (factor_scores), from the whole log's predictions at once."""
        cfg = self.config
        outcome = 1.0 if correct else -1.0
        if factors and 0 <= item < len(self.item_factors):
            # The factor memory learns from what the rest of the model did not expect.
            unexplained = float(correct) - float(
                _sigmoid(self._base_logits(state, *_one_candidate(item, skills), time))[0]
            )
            if state.factors is None:
                state.factors = FactorMemory(self.item_factors.shape[1])
            state.factors.add(self.item_factors[item], unexplained)
        residual = 0.0
        if cfg.residual:
            residual = float(correct) - (
                self.expected(item, skills) if expected is None else expected
            )
            state.residual_sum += residual
            state.residual_ema = (
                cfg.residual_ema_decay * state.residual_ema
                + (1 - cfg.residual_ema_decay) * residual
            )
        for skill in skills:
            memory = state.skills.get(skill)
            if memory is None:
                memory = state.skills[skill] = SkillMemory(ema=outcome, fast_ema=outcome)
            else:
                memory.ema = cfg.skill_ema_decay * memory.ema + (1 - cfg.skill_ema_decay) * outcome
                memory.fast_ema = (
                    cfg.fast_ema_decay * memory.fast_ema + (1 - cfg.fast_ema_decay) * outcome
                )
            if self.uses_time:
                elapsed = 0.0 if memory.time is None else max(time - memory.time, 0.0)
                decay = 0.5 ** (elapsed / SECONDS_PER_DAY / cfg.half_life_days)
                memory.decayed_successes = memory.decayed_successes * decay + correct
                memory.decayed_failures = memory.decayed_failures * decay + (not correct)
                memory.time = time
            memory.last = outcome
            if cfg.residual:
                memory.residual_sum += residual
                memory.residual_ema = (
                    cfg.skill_residual_ema_decay * memory.residual_ema
                    + (1 - cfg.skill_residual_ema_decay) * residual
                )
            if correct:
                memory.successes += 1
                memory.right_streak += 1
                memory.wrong_streak = 0
            else:
                memory.failures += 1
                memory.wrong_streak += 1
                memory.right_streak = 0
        first = state.total_successes + state.total_failures == 0
        if correct:
            state.total_successes += 1
        else:
            state.total_failures += 1
        if first:
            state.overall_ema = state.overall_fast_ema = outcome
        else:
            state.overall_ema = (
                cfg.overall_ema_decay * state.overall_ema + (1 - cfg.overall_ema_decay) * outcome
            )
            state.overall_fast_ema = (
                cfg.fast_ema_decay * state.overall_fast_ema + (1 - cfg.fast_ema_decay) * outcome
            )
        state.overall_last = outcome
        state.item_attempts[item] = state.item_attempts.get(item, 0) + 1
        state.item_last[item] = outcome
        continues = state.run_length and not set(skills).isdisjoint(state.run_skills)
        state.run_length = state.run_length + 1 if continues else 1
        state.run_skills = tuple(skills)

    # ------------------------------------------------------------------ a whole log
    def _design(
        self, log: InteractionLog, leave_learner_out: bool = False
    ) -> tuple[sparse.csr_matrix, FloatArray]:
        """Sparse item/skill columns and dense history (then residual) features of every row of
        a log, each from the same learner's earlier rows only. `leave_learner_out`: the log is
        the training log, whose item counts include each learner's own attempts."""
        n_items, n_skills = self.n_items, self.n_skills
        history = np.zeros((len(log), N_HISTORY))
        residuals = np.zeros((len(log), self.residual_columns))
        own: _OwnCounts | None = None
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        transfer = _TransferColumns(self.transfer_columns, n_skills)
        items = log.item.tolist()
        correct = log.correct.tolist()
        times = log.time.tolist()
        ptr = log.skill_ptr.tolist()
        skill_idx = log.skill_idx.tolist()
        for start, end in log.learner_spans():
            state = LearnerState()
            transfer.new_learner()
            if leave_learner_out and self.residual_columns:
                own = _OwnCounts()
                for row in range(start, end):
                    own.add(items[row], skill_idx[ptr[row] : ptr[row + 1]], correct[row])
            for row in range(start, end):
                skills = skill_idx[ptr[row] : ptr[row + 1]]
                item = items[row]
                history[row] = self.history(state, item, skills, times[row])
                expected = None
                if self.residual_columns:
                    expected = self.expected(item, skills, own)
                    residuals[row] = self.residual(state, skills, expected)
                transfer.add(row, skills)
                rows.append(row)
                cols.append(0)
                vals.append(1.0)
                if 0 <= item < n_items:
                    rows.append(row)
                    cols.append(1 + item)
                    vals.append(1.0)
                share = 1.0 / len(skills)
                for skill in skills:
                    if skill >= n_skills:
                        continue  # unknown at fit time: its weights are zero
                    memory = state.skills.get(skill)
                    base = 1 + n_items + skill
                    rows.append(row)
                    cols.append(base)
                    vals.append(share)
                    if memory is not None:
                        rows.extend((row, row))
                        cols.extend((base + n_skills, base + 2 * n_skills))
                        vals.extend(
                            (
                                share * math.log1p(memory.successes),
                                share * math.log1p(memory.failures),
                            )
                        )
                self.update(
                    state, item, skills, bool(correct[row]), times[row], expected, factors=False
                )
                transfer.practised(state, skills)
        onehots = sparse.csr_matrix(
            (vals, (rows, cols)), shape=(len(log), 1 + n_items + 3 * n_skills)
        )
        if self.residual_columns:
            history = np.hstack((history, residuals))
        blocks = [onehots]
        if self.transfer_columns:
            blocks.append(transfer.matrix(len(log)))
        if self.skill_history_columns:
            blocks.append(self._skill_history_block(log, history))
        if len(blocks) > 1:
            onehots = sparse.hstack(blocks, format="csr")
        return onehots, history

    def _skill_history_block(self, log: InteractionLog, dense: FloatArray) -> sparse.csr_matrix:
        """Each row's history (and residual) features again, in the columns of each of its
        fitted skills (times the skill's share of the row)."""
        width = self.dense_width
        counts = np.diff(log.skill_ptr)
        owner = np.repeat(np.arange(len(log)), counts)
        skill = log.skill_idx
        fitted = skill < self.n_skills
        owner, skill = owner[fitted], skill[fitted]
        share = 1.0 / counts[owner]
        rows = np.repeat(owner, width)
        cols = (skill[:, None] * width + np.arange(width)).ravel()
        vals = (dense[owner] * share[:, None]).ravel()
        keep = vals != 0.0
        return sparse.csr_matrix(
            (vals[keep], (rows[keep], cols[keep])),
            shape=(len(log), self.skill_history_columns),
        )

    @property
    def dense_width(self) -> int:
        """History features, then residual features: what the per-skill corrections read."""
        return N_HISTORY + self.residual_columns

    @property
    def skill_history_columns(self) -> int:
        return self.n_skills * self.dense_width if self.config.skill_history else 0

    @property
    def residual_columns(self) -> int:
        return N_RESIDUAL if self.config.residual else 0

    @property
    def transfer_columns(self) -> int:
        return self.n_skills * self.n_skills * N_TRANSFER if self.config.transfer else 0

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        if not len(train):
            raise ValueError("cannot fit on an empty log")
        self.n_items, self.n_skills = n_items, n_skills
        self.uses_time = train.has_time
        y = train.correct.astype(np.float64)
        self.base_rate = float(np.clip(y.mean(), 0.01, 0.99))
        self._count_priors(train)
        onehots, history = self._design(train, leave_learner_out=True)
        penalty = np.concatenate(
            (
                [0.0],
                np.full(n_items, self.config.item_l2),
                np.full(3 * n_skills, self.config.skill_l2),
                np.full(self.transfer_columns, self.config.transfer_l2),
                np.full(self.skill_history_columns, self.config.skill_history_l2),
                np.full(N_HISTORY + self.residual_columns, self.config.history_l2),
            )
        )
        weights = _fit_logistic(onehots, history, y, penalty, self.config.max_iter)
        self._set_weights(weights)
        self.item_factors = np.zeros((0, 0))
        self.factor_weight = 0.0
        if self.config.item_factors > 0:
            split = onehots.shape[1]
            self._fit_factors(train, onehots @ weights[:split] + history @ weights[split:])

    def _fit_factors(self, train: InteractionLog, logits: FloatArray) -> None:
        """Item factors from the residuals of the fitted logistic model, and the weight of their
        correction, fitted on out-of-fold scores: each fold of learners is scored with factors
        fitted without it, as a new learner will be."""
        cfg = self.config
        if cfg.factor_folds < 2:
            raise ValueError("item factors need factor_folds >= 2")
        y = train.correct.astype(np.float64)
        residual = y - _sigmoid(logits)
        rng = np.random.default_rng(cfg.factor_seed)
        known = (train.item >= 0) & (train.item < self.n_items)
        spans = train.learner_spans()
        span_fold = rng.permutation(len(spans)) % cfg.factor_folds
        row_fold = np.repeat(span_fold, [end - start for start, end in spans])
        scores = np.zeros(len(train))
        for fold in range(cfg.factor_folds):
            rows = known & (row_fold != fold)
            factors = fit_item_factors(
                train.learner[rows],
                train.item[rows],
                residual[rows],
                self.n_items,
                cfg.item_factors,
                cfg.factor_l2,
                cfg.factor_iterations,
                rng,
            )
            held = [span for span, f in zip(spans, span_fold.tolist(), strict=True) if f == fold]
            scores += factor_scores(held, train.item, residual, factors, cfg.factor_l2)
        weight = _fit_offset_weight(logits, scores, y)
        if weight <= 0.0:
            # Beating the model on related items can only mean doing better on this one; a
            # weight that says otherwise out of fold is fitting noise (small or structureless
            # logs), so the factors are left out.
            return
        self.factor_weight = weight
        self.item_factors = fit_item_factors(
            train.learner[known],
            train.item[known],
            residual[known],
            self.n_items,
            cfg.item_factors,
            cfg.factor_l2,
            cfg.factor_iterations,
            rng,
        )

    def _count_priors(self, train: InteractionLog) -> None:
        """Items' success and attempt counts and skills' smoothed success rates in the log."""
        y = train.correct.astype(np.float64)
        known = (train.item >= 0) & (train.item < self.n_items)
        self.item_successes = np.bincount(
            train.item[known], weights=y[known], minlength=self.n_items
        ).astype(np.float64)
        self.item_attempts = np.bincount(train.item[known], minlength=self.n_items).astype(
            np.float64
        )
        owner = np.repeat(np.arange(len(train)), np.diff(train.skill_ptr))
        fitted = train.skill_idx < self.n_skills
        skills = train.skill_idx[fitted]
        self.skill_successes = np.bincount(
            skills, weights=y[owner[fitted]], minlength=self.n_skills
        ).astype(np.float64)
        self.skill_attempts = np.bincount(skills, minlength=self.n_skills).astype(np.float64)
        self._set_skill_rates()

    def _set_skill_rates(self) -> None:
        strength = self.config.item_prior_strength
        self.skill_rates = (self.skill_successes + strength * self.base_rate) / (
            self.skill_attempts + strength
        )

    def predict_online(self, log: InteractionLog) -> FloatArray:
        onehots, history = self._design(log)
        weights = self._weights()
        split = onehots.shape[1]
        logits = onehots @ weights[:split] + history @ weights[split:]
        if len(self.item_factors):
            unexplained = log.correct - _sigmoid(logits)
            logits = logits + self.factor_weight * factor_scores(
                log.learner_spans(), log.item, unexplained, self.item_factors, self.config.factor_l2
            )
        return _sigmoid(logits)

    # ------------------------------------------------------------------ the product
    def predict(
        self,
        state: LearnerState,
        items: IntArray,
        skill_ptr: IntArray,
        skill_idx: IntArray,
        time: float,
    ) -> FloatArray:
        """P(correct) of many candidate items (skills in CSR form) for one learner, vectorised."""
        logit = self._base_logits(state, items, skill_ptr, skill_idx, time)
        if len(self.item_factors) and state.factors is not None:
            factored = (items >= 0) & (items < len(self.item_factors))
            if factored.any():  # mastery asks for typical items (-1): nothing to add
                # Every item's score at once: cheaper than gathering the candidates' vectors.
                scores = self.item_factors @ state.factors.position(self.config.factor_l2)
                logit[factored] += self.factor_weight * scores[items[factored]]
        return _sigmoid(logit)

    def _base_logits(
        self,
        state: LearnerState,
        items: IntArray,
        skill_ptr: IntArray,
        skill_idx: IntArray,
        time: float,
    ) -> FloatArray:
        """The logits of the logistic model alone, without the item-factor correction."""
        n = len(items)
        if n == 0:
            return np.zeros(0)
        cfg = self.config
        counts = np.diff(skill_ptr)
        if np.any(counts < 1):
            raise ValueError("every candidate needs at least one skill")
        owner = np.repeat(np.arange(n), counts)
        starts = skill_ptr[:-1]  # every candidate's first skill (each has at least one)
        share = 1.0 / counts[owner]
        top = max(int(skill_idx.max()) + 1, self.n_skills)
        table = _skill_table(state, top)
        fitted = skill_idx < self.n_skills
        safe = np.where(fitted, skill_idx, 0)
        per_skill = np.where(
            fitted,
            self.skill_weights[safe]
            + self.success_weights[safe] * np.log1p(table["successes"][skill_idx])
            + self.failure_weights[safe] * np.log1p(table["failures"][skill_idx])
            + self._transfer(table)[safe],
            0.0,
        )
        logit = np.full(n, self.intercept)
        logit += _sum_by(share * per_skill, owner, n)
        in_range = (items >= 0) & (items < self.n_items)
        logit[in_range] += self.item_weights[items[in_range]]

        # History columns, then the residual columns (filled below): one array, no stacking.
        dense = np.zeros((n, self.dense_width))
        h = dense[:, :N_HISTORY]
        total = state.total_successes + state.total_failures
        rate = (state.total_successes + cfg.ability_prior * self.base_rate) / (
            total + cfg.ability_prior
        )
        h[:, 0] = math.log1p(state.total_successes)
        h[:, 1] = math.log1p(state.total_failures)
        h[:, 2] = math.log(rate / (1.0 - rate))
        h[:, 3] = _sum_by(table["ema"][skill_idx] * share, owner, n)
        h[:, 4] = _sum_by(table["fast_ema"][skill_idx] * share, owner, n)
        h[:, 5] = _max_by(table["known"][skill_idx], starts)
        h[:, 6] = _sum_by(table["last"][skill_idx] * share, owner, n)
        h[:, 7] = state.overall_ema
        h[:, 8] = state.overall_fast_ema
        h[:, 9] = state.overall_last
        if state.item_attempts:
            attempts, last = _item_history(state, items)
            h[:, 10] = np.log1p(attempts)
            h[:, 11] = last
        if self.uses_time:
            skill_time = table["time"][skill_idx]
            timed = ~np.isnan(skill_time)
            elapsed = np.where(timed, np.maximum(time - skill_time, 0.0), 0.0) / SECONDS_PER_DAY
            decay = np.where(timed, 0.5 ** (elapsed / cfg.half_life_days), 0.0)
            n_timed = np.maximum(_sum_by(timed.astype(np.float64), owner, n), 1.0)
            h[:, 12] = _sum_by(table["decayed_successes"][skill_idx] * decay, owner, n) / n_timed
            h[:, 13] = _sum_by(table["decayed_failures"][skill_idx] * decay, owner, n) / n_timed
            nearest = np.minimum.reduceat(np.where(timed, elapsed, np.inf), starts)
            h[:, 14] = np.where(np.isfinite(nearest), np.log1p(nearest), 0.0)
        in_run = _max_by(table["in_run"][skill_idx], starts) > 0
        if state.run_length:
            h[in_run, _RUN_AT + _bucket(state.run_length, RUN_BUCKETS)] = 1.0
        for at, column in ((_RIGHT_AT, "right_streak"), (_WRONG_AT, "wrong_streak")):
            streak = _max_by(table[column][skill_idx], starts)
            rows = np.flatnonzero(streak >= 1)
            h[rows, at + np.searchsorted(STREAK_BUCKETS, streak[rows])] = 1.0
        logit += h @ self.history_weights
        if self.residual_columns:
            r = dense[:, N_HISTORY:]
            r[:] = self._residual_block(state, items, skill_idx, fitted, safe, share, owner, table)
            logit += r @ self.residual_weights
        if self.skill_history_columns:
            per_skill_history = np.where(
                fitted, np.einsum("ij,ij->i", self.skill_history_weights[safe], dense[owner]), 0.0
            )
            logit += _sum_by(share * per_skill_history, owner, n)
        return logit

    def _residual_block(
        self,
        state: LearnerState,
        items: IntArray,
        skill_idx: IntArray,
        fitted: NDArray[np.bool_],
        safe: IntArray,
        share: FloatArray,
        owner: IntArray,
        table: Mapping[str, FloatArray],
    ) -> FloatArray:
        """RESIDUAL_FEATURES of many candidates (as `residual` computes them one by one)."""
        n = len(items)
        rates = np.where(fitted, self.skill_rates[safe] if self.n_skills else 0.0, self.base_rate)
        prior = _sum_by(rates * share, owner, n)
        successes = np.zeros(n)
        attempts = np.zeros(n)
        in_range = (items >= 0) & (items < len(self.item_attempts))
        successes[in_range] = self.item_successes[items[in_range]]
        attempts[in_range] = self.item_attempts[items[in_range]]
        strength = self.config.item_prior_strength
        rate = np.clip((successes + strength * prior) / (attempts + strength), 0.01, 0.99)
        r = np.zeros((n, N_RESIDUAL))
        r[:, 0] = np.log(rate / (1.0 - rate))
        total = state.total_successes + state.total_failures
        r[:, 1] = state.residual_sum / (total + RESIDUAL_SHRINK)
        r[:, 2] = state.residual_ema
        r[:, 3] = _sum_by(table["residual_mean"][skill_idx] * share, owner, n)
        r[:, 4] = _sum_by(table["residual_ema"][skill_idx] * share, owner, n)
        return r

    def _transfer(self, table: Mapping[str, FloatArray]) -> FloatArray:
        """sum_k W[s, k] . T_k for every fitted skill s, from the learner's skill table."""
        n = self.n_skills
        if not self.transfer_columns or not n:
            return np.zeros(n)
        practised = table["known"][:n] > 0
        features = (
            np.stack(
                (
                    table["ema"][:n],
                    table["fast_ema"][:n],
                    np.log1p(table["successes"][:n]),
                    np.log1p(table["failures"][:n]),
                ),
                axis=1,
            )
            * practised[:, None]
        )
        result: FloatArray = self.transfer_weights.reshape(n, n * N_TRANSFER) @ features.ravel()
        return result

    def mastery(self, state: LearnerState, time: float = 0.0) -> FloatArray:
        """P(correct) on a typical item (item effect 0) of each fitted skill."""
        n = self.n_skills
        return self.predict(
            state,
            np.full(n, -1, dtype=np.int64),
            np.arange(n + 1, dtype=np.int64),
            np.arange(n, dtype=np.int64),
            time,
        )

    # ------------------------------------------------------------------ parameters
    def _set_weights(self, weights: FloatArray) -> None:
        n_items, n_skills = self.n_items, self.n_skills
        self.intercept = float(weights[0])
        self.item_weights = weights[1 : 1 + n_items].copy()
        skill_block = weights[1 + n_items : 1 + n_items + 3 * n_skills]
        self.skill_weights = skill_block[:n_skills].copy()
        self.success_weights = skill_block[n_skills : 2 * n_skills].copy()
        self.failure_weights = skill_block[2 * n_skills :].copy()
        at = 1 + n_items + 3 * n_skills
        self.transfer_weights = (
            weights[at : at + self.transfer_columns]
            .reshape(n_skills if self.transfer_columns else 0, -1, N_TRANSFER)
            .copy()
        )
        at += self.transfer_columns
        self.skill_history_weights = (
            weights[at : at + self.skill_history_columns].reshape(-1, self.dense_width).copy()
        )
        at += self.skill_history_columns
        self.history_weights = weights[at : at + N_HISTORY].copy()
        self.residual_weights = weights[at + N_HISTORY :].copy()

    def _weights(self) -> FloatArray:
        return np.concatenate(
            (
                [self.intercept],
                self.item_weights,
                self.skill_weights,
                self.success_weights,
                self.failure_weights,
                self.transfer_weights.ravel(),
                self.skill_history_weights.ravel(),
                self.history_weights,
                self.residual_weights,
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "config": asdict(self.config),
            "n_items": self.n_items,
            "n_skills": self.n_skills,
            "base_rate": self.base_rate,
            "uses_time": self.uses_time,
            "history_features": list(HISTORY_FEATURES),
            "residual_features": list(RESIDUAL_FEATURES) if self.residual_columns else [],
            "item_successes": self.item_successes.tolist(),
            "item_attempts": self.item_attempts.tolist(),
            "skill_successes": self.skill_successes.tolist(),
            "skill_attempts": self.skill_attempts.tolist(),
            "weights": self._weights().tolist(),
            "item_factors": self.item_factors.tolist(),
            "factor_weight": self.factor_weight,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HyperLearnKT:
        """Rebuild a saved model; refuses anything that is not a complete, consistent save."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ValueError("not a HyperLearn knowledge-tracing model")
        version = data.get("version")
        if version not in (1, 2, 3, FORMAT_VERSION):
            raise ValueError(f"unsupported model version {version!r}")
        if data.get("history_features") != list(HISTORY_FEATURES):
            raise ValueError("the model was saved with other history features")
        try:
            config = dict(data["config"])
            if version == 1:  # saved before the transfer and per-skill history blocks
                config["transfer"] = config["skill_history"] = False
            if version in (1, 2):  # saved before the residual features
                config["residual"] = False
            if version in (1, 2, 3):  # saved before the item factors
                config["item_factors"] = 0
            model = cls(KTConfig(**config))
            model.n_items = int(data["n_items"])
            model.n_skills = int(data["n_skills"])
            model.base_rate = float(data["base_rate"])
            model.uses_time = bool(data["uses_time"])
            weights = np.asarray(data["weights"], dtype=np.float64)
            if model.residual_columns:
                model.item_successes = np.asarray(data["item_successes"], dtype=np.float64)
                model.item_attempts = np.asarray(data["item_attempts"], dtype=np.float64)
                model.skill_successes = np.asarray(data["skill_successes"], dtype=np.float64)
                model.skill_attempts = np.asarray(data["skill_attempts"], dtype=np.float64)
            if version == FORMAT_VERSION:
                model.factor_weight = float(data["factor_weight"])
                factors = np.asarray(data["item_factors"], dtype=np.float64)
                if factors.size:
                    model.item_factors = factors
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"corrupt model parameters: {exc}") from exc
        if model.residual_columns and data.get("residual_features") != list(RESIDUAL_FEATURES):
            raise ValueError("the model was saved with other residual features")
        expected = (
            1
            + model.n_items
            + 3 * model.n_skills
            + model.transfer_columns
            + model.skill_history_columns
            + N_HISTORY
            + model.residual_columns
        )
        if weights.shape != (expected,) or not np.all(np.isfinite(weights)):
            raise ValueError(f"corrupt model parameters: expected {expected} finite weights")
        if model.residual_columns:
            if not (
                _counts_fit(model.item_successes, model.item_attempts, model.n_items)
                and _counts_fit(model.skill_successes, model.skill_attempts, model.n_skills)
            ):
                raise ValueError(
                    "corrupt model parameters: item and skill priors do not fit the model"
                )
            model._set_skill_rates()
        if len(model.item_factors) and not (
            model.item_factors.shape == (model.n_items, model.config.item_factors)
            and np.all(np.isfinite(model.item_factors))
            and math.isfinite(model.factor_weight)
        ):
            raise ValueError("corrupt model parameters: item factors do not fit the model")
        if not 0.0 < model.base_rate < 1.0:
            raise ValueError("corrupt model parameters: base rate outside (0, 1)")
        model._set_weights(weights)
        return model


@dataclass
class _OwnCounts:
    """One learner's successes and attempts per item and per skill in the training log."""

    items: dict[int, tuple[float, float]] = field(default_factory=dict)
    skills: dict[int, tuple[float, float]] = field(default_factory=dict)

    def add(self, item: int, skills: Sequence[int], correct: int) -> None:
        successes, attempts = self.items.get(item, (0.0, 0.0))
        self.items[item] = (successes + correct, attempts + 1.0)
        for skill in skills:
            successes, attempts = self.skills.get(skill, (0.0, 0.0))
            self.skills[skill] = (successes + correct, attempts + 1.0)


def _counts_fit(successes: FloatArray, attempts: FloatArray, n: int) -> bool:
    return bool(
        successes.shape == attempts.shape == (n,)
        and np.all(np.isfinite(attempts))
        and np.all((successes >= 0) & (successes <= attempts))
    )


class _TransferColumns:
    """Builds the transfer block of the design matrix: for each row, the features of every
    skill the learner practised before it, in the columns of the row's own skills. Kept as
    per-learner numpy arrays (refreshed from the LearnerState after each attempt), since a
    Python loop over (row, practised skill) pairs would dominate the fit time."""

    def __init__(self, columns: int, n_skills: int) -> None:
        self.enabled = columns > 0
        self.n_skills = n_skills
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[FloatArray] = []
        self.new_learner()

    def new_learner(self) -> None:
        self.features = np.zeros((self.n_skills, N_TRANSFER))
        self.order: list[int] = []  # practised skills, in first-practice order
        self.seen: set[int] = set()
        self.known: IntArray = np.zeros(0, dtype=np.int64)

    def add(self, row: int, skills: Sequence[int]) -> None:
        if not self.enabled or not len(self.known):
            return
        fitted = [s for s in skills if s < self.n_skills]
        share = 1.0 / len(skills)
        offsets = (self.known[:, None] * N_TRANSFER + np.arange(N_TRANSFER)).ravel()
        values = self.features[self.known].ravel() * share
        for skill in fitted:
            self.rows.append(np.full(len(offsets), row, dtype=np.int64))
            self.cols.append(skill * self.n_skills * N_TRANSFER + offsets)
            self.vals.append(values)

    def practised(self, state: LearnerState, skills: Sequence[int]) -> None:
        if not self.enabled:
            return
        for skill in skills:
            if skill >= self.n_skills:
                continue
            memory = state.skills[skill]
            if skill not in self.seen:
                self.seen.add(skill)
                self.order.append(skill)
                self.known = np.asarray(self.order, dtype=np.int64)
            self.features[skill] = (
                memory.ema,
                memory.fast_ema,
                math.log1p(memory.successes),
                math.log1p(memory.failures),
            )

    def matrix(self, n_rows: int) -> sparse.csr_matrix:
        size = self.n_skills * self.n_skills * N_TRANSFER
        if not self.rows:
            return sparse.csr_matrix((n_rows, size))
        return sparse.csr_matrix(
            (
                np.concatenate(self.vals),
                (np.concatenate(self.rows), np.concatenate(self.cols)),
            ),
            shape=(n_rows, size),
        )


def _one_candidate(item: int, skills: Sequence[int]) -> tuple[IntArray, IntArray, IntArray]:
    """One item in the CSR form `predict` takes."""
    return (
        np.array([item], dtype=np.int64),
        np.array([0, len(skills)], dtype=np.int64),
        np.asarray(skills, dtype=np.int64),
    )


def _bucket(count: int, bounds: tuple[int, ...]) -> int:
    for n, bound in enumerate(bounds):
        if count <= bound:
            return n
    return len(bounds)


_TABLE_COLUMNS = (
    "successes",
    "failures",
    "ema",
    "fast_ema",
    "last",
    "right_streak",
    "wrong_streak",
    "decayed_successes",
    "decayed_failures",
    "residual_sum",
    "residual_ema",
)
_table_row = attrgetter(*_TABLE_COLUMNS)


def _skill_table(state: LearnerState, n_skills: int) -> dict[str, FloatArray]:
    """The state's per-skill memories as arrays indexed by skill, for vectorised prediction
    (gathered row by row, then scattered at once: a class heat map builds a hundred)."""
    kept = [(skill, memory) for skill, memory in state.skills.items() if skill < n_skills]
    values = np.zeros((n_skills, len(_TABLE_COLUMNS)))
    known = np.zeros(n_skills)
    times = np.full(n_skills, np.nan)
    if kept:
        rows = np.fromiter((skill for skill, _ in kept), dtype=np.int64, count=len(kept))
        values[rows] = [_table_row(memory) for _, memory in kept]
        known[rows] = 1.0
        times[rows] = [np.nan if m.time is None else m.time for _, m in kept]
    table = {column: values[:, n] for n, column in enumerate(_TABLE_COLUMNS)}
    table["known"] = known
    table["time"] = times
    table["residual_mean"] = table["residual_sum"] / (
        table["successes"] + table["failures"] + RESIDUAL_SHRINK
    )
    table["in_run"] = np.zeros(n_skills)
    for skill in state.run_skills:
        if skill < n_skills:
            table["in_run"][skill] = 1.0
    return table


def _item_history(state: LearnerState, items: IntArray) -> tuple[FloatArray, FloatArray]:
    """The learner's attempts on, and last outcome on, every item (0 where never tried): one
    sorted search instead of two dict lookups per candidate (for 10,000 candidates those cost
    more than the rest of the prediction)."""
    keys = np.fromiter(state.item_attempts.keys(), dtype=np.int64, count=len(state.item_attempts))
    order = np.argsort(keys)
    keys = keys[order]
    counts = np.fromiter(state.item_attempts.values(), dtype=np.float64, count=len(keys))[order]
    last = np.fromiter(
        (state.item_last.get(key, 0.0) for key in keys.tolist()), dtype=np.float64, count=len(keys)
    )
    at = np.minimum(np.searchsorted(keys, items), len(keys) - 1)
    tried = keys[at] == items
    return np.where(tried, counts[at], 0.0), np.where(tried, last[at], 0.0)


def _sum_by(values: FloatArray, owner: IntArray, n: int) -> FloatArray:
    result: FloatArray = np.bincount(owner, weights=values, minlength=n).astype(np.float64)
    return result


def _max_by(values: FloatArray, starts: IntArray) -> FloatArray:
    """Per candidate (rows from `starts` on, CSR style), the largest value, at least 0."""
    result: FloatArray = np.maximum(np.maximum.reduceat(values, starts), 0.0)
    return result


def _sigmoid(x: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))
    return result


def _fit_logistic(
    onehots: sparse.csr_matrix,
    dense: FloatArray,
    y: FloatArray,
    penalty: FloatArray,
    max_iter: int,
) -> FloatArray:
    """L2-penalised logistic regression (a penalty per column) with L-BFGS; the one-hot columns
    stay sparse and the history columns dense, which keeps each iteration cheap.

    L-BFGS runs on rescaled weights u = w * sqrt(d), with d the diagonal of the Hessian at
    w = 0 (sum of squares / 4 plus the penalty): rare items and the strongly penalised transfer
    columns otherwise have curvatures orders of magnitude apart, and the plain problem needs
    several times the iterations for the same fit."""
    onehots_t = onehots.T.tocsr()
    dense_t = np.ascontiguousarray(dense.T)
    split = onehots.shape[1]
    curvature = (
        np.concatenate(
            (np.asarray(onehots.multiply(onehots).sum(axis=0)).ravel(), (dense * dense).sum(0))
        )
        * 0.25
        + penalty
    )
    scale = 1.0 / np.sqrt(np.maximum(curvature, 1e-8))

    def loss_and_grad(u: FloatArray) -> tuple[float, FloatArray]:
        w = scale * u
        z = onehots @ w[:split] + dense @ w[split:]
        loss = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * np.dot(penalty * w, w))
        residual = _sigmoid(z) - y
        grad = np.concatenate((onehots_t @ residual, dense_t @ residual)) + penalty * w
        return loss, scale * grad

    result = minimize(
        loss_and_grad,
        np.zeros(split + dense.shape[1]),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter},
    )
    weights: FloatArray = scale * np.asarray(result.x, dtype=np.float64)
    return weights


def _fit_offset_weight(offset: FloatArray, score: FloatArray, y: FloatArray) -> float:
    """beta of P(y) = sigmoid(offset + beta * score), by Newton's method on the log-likelihood
    (one parameter, concave)."""
    beta = 0.0
    for _ in range(25):
        p = _sigmoid(offset + beta * score)
        gradient = float(score @ (y - p))
        curvature = float((score * score) @ (p * (1.0 - p)))
        if curvature <= 1e-12:
            return 0.0
        step = gradient / curvature
        beta += step
        if abs(step) < 1e-8:
            break
    return beta
