"""Memory-model rows <-> core.memory types. Callers own the session and its transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hyperlearn.core.memory import MemoryParams, Review, ReviewState, State
from hyperlearn.store.models import (
    AttemptRow,
    ItemReviewStateRow,
    ItemRow,
    LearnerMemoryParamsRow,
    LearnerRow,
)


def lock_learner(session: Session, learner_id: str) -> LearnerRow | None:
    """Take the learner's row lock (PostgreSQL; SQLite locks the whole database at BEGIN), so
    that two answers of one learner, or an answer and a refit, update memory one after the other."""
    return session.get(LearnerRow, learner_id, with_for_update=True)


def memory_params(session: Session, learner_id: str) -> MemoryParams:
    """The learner's scheduler settings; the FSRS-6 defaults until they are fitted or set."""
    row = session.get(LearnerMemoryParamsRow, learner_id, populate_existing=True)
    if row is None:
        return MemoryParams()
    return MemoryParams(tuple(row.parameters), row.desired_retention)


def memory_params_row(session: Session, learner_id: str) -> LearnerMemoryParamsRow | None:
    return session.get(LearnerMemoryParamsRow, learner_id)


def save_memory_params(
    session: Session,
    learner_id: str,
    params: MemoryParams,
    *,
    fitted_at: datetime | None,
    n_reviews: int,
) -> None:
    row = session.get(LearnerMemoryParamsRow, learner_id)
    if row is None:
        row = LearnerMemoryParamsRow(learner_id=learner_id)
        session.add(row)
    row.parameters = list(params.parameters)
    row.desired_retention = params.desired_retention
    row.fitted_at = fitted_at
    row.n_reviews = n_reviews


def review_state(session: Session, learner_id: str, item_id: str) -> ReviewState | None:
    # Read it afresh: a long-lived session (the terminal practice loop) may hold an old copy.
    row = session.get(ItemReviewStateRow, (learner_id, item_id), populate_existing=True)
    return None if row is None else _to_state(row)


def review_states(
    session: Session, learner_id: str, include_disabled: bool = False
) -> dict[str, ReviewState]:
    """Every item the learner has reviewed, by item id (disabled items left out unless asked)."""
    query = (
        select(ItemReviewStateRow)
        .where(ItemReviewStateRow.learner_id == learner_id)
        .execution_options(populate_existing=True)
    )
    if not include_disabled:
        query = query.join(ItemRow, ItemRow.id == ItemReviewStateRow.item_id).where(
            ItemRow.disabled.is_(False)
        )
    return {row.item_id: _to_state(row) for row in session.scalars(query)}


def recall_inputs(session: Session, learner_id: str) -> list[tuple[str, float, datetime]]:
    """(item id, stability, last review) of the learner's enabled reviewed items: what the
    recommender needs for recall now, read as plain rows (no ORM objects: it runs per request)."""
    query = (
        select(
            ItemReviewStateRow.item_id,
            ItemReviewStateRow.stability,
            ItemReviewStateRow.last_review,
        )
        .join(ItemRow, ItemRow.id == ItemReviewStateRow.item_id)
        .where(ItemReviewStateRow.learner_id == learner_id, ItemRow.disabled.is_(False))
    )
    return [(item_id, stability, last) for item_id, stability, last in session.execute(query)]


def save_review_state(session: Session, learner_id: str, item_id: str, state: ReviewState) -> None:
    row = session.get(ItemReviewStateRow, (learner_id, item_id))
    if row is None:
        row = ItemReviewStateRow(learner_id=learner_id, item_id=item_id)
        session.add(row)
    row.stability = state.stability
    row.difficulty = state.difficulty
    row.state = int(state.state)
    row.step = state.step
    row.due = state.due
    row.last_review = state.last_review
    row.reps = state.reps
    row.lapses = state.lapses


def replace_review_states(
    session: Session, learner_id: str, states: Mapping[str, ReviewState]
) -> None:
    """Make the learner's stored states exactly `states` (after a replay of the log)."""
    session.execute(delete(ItemReviewStateRow).where(ItemReviewStateRow.learner_id == learner_id))
    session.flush()
    session.add_all(
        ItemReviewStateRow(
            learner_id=learner_id,
            item_id=item_id,
            stability=state.stability,
            difficulty=state.difficulty,
            state=int(state.state),
            step=state.step,
            due=state.due,
            last_review=state.last_review,
            reps=state.reps,
            lapses=state.lapses,
        )
        for item_id, state in sorted(states.items())
    )


def recent_latencies(session: Session, learner_id: str, item_type: str, limit: int) -> list[int]:
    """Latencies of the learner's last `limit` stored right answers to items of this type,
    oldest first."""
    query = (
        select(AttemptRow.latency_ms)
        .join(ItemRow, ItemRow.id == AttemptRow.item_id)
        .where(
            AttemptRow.learner_id == learner_id,
            AttemptRow.correct.is_(True),
            AttemptRow.latency_ms.is_not(None),
            ItemRow.type == item_type,
        )
        .order_by(AttemptRow.id.desc())
        .limit(limit)
    )
    return [
        int(latency) for latency in reversed(session.scalars(query).all()) if latency is not None
    ]


def attempt_count(session: Session, learner_id: str, item_id: str) -> int:
    query = select(func.count()).where(
        AttemptRow.learner_id == learner_id, AttemptRow.item_id == item_id
    )
    return int(session.scalar(query) or 0)


def review_log(session: Session, learner_id: str) -> list[Review]:
    """The learner's attempts, in the order they were stored, as memory-model reviews."""
    query = (
        select(
            AttemptRow.item_id,
            AttemptRow.correct,
            AttemptRow.answered_at,
            AttemptRow.latency_ms,
            ItemRow.type,
        )
        .join(ItemRow, ItemRow.id == AttemptRow.item_id)
        .where(AttemptRow.learner_id == learner_id)
        .order_by(AttemptRow.id)
    )
    return [
        Review(item_id, correct, answered_at, latency_ms, kind)
        for item_id, correct, answered_at, latency_ms, kind in session.execute(query)
    ]


def _to_state(row: ItemReviewStateRow) -> ReviewState:
    return ReviewState(
        state=State(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.due,
        last_review=row.last_review,
        reps=row.reps,
        lapses=row.lapses,
    )
