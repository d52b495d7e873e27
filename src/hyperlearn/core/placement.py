"""Adaptive placement test: a posterior over CEFR levels, updated after each answer.

The learner's level is one of a few CEFR levels (A1 to C1, or fewer where a language's bank
stops earlier). An item of level l is answered right by a learner of level L with

    P(right | L, l) = g + (1 - g - slip) * sigmoid(discrimination * (L - l) + at_level)

(a four-parameter logistic item response model on the CEFR ranks; `g` is the item's guess rate:
one over its options, or small for typed answers). The prior leans towards the self-assessed
level without trusting it. Each next item is the one whose answer tells most about the level
(largest mutual information between the answer and the level under the current posterior),
from skills not asked yet so that one weak grammar point does not decide the test. The test
stops once one level holds `confidence` of the posterior (after `min_items`, because a crude
model is overconfident on three lucky answers), after `max_items`, or when the pool runs out.

Pure: the caller passes the items, the answers and the `rng` that breaks ties.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from hyperlearn.core.items import Item
from hyperlearn.core.language import CEFRLevel
from hyperlearn.core.learner import guess_rate

__all__ = [
    "PLACEMENT_LEVELS",
    "LevelTally",
    "PlacementConfig",
    "PlacementResult",
    "PlacementTest",
    "p_right",
]

# C2 is left out: the banks have (almost) no C2 items to tell it from C1.
PLACEMENT_LEVELS: tuple[CEFRLevel, ...] = tuple(CEFRLevel)[:5]
_Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PlacementConfig:
    max_items: int = 15
    min_items: int = 6
    confidence: float = 0.9
    # Logit change per CEFR step between learner and item: one level above the learner is
    # answered right about a quarter of the time (before guessing), one below about 95%.
    discrimination: float = 2.0
    # Logit of knowing an item of one's own level (about 73%).
    at_level: float = 1.0
    slip: float = 0.1
    # Prior weight exp(-prior_spread * |L - self-assessed|): a hint, not a verdict.
    prior_spread: float = 0.7
    # Items within this share of the most informative one count as equally good (rng picks),
    # so two learners do not see the same test.
    near_best: float = 0.9

    def __post_init__(self) -> None:
        if not 1 <= self.min_items <= self.max_items:
            raise ValueError(f"need 1 <= min_items <= max_items, got {self!r}")
        if not 0.5 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie in (0.5, 1), got {self.confidence}")
        if not 0.0 < self.near_best <= 1.0:
            raise ValueError(f"near_best must lie in (0, 1], got {self.near_best}")


DEFAULT_PLACEMENT = PlacementConfig()


def p_right(
    learner_rank: npt.ArrayLike,
    item_rank: npt.ArrayLike,
    guess: npt.ArrayLike,
    config: PlacementConfig = DEFAULT_PLACEMENT,
) -> _Array:
    """P(right answer) of a learner of CEFR rank `learner_rank` on an item of `item_rank` with
    guess rate `guess` (all broadcast as numpy arrays)."""
    logit = config.discrimination * (
        np.asarray(learner_rank, dtype=np.float64) - np.asarray(item_rank, dtype=np.float64)
    )
    known = 1.0 / (1.0 + np.exp(-(logit + config.at_level)))
    g = np.asarray(guess, dtype=np.float64)
    result: _Array = g + (1.0 - g - config.slip) * known
    return result


@dataclass(frozen=True, slots=True)
class LevelTally:
    level: CEFRLevel
    asked: int
    right: int


@dataclass(frozen=True, slots=True)
class PlacementResult:
    level: CEFRLevel
    confidence: float  # posterior probability of `level`
    posterior: dict[CEFRLevel, float]
    answered: int
    right: int
    by_level: tuple[LevelTally, ...]  # levels that had items, lowest first


@dataclass(frozen=True)
class PlacementTest:
    """The state of one test: its item pool, prior and answers so far (immutable)."""

    pool: tuple[Item, ...]
    levels: tuple[CEFRLevel, ...]
    prior: tuple[float, ...]
    answers: tuple[tuple[Item, bool], ...] = ()
    config: PlacementConfig = DEFAULT_PLACEMENT
    _pool_ranks: _Array = field(init=False, repr=False, compare=False)
    _pool_guess: _Array = field(init=False, repr=False, compare=False)
    _posterior: _Array = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.levels) != len(self.prior) or not self.levels:
            raise ValueError("a placement test needs one prior weight per level")
        ranks = np.array([item.level.rank for item in self.pool], dtype=np.float64)
        guesses = np.array([guess_rate(item) for item in self.pool], dtype=np.float64)
        object.__setattr__(self, "_pool_ranks", ranks)
        object.__setattr__(self, "_pool_guess", guesses)
        object.__setattr__(self, "_posterior", self._compute_posterior())

    @classmethod
    def start(
        cls,
        items: Sequence[Item],
        self_assessed: CEFRLevel,
        config: PlacementConfig = DEFAULT_PLACEMENT,
    ) -> PlacementTest:
        """A test over the levels the items cover (A1 up to the highest item level, at most
        C1), with a prior centred on the self-assessed level. Items above C1 are left out."""
        top = max((item.level.rank for item in items), default=0)
        levels = PLACEMENT_LEVELS[: min(top, PLACEMENT_LEVELS[-1].rank) + 1]
        pool = tuple(sorted((i for i in items if i.level in levels), key=lambda i: i.id))
        centre = min(self_assessed.rank, levels[-1].rank)
        weights = [math.exp(-config.prior_spread * abs(level.rank - centre)) for level in levels]
        total = sum(weights)
        return cls(pool, levels, tuple(w / total for w in weights), (), config)

    def record(self, item: Item, correct: bool) -> PlacementTest:
        """The test after one more answer (an item answered before is not counted twice)."""
        if any(asked.id == item.id for asked, _ in self.answers):
            return self
        return replace(self, answers=(*self.answers, (item, correct)))

    @property
    def posterior(self) -> _Array:
        """P(level) for each of `levels`, after the answers so far (a copy)."""
        return self._posterior.copy()

    def _compute_posterior(self) -> _Array:
        ranks = np.array([level.rank for level in self.levels], dtype=np.float64)
        log_post = np.log(np.asarray(self.prior, dtype=np.float64))
        for item, correct in self.answers:
            p = p_right(ranks, item.level.rank, guess_rate(item), self.config)
            log_post += np.log(p if correct else 1.0 - p)
        log_post -= log_post.max()
        post = np.exp(log_post)
        result: _Array = post / post.sum()
        return result

    @property
    def finished(self) -> bool:
        asked = len(self.answers)
        if asked >= self.config.max_items or asked >= len(self.pool):
            return True
        confident = float(self._posterior.max()) >= self.config.confidence
        return asked >= self.config.min_items and confident

    def next_item(self, rng: random.Random) -> Item | None:
        """The most informative item not asked yet, preferring skills not asked yet; None once
        the test is finished."""
        if self.finished:
            return None
        asked_ids = {item.id for item, _ in self.answers}
        asked_skills = {item.primary_skill for item, _ in self.answers}
        fresh = [i for i, item in enumerate(self.pool) if item.id not in asked_ids]
        unseen_skill = [i for i in fresh if self.pool[i].primary_skill not in asked_skills]
        candidates = np.array(unseen_skill or fresh, dtype=np.int64)
        gain = self._information(candidates)
        best = float(gain.max())
        near = candidates[gain >= self.config.near_best * best]
        return self.pool[int(near[rng.randrange(len(near))])]

    def _information(self, indices: npt.NDArray[np.int64]) -> _Array:
        """Mutual information (nats) between each item's answer and the level, under the
        current posterior: H(answer) - E_level[H(answer | level)]."""
        post = self._posterior
        ranks = np.array([level.rank for level in self.levels], dtype=np.float64)
        p = p_right(
            ranks[None, :],
            self._pool_ranks[indices, None],
            self._pool_guess[indices, None],
            self.config,
        )  # items x levels
        marginal = p @ post
        information: _Array = _entropy(marginal) - _entropy(p) @ post
        return information

    def result(self) -> PlacementResult:
        """The placed level (the posterior's mode) and what led to it."""
        post = self._posterior
        best = int(np.argmax(post))
        tallies = []
        for level in self.levels:
            at = [correct for item, correct in self.answers if item.level is level]
            if at:
                tallies.append(LevelTally(level, len(at), sum(at)))
        return PlacementResult(
            level=self.levels[best],
            confidence=float(post[best]),
            posterior={level: float(p) for level, p in zip(self.levels, post, strict=True)},
            answered=len(self.answers),
            right=sum(correct for _, correct in self.answers),
            by_level=tuple(tallies),
        )


def _entropy(p: _Array) -> _Array:
    """Binary entropy in nats, elementwise (0 log 0 = 0)."""
    q = np.clip(p, 1e-12, 1.0 - 1e-12)
    result: _Array = -(q * np.log(q) + (1.0 - q) * np.log(1.0 - q))
    return result
