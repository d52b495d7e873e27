"""The memory model (FSRS) as use cases: schedule each answered item, list due reviews, refit.

The attempt log is the review log: every stored attempt is one review of its (learner, item)
card, and the stored review state is always what replaying the log with the learner's current
parameters gives (`rebuild_review_states`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hyperlearn.core import Item, require_utc
from hyperlearn.core.memory import (
    DEFAULT_RULE,
    DueReview,
    MemoryModel,
    MemoryParams,
    ReviewState,
    fit_parameters,
    rating_for,
)
from hyperlearn.service.errors import InvalidInput, NotFound
from hyperlearn.store import memory_repo, repository

DEFAULT_DUE_LIMIT = 50
# Below this many reviews a personal fit is mostly noise; fsrs-rs also falls back to the
# defaults by itself when too few items were seen again on a later day.
MIN_REVIEWS_TO_FIT = 400

__all__ = [
    "DEFAULT_DUE_LIMIT",
    "MIN_REVIEWS_TO_FIT",
    "DueReview",
    "RefitResult",
    "due_count",
    "due_items",
    "memory_params",
    "rebuild_review_states",
    "record_review",
    "refit_memory",
    "set_desired_retention",
]


@dataclass(frozen=True, slots=True)
class RefitResult:
    learner_id: str
    fitted: bool  # False: nothing was changed, and `message` says why
    n_reviews: int
    n_training_items: int
    parameters: tuple[float, ...]  # the parameters in force after the call
    desired_retention: float
    message: str


def record_review(
    session: Session,
    learner_id: str,
    item: Item,
    correct: bool,
    latency_ms: int | None,
    now: datetime,
) -> ReviewState:
    """Schedule the item's next review after this answer; returns its new state.

    It runs inside the caller's transaction, after the attempt row was added to the session and
    before the commit that stores it, once per newly stored attempt (never for an idempotent
    replay). It flushes
    first, so the attempt is in the log the rating reads (its latency counts in the learner's
    typical latency, as in a replay) and a duplicate key fails here, inside the caller's `try`."""
    require_utc(now)
    session.flush()
    if memory_repo.lock_learner(session, learner_id) is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    params = memory_repo.memory_params(session, learner_id)
    previous = memory_repo.review_state(session, learner_id, item.id)
    latencies = memory_repo.recent_latencies(
        session, learner_id, str(item.type), DEFAULT_RULE.window
    )
    model = MemoryModel(params)
    if previous is None and memory_repo.attempt_count(session, learner_id, item.id) > 1:
        # Answered before review states were kept (a database from before migration 0002):
        # rebuild this item's state from the whole log, which now holds this attempt too.
        state = model.replay(memory_repo.review_log(session, learner_id))[item.id]
    else:
        rating = rating_for(correct, latency_ms, DEFAULT_RULE.typical(latencies))
        state = model.review(previous, rating, now)
    memory_repo.save_review_state(session, learner_id, item.id, state)
    return state


def due_items(
    session: Session, learner_id: str, now: datetime, limit: int | None = DEFAULT_DUE_LIMIT
) -> list[DueReview]:
    """(item_id, retrievability, due) of the learner's due items, most urgent (least likely
    recalled) first: scheduled time passed, or recall chance below the desired retention."""
    require_utc(now)
    if limit is not None and limit < 1:
        raise InvalidInput("limit must be at least 1")
    params = memory_params(session, learner_id)
    states = memory_repo.review_states(session, learner_id)
    return MemoryModel(params).due(states, now, limit)


def due_count(session: Session, learner_id: str, now: datetime) -> int:
    return len(due_items(session, learner_id, now, limit=None))


def memory_params(session: Session, learner_id: str) -> MemoryParams:
    _require_learner(session, learner_id)
    return memory_repo.memory_params(session, learner_id)


def set_desired_retention(
    session: Session, learner_id: str, desired_retention: float
) -> MemoryParams:
    """Change the learner's target recall probability and reschedule their items to it."""
    if memory_repo.lock_learner(session, learner_id) is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    current = memory_repo.memory_params(session, learner_id)
    try:
        params = MemoryParams(current.parameters, desired_retention)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    row = memory_repo.memory_params_row(session, learner_id)
    memory_repo.save_memory_params(
        session,
        learner_id,
        params,
        fitted_at=row.fitted_at if row else None,
        n_reviews=row.n_reviews if row else 0,
    )
    _reschedule(session, learner_id, params)
    session.commit()
    return params


def rebuild_review_states(session: Session, learner_id: str) -> dict[str, ReviewState]:
    """Every reviewed item's state replayed from the attempt log with the current parameters.

    It equals the stored state (disabled items included): the log is the source of truth."""
    params = memory_params(session, learner_id)
    return MemoryModel(params).replay(memory_repo.review_log(session, learner_id))


def refit_memory(
    session: Session, learner_id: str, now: datetime, min_reviews: int = MIN_REVIEWS_TO_FIT
) -> RefitResult:
    """Fit the learner's FSRS-6 weights to their attempt log (fsrs-rs), store them and
    reschedule every item with them. Too few reviews: a no-op that says so."""
    require_utc(now)
    if memory_repo.lock_learner(session, learner_id) is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    current = memory_repo.memory_params(session, learner_id)
    log = memory_repo.review_log(session, learner_id)
    kept = "default" if current.is_default else "current"

    def unchanged(message: str, n_items: int = 0) -> RefitResult:
        session.rollback()  # nothing was written; release the lock
        return RefitResult(
            learner_id,
            False,
            len(log),
            n_items,
            current.parameters,
            current.desired_retention,
            f"{message}; keeping the {kept} FSRS parameters.",
        )

    if len(log) < max(min_reviews, 1):
        return unchanged(
            f"Learner {learner_id} has {len(log)} reviews; fitting needs at least {min_reviews}"
        )
    fit = fit_parameters(log)
    if fit.parameters is None:
        return unchanged(
            f"The FSRS optimizer found too little to learn from in {len(log)} reviews "
            f"({fit.n_training_items} items answered again on a later day)",
            fit.n_training_items,
        )
    params = MemoryParams(fit.parameters, current.desired_retention)
    memory_repo.save_memory_params(session, learner_id, params, fitted_at=now, n_reviews=len(log))
    _reschedule(session, learner_id, params)
    session.commit()
    return RefitResult(
        learner_id,
        True,
        len(log),
        fit.n_training_items,
        params.parameters,
        params.desired_retention,
        f"Fitted FSRS parameters for learner {learner_id} from {len(log)} reviews "
        f"({fit.n_training_items} training items) and rescheduled their items.",
    )


def _reschedule(session: Session, learner_id: str, params: MemoryParams) -> None:
    states = MemoryModel(params).replay(memory_repo.review_log(session, learner_id))
    memory_repo.replace_review_states(session, learner_id, states)


def _require_learner(session: Session, learner_id: str) -> None:
    if repository.get_learner(session, learner_id) is None:
        raise NotFound(f"no learner with id {learner_id!r}")
