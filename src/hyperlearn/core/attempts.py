"""Attempts: one learner's answer to one item, the unit of the append-only event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Attempt:
    learner_id: str
    item_id: str
    answer: str
    correct: bool
    answered_at: datetime
    idempotency_key: str
    latency_ms: int | None = None

    def __post_init__(self) -> None:
        require_utc(self.answered_at)


def require_utc(moment: datetime) -> None:
    """Times in HyperLearn are timezone-aware UTC; naive datetimes are a bug, not a guess."""
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise ValueError(f"expected a timezone-aware UTC datetime, got {moment!r}")
