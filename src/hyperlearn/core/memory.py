"""The memory model: when a learner will forget an item, and so when to review it (FSRS-6).

Each (learner, item) pair is one FSRS card, scheduled by py-fsrs (`fsrs`): this module maps a
graded attempt to an FSRS rating, keeps the card's state as a small frozen dataclass, and answers
"how likely is recall now" and "what is due". Parameters are per learner: the FSRS-6 defaults
until `fit_parameters` (fsrs-rs-python, imported lazily) fits them to the learner's own log.

Pure like the rest of `core`: time (`now`, UTC) is an argument, and intervals are exact unless an
`rng` is given (then they are fuzzed with it, never with the global random state).

The rating rule (`LatencyRule.rating`):

- a wrong answer is `Again`;
- a right answer is `Good`, unless its latency is known and the learner has a typical latency
  for this kind of exercise: the median latency of their last `window` right answers to items
  of the same type, this one included, once there are `min_samples` of them. Then at most
  `fast` x typical is `Easy` (recalled without effort) and at least `slow` x typical is `Hard`
  (recalled, with effort).

Latencies are compared within an item type because typing a correction takes longer than picking
a choice. Only right answers set the typical latency: a wrong answer's time says little. The
answer being rated counts in its own baseline so that the rule reads exactly what the attempt
log holds once the attempt is stored (the service computes it after storing the attempt, a replay
of the log from the same rows).
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt
from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import (
    DEFAULT_PARAMETERS,
    FUZZ_RANGES,
    LOWER_BOUNDS_PARAMETERS,
    UPPER_BOUNDS_PARAMETERS,
)

from hyperlearn.core.attempts import require_utc

if TYPE_CHECKING:
    from fsrs_rs_python import FSRSItem

__all__ = [
    "DEFAULT_PARAMETERS",
    "DEFAULT_RETENTION",
    "LEARNING_STEPS",
    "RELEARNING_STEPS",
    "DueReview",
    "FitResult",
    "LatencyRule",
    "MemoryModel",
    "MemoryParams",
    "Rating",
    "Review",
    "ReviewState",
    "State",
    "elapsed_days",
    "fit_parameters",
    "rated",
    "rating_for",
    "review_histories",
    "training_items",
]

DEFAULT_RETENTION = 0.9
MIN_RETENTION = 0.7
MAX_RETENTION = 0.99
# py-fsrs's defaults, written out so that a new py-fsrs release cannot change schedules silently.
LEARNING_STEPS = (timedelta(minutes=1), timedelta(minutes=10))
RELEARNING_STEPS = (timedelta(minutes=10),)
MAXIMUM_INTERVAL_DAYS = 36500
_CARD_ID = 0  # py-fsrs wants a card id; ours is the (learner, item) key, kept outside the card
_PARAMETER_TOLERANCE = 1e-6
_Steps = tuple[tuple[timedelta, ...], tuple[timedelta, ...]]


@dataclass(frozen=True, slots=True)
class LatencyRule:
    """How a right answer's speed turns into Hard, Good or Easy (see the module docstring)."""

    fast: float = 0.5
    slow: float = 2.0
    window: int = 50
    min_samples: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.fast < 1 < self.slow:
            raise ValueError(f"need 0 < fast < 1 < slow, got fast={self.fast} slow={self.slow}")
        if self.window < 1 or not 1 <= self.min_samples <= self.window:
            raise ValueError(f"need 1 <= min_samples <= window, got {self!r}")

    def typical(self, latencies: Sequence[int]) -> float | None:
        """The median of the last `window` latencies (oldest first), or None if too few."""
        recent = latencies[-self.window :]
        if len(recent) < self.min_samples:
            return None
        return float(statistics.median(recent))

    def rating(
        self, correct: bool, latency_ms: int | None = None, typical_ms: float | None = None
    ) -> Rating:
        if not correct:
            return Rating.Again
        if latency_ms is None or typical_ms is None or typical_ms <= 0:
            return Rating.Good
        if latency_ms <= self.fast * typical_ms:
            return Rating.Easy
        if latency_ms >= self.slow * typical_ms:
            return Rating.Hard
        return Rating.Good


DEFAULT_RULE = LatencyRule()


def rating_for(
    correct: bool,
    latency_ms: int | None = None,
    typical_latency_ms: float | None = None,
    rule: LatencyRule = DEFAULT_RULE,
) -> Rating:
    """The FSRS rating of one graded attempt (wrong: Again; right: Good, or Easy/Hard by speed)."""
    return rule.rating(correct, latency_ms, typical_latency_ms)


@dataclass(frozen=True, slots=True)
class MemoryParams:
    """One learner's scheduler settings: the 21 FSRS-6 weights and the desired retention."""

    parameters: tuple[float, ...] = DEFAULT_PARAMETERS
    desired_retention: float = DEFAULT_RETENTION

    def __post_init__(self) -> None:
        if not MIN_RETENTION <= self.desired_retention <= MAX_RETENTION:
            raise ValueError(
                f"desired retention must be between {MIN_RETENTION} and {MAX_RETENTION}, "
                f"got {self.desired_retention}"
            )
        object.__setattr__(self, "parameters", tuple(float(p) for p in self.parameters))
        # py-fsrs checks the count and the bounds of each weight, with a message naming them.
        Scheduler(parameters=self.parameters, enable_fuzzing=False)

    @property
    def is_default(self) -> bool:
        return _same_parameters(self.parameters, DEFAULT_PARAMETERS)


class DueReview(NamedTuple):
    """An item due for review: how likely the learner still recalls it, and when it was due."""

    item_id: str
    retrievability: float
    due: datetime


@dataclass(frozen=True, slots=True)
class ReviewState:
    """One (learner, item) card after at least one review. `reps` counts reviews; `lapses`
    counts items forgotten after they had graduated to the Review state."""

    state: State
    step: int | None
    stability: float
    difficulty: float
    due: datetime
    last_review: datetime
    reps: int = 1
    lapses: int = 0

    def __post_init__(self) -> None:
        require_utc(self.due)
        require_utc(self.last_review)
        if self.stability <= 0:
            raise ValueError(f"stability must be positive, got {self.stability}")

    def to_card(self) -> Card:
        return Card(
            card_id=_CARD_ID,
            state=self.state,
            step=self.step,
            stability=self.stability,
            difficulty=self.difficulty,
            due=self.due.astimezone(UTC),
            last_review=self.last_review.astimezone(UTC),
        )


@dataclass(frozen=True, slots=True)
class Review:
    """One graded attempt as the memory model sees it. `kind` (the item type) groups latencies."""

    item_id: str
    correct: bool
    answered_at: datetime
    latency_ms: int | None = None
    kind: str = ""

    def __post_init__(self) -> None:
        require_utc(self.answered_at)


class _SeededScheduler(Scheduler):
    """py-fsrs fuzzes with the global `random`; this scheduler fuzzes with the rng it is given,
    over the same ranges (fsrs.scheduler.FUZZ_RANGES)."""

    def __init__(self, rng: random.Random, params: MemoryParams, steps: _Steps) -> None:
        super().__init__(
            parameters=params.parameters,
            desired_retention=params.desired_retention,
            learning_steps=steps[0],
            relearning_steps=steps[1],
            maximum_interval=MAXIMUM_INTERVAL_DAYS,
            enable_fuzzing=True,
        )
        self._rng = rng

    def _get_fuzzed_interval(self, *, interval: timedelta) -> timedelta:
        days = interval.days
        if days < 2.5:
            return interval
        delta = 1.0
        for fuzz in FUZZ_RANGES:
            delta += fuzz["factor"] * max(min(float(days), fuzz["end"]) - fuzz["start"], 0.0)
        high = min(round(days + delta), self.maximum_interval)
        low = min(max(2, round(days - delta)), high)
        fuzzed = self._rng.random() * (high - low + 1) + low
        return timedelta(days=min(round(fuzzed), self.maximum_interval))


class MemoryModel:
    """FSRS-6 scheduling for one learner: review a card, its retrievability, what is due."""

    def __init__(
        self,
        params: MemoryParams | None = None,
        rng: random.Random | None = None,
        learning_steps: Sequence[timedelta] = LEARNING_STEPS,
        relearning_steps: Sequence[timedelta] = RELEARNING_STEPS,
    ) -> None:
        self.params = params or MemoryParams()
        steps = (tuple(learning_steps), tuple(relearning_steps))
        self.scheduler: Scheduler
        if rng is None:
            self.scheduler = Scheduler(
                parameters=self.params.parameters,
                desired_retention=self.params.desired_retention,
                learning_steps=steps[0],
                relearning_steps=steps[1],
                maximum_interval=MAXIMUM_INTERVAL_DAYS,
                enable_fuzzing=False,
            )
        else:
            self.scheduler = _SeededScheduler(rng, self.params, steps)
        decay = -self.params.parameters[20]
        self._decay = decay
        self._factor = 0.9 ** (1 / decay) - 1

    def review(self, state: ReviewState | None, rating: Rating, now: datetime) -> ReviewState:
        """The card after one more review at `now` (state None: the item's first review)."""
        require_utc(now)
        now = now.astimezone(UTC)
        card = (
            state.to_card()
            if state is not None
            else Card(card_id=_CARD_ID, state=State.Learning, step=0, due=now)
        )
        card, _ = self.scheduler.review_card(card, Rating(rating), review_datetime=now)
        assert card.stability is not None and card.difficulty is not None
        assert card.last_review is not None
        lapsed = state is not None and state.state is State.Review and rating == Rating.Again
        return ReviewState(
            state=State(card.state),
            step=card.step,
            stability=card.stability,
            difficulty=card.difficulty,
            due=card.due,
            last_review=card.last_review,
            reps=(state.reps if state else 0) + 1,
            lapses=(state.lapses if state else 0) + int(lapsed),
        )

    def retrievability(self, state: ReviewState, now: datetime) -> float:
        """P(recall) at `now` on the FSRS-6 forgetting curve, R = (1 + f t / S) ^ -w20.

        Time counts in fractional days, so R falls continuously; at whole days it equals
        py-fsrs's `Scheduler.get_card_retrievability`, which floors the elapsed days."""
        require_utc(now)
        elapsed = max(0.0, (now - state.last_review).total_seconds() / 86400.0)
        return float((1 + self._factor * elapsed / state.stability) ** self._decay)

    def recall_curve(
        self, elapsed_days: npt.NDArray[np.float64], stability: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """`retrievability` for many cards at once, from elapsed days and stabilities."""
        result: npt.NDArray[np.float64] = (
            1 + self._factor * np.maximum(elapsed_days, 0.0) / stability
        ) ** self._decay
        return result

    def is_due(self, state: ReviewState, now: datetime) -> bool:
        """Due when its scheduled time has come (this covers the minute-long learning steps,
        during which R is still about 1) or its recall chance fell below the desired retention."""
        require_utc(now)
        return state.due <= now or self.retrievability(state, now) < self.params.desired_retention

    def due(
        self, states: Mapping[str, ReviewState], now: datetime, limit: int | None = None
    ) -> list[DueReview]:
        """Due items, most urgent first: lowest retrievability, then the longest overdue."""
        found = [
            DueReview(item_id, self.retrievability(state, now), state.due)
            for item_id, state in states.items()
            if self.is_due(state, now)
        ]
        found.sort(key=lambda d: (d.retrievability, d.due, d.item_id))
        return found if limit is None else found[:limit]

    def replay(
        self, reviews: Iterable[Review], rule: LatencyRule = DEFAULT_RULE
    ) -> dict[str, ReviewState]:
        """Every item's state after the reviews, given in the order they happened."""
        states: dict[str, ReviewState] = {}
        for review, rating in rated(reviews, rule):
            states[review.item_id] = self.review(
                states.get(review.item_id), rating, review.answered_at
            )
        return states


def rated(
    reviews: Iterable[Review], rule: LatencyRule = DEFAULT_RULE
) -> list[tuple[Review, Rating]]:
    """Each review (in the order they happened) with its rating, judging its speed against the
    latencies of the right answers of the same kind up to it (itself included)."""
    latencies: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=rule.window))
    result = []
    for review in reviews:
        seen = latencies[review.kind]
        if review.correct and review.latency_ms is not None:
            seen.append(review.latency_ms)
        rating = rule.rating(review.correct, review.latency_ms, rule.typical(list(seen)))
        result.append((review, rating))
    return result


def elapsed_days(earlier: datetime, later: datetime) -> int:
    """Whole days between two reviews, counted as py-fsrs's scheduler counts them."""
    return (later - earlier).days


def review_histories(
    reviews: Iterable[Review], rule: LatencyRule = DEFAULT_RULE
) -> dict[str, list[tuple[datetime, Rating]]]:
    """Per item, its (time, rating) reviews in order: the review log FSRS is fitted to."""
    histories: dict[str, list[tuple[datetime, Rating]]] = defaultdict(list)
    for review, rating in rated(reviews, rule):
        histories[review.item_id].append((review.answered_at, rating))
    return dict(histories)


def training_items(histories: Mapping[str, Sequence[tuple[datetime, Rating]]]) -> list[FSRSItem]:
    """fsrs-rs training items: for each review that came at least a day after the one before,
    the card's history up to it (the optimizer learns to predict that review's outcome)."""
    from fsrs_rs_python import FSRSItem, FSRSReview

    dated: list[tuple[datetime, str, FSRSItem]] = []
    for item_id, history in histories.items():
        reviews: list[FSRSReview] = []
        previous: datetime | None = None
        for moment, rating in history:
            delta = 0 if previous is None else elapsed_days(previous, moment)
            reviews.append(FSRSReview(int(rating), delta))
            if delta > 0:
                dated.append((moment, item_id, FSRSItem(list(reviews))))
            previous = moment
    dated.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry[2] for entry in dated if entry[2].long_term_review_cnt() > 0]


@dataclass(frozen=True, slots=True)
class FitResult:
    """The fitted weights, or None when the optimizer had too little to learn from."""

    parameters: tuple[float, ...] | None
    n_reviews: int
    n_training_items: int


def fit_parameters(
    reviews: Sequence[Review],
    rule: LatencyRule = DEFAULT_RULE,
    relearning_steps: int = len(RELEARNING_STEPS),
) -> FitResult:
    """Fit one learner's FSRS-6 weights to their review log with fsrs-rs (no torch).

    fsrs-rs itself returns the default weights when the log is too thin (roughly, fewer than
    fifty items seen again on a later day); that is reported as `parameters=None`."""
    items = training_items(review_histories(reviews, rule))
    if not items:
        return FitResult(None, len(reviews), 0)
    from fsrs_rs_python import FSRS

    fitted = FSRS(list(DEFAULT_PARAMETERS)).compute_parameters(
        items, enable_short_term=True, num_relearning_steps=relearning_steps
    )
    if len(fitted) != len(DEFAULT_PARAMETERS) or not all(math.isfinite(p) for p in fitted):
        raise ValueError(f"the FSRS optimizer returned unusable weights: {fitted!r}")
    # fsrs-rs computes in float32; keep its weights inside py-fsrs's (float64) bounds.
    clamped = tuple(
        min(max(float(p), low), high)
        for p, low, high in zip(
            fitted, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True
        )
    )
    if _same_parameters(clamped, DEFAULT_PARAMETERS):
        return FitResult(None, len(reviews), len(items))
    return FitResult(clamped, len(reviews), len(items))


def _same_parameters(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(
        abs(x - y) <= _PARAMETER_TOLERANCE for x, y in zip(a, b, strict=True)
    )
