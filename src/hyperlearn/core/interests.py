"""The interest profile: which topics a learner likes, stated and learned.

Explicit topics (chosen at onboarding) weigh 1. On top, every engagement signal on an item moves
its topics up or down (a like, an answer, a skip, quitting the session on it), and old signals
fade with a half-life, so tastes can change. Weights lie in [-1, 1]: above 0 the learner likes
the topic, below 0 they avoid it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hyperlearn.core.attempts import require_utc


class Signal(StrEnum):
    LIKE = "like"
    DISLIKE = "dislike"
    SKIP = "skip"  # moved on without answering
    REPORT = "report"  # says the item is wrong: a quality signal, not a taste
    ANSWER = "answer"  # time spent on it: a weak sign of engagement
    QUIT = "quit"  # ended the session on this item


@dataclass(frozen=True, slots=True)
class InterestConfig:
    explicit_weight: float = 1.0
    half_life_days: float = 30.0
    signal_weights: Mapping[Signal, float] = field(
        default_factory=lambda: {
            Signal.LIKE: 0.6,
            Signal.DISLIKE: -0.8,
            Signal.SKIP: -0.3,
            Signal.REPORT: 0.0,
            Signal.ANSWER: 0.03,
            Signal.QUIT: -0.5,
        }
    )


DEFAULT_INTEREST_CONFIG = InterestConfig()


@dataclass(frozen=True, slots=True)
class EngagementEvent:
    signal: Signal
    topics: tuple[str, ...]
    at: datetime


class InterestProfile:
    """Decayed sums of signals per topic, updated online (one event at a time, in time order)."""

    def __init__(
        self, explicit: Iterable[str] = (), config: InterestConfig = DEFAULT_INTEREST_CONFIG
    ) -> None:
        self.config = config
        self.explicit = frozenset(explicit)
        self._implicit: dict[str, tuple[float, datetime]] = {}

    def observe(self, signal: Signal, topics: Iterable[str], at: datetime) -> None:
        require_utc(at)
        weight = self.config.signal_weights.get(signal, 0.0)
        if weight == 0.0:
            return
        for topic in topics:
            self._implicit[topic] = (self._decayed(topic, at) + weight, at)

    def weights(self, now: datetime) -> dict[str, float]:
        """Topic -> weight in [-1, 1] at `now`; topics never stated or seen are absent (0)."""
        require_utc(now)
        result = {topic: self.config.explicit_weight for topic in self.explicit}
        for topic in self._implicit:
            # tanh keeps a flood of weak signals from outweighing what the learner said.
            value = result.get(topic, 0.0) + math.tanh(self._decayed(topic, now))
            result[topic] = max(-1.0, min(1.0, value))
        return result

    def _decayed(self, topic: str, now: datetime) -> float:
        found = self._implicit.get(topic)
        if found is None:
            return 0.0
        value, since = found
        days = max(0.0, (now - since).total_seconds() / 86400.0)
        return float(value * 0.5 ** (days / self.config.half_life_days))


def interest_weights(
    explicit: Iterable[str],
    events: Iterable[EngagementEvent],
    now: datetime,
    config: InterestConfig = DEFAULT_INTEREST_CONFIG,
) -> dict[str, float]:
    """The profile at `now` from the stated topics and the event log (oldest first)."""
    profile = InterestProfile(explicit, config)
    for event in events:
        profile.observe(event.signal, event.topics, event.at)
    return profile.weights(now)
