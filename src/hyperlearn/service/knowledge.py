"""The knowledge-tracing model as use cases: export the log, refit, update online, mastery.

Until a model has been fitted (`hyperlearn learner refit`), mastery comes from the simple
per-skill Elo model of hyperlearn.core.learner. Once one exists, every stored attempt also
updates the learner's knowledge-tracing state in the attempt's own transaction, and progress
shows the fitted model's mastery. States are derived data: a missing state, or one made under an
older model, is rebuilt from the attempt log.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hyperlearn.core import Item, require_utc
from hyperlearn.core.kt import InteractionLog, LogBuilder, Vocabulary
from hyperlearn.core.kt.model import HyperLearnKT, LearnerState
from hyperlearn.store.models import (
    AttemptRow,
    ItemSkillRow,
    KTModelRow,
    LearnerKTStateRow,
    LearnerRow,
    SkillRow,
)

MIN_ATTEMPTS_TO_FIT = 200


@dataclass(frozen=True, slots=True)
class RefitReport:
    fitted: bool  # False: nothing changed, `message` says why
    model_id: int | None
    n_attempts: int
    n_learners: int
    seconds: float
    message: str


@dataclass(frozen=True)
class ActiveModel:
    id: int
    model: HyperLearnKT
    items: Vocabulary
    skills: Vocabulary

    def item_index(self, item_id: str) -> int:
        found = self.items.get(item_id)
        if found is not None:
            return found
        # An item newer than the model: a stable index past the fitted ones (no item weight).
        return self.model.n_items + int(hashlib.sha256(item_id.encode()).hexdigest()[:12], 16)

    def skill_indices(self, skill_ids: Sequence[str], all_skill_ids: Sequence[str]) -> list[int]:
        """Fitted skills keep their index; newer ones follow in sorted order (they have no
        weights, so only their history features count)."""
        newer = sorted(s for s in all_skill_ids if self.skills.get(s) is None)
        extra = {s: self.model.n_skills + n for n, s in enumerate(newer)}
        indices = []
        for skill_id in skill_ids:
            fitted = self.skills.get(skill_id)
            indices.append(extra[skill_id] if fitted is None else fitted)
        return indices


def attempt_log(session: Session) -> tuple[InteractionLog, Vocabulary, Vocabulary, Vocabulary]:
    """Every stored attempt as an InteractionLog (learner by learner, in time order)."""
    skills_of = _skills_of(session)
    learners, items, skills = Vocabulary(), Vocabulary(), Vocabulary()
    builder = LogBuilder()
    rows = session.execute(
        select(
            AttemptRow.learner_id, AttemptRow.item_id, AttemptRow.correct, AttemptRow.answered_at
        ).order_by(AttemptRow.learner_id, AttemptRow.id)
    )
    for learner_id, item_id, correct, answered_at in rows:
        builder.add(
            learners.index(learner_id),
            items.index(item_id),
            [skills.index(s) for s in skills_of[item_id]],
            correct,
            answered_at.timestamp(),
        )
    return builder.build(), learners, items, skills


def export_attempts_csv(session: Session, path: Path) -> int:
    """Write the attempt log in HyperLearn's export format (the `hyperlearn` benchmark format)."""
    skills_of = _skills_of(session)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["learner_id", "item_id", "skills", "correct", "answered_at"])
        for row in session.scalars(
            select(AttemptRow).order_by(AttemptRow.learner_id, AttemptRow.id)
        ):
            writer.writerow(
                [
                    row.learner_id,
                    row.item_id,
                    ";".join(skills_of[row.item_id]),
                    int(row.correct),
                    row.answered_at.isoformat(),
                ]
            )
            count += 1
    return count


def refit(session: Session, now: datetime, min_attempts: int = MIN_ATTEMPTS_TO_FIT) -> RefitReport:
    """Fit a new model on every stored attempt and rebuild every learner's state under it."""
    require_utc(now)
    started = time.perf_counter()
    log, learners, items, skills = attempt_log(session)
    if len(log) < min_attempts:
        return RefitReport(
            False,
            None,
            len(log),
            len(learners),
            0.0,
            f"{len(log)} attempts stored; a refit needs at least {min_attempts}: nothing changed",
        )
    if len(set(log.correct.tolist())) < 2:
        return RefitReport(
            False,
            None,
            len(log),
            len(learners),
            0.0,
            "every stored attempt has the same outcome; nothing to learn: nothing changed",
        )
    model = HyperLearnKT()
    model.fit(log, n_items=len(items), n_skills=len(skills))
    row = KTModelRow(
        fitted_at=now,
        n_attempts=len(log),
        n_learners=len(learners),
        parameters={"model": model.to_dict(), "items": items.labels, "skills": skills.labels},
    )
    session.add(row)
    session.flush()
    active = ActiveModel(row.id, model, items, skills)
    for start, end in log.learner_spans():
        state = LearnerState()
        for n in range(start, end):
            model.update(
                state,
                int(log.item[n]),
                log.skills_of(n).tolist(),
                bool(log.correct[n]),
                float(log.time[n]),
            )
        _save_state(session, learners.labels[int(log.learner[start])], active, state, now)
    session.commit()
    return RefitReport(
        True,
        row.id,
        len(log),
        len(learners),
        time.perf_counter() - started,
        f"fitted on {len(log)} attempts of {len(learners)} learners",
    )


def active_model(session: Session) -> ActiveModel | None:
    """The newest fitted model, or None. Model rows never change (a refit adds a row), so a
    parsed model is kept per database and id."""
    newest = session.scalar(select(func.max(KTModelRow.id)))
    if newest is None:
        return None
    key = (session.get_bind().engine.url.render_as_string(), int(newest))
    cached = _MODELS.get(key)
    if cached is None:
        row = session.get(KTModelRow, int(newest))
        assert row is not None
        cached = ActiveModel(
            row.id,
            HyperLearnKT.from_dict(row.parameters["model"]),
            Vocabulary(list(row.parameters["items"])),
            Vocabulary(list(row.parameters["skills"])),
        )
        if len(_MODELS) >= _MODEL_CACHE_SIZE:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = cached
    return cached


_MODEL_CACHE_SIZE = 4
_MODELS: dict[tuple[str, int], ActiveModel] = {}


def record_attempt(
    session: Session, learner_id: str, item: Item, correct: bool, now: datetime
) -> None:
    """Fold a newly stored attempt into the learner's state (same transaction as the attempt).
    A no-op until a model has been fitted."""
    active = active_model(session)
    if active is None:
        return
    state = learner_state(session, learner_id, active, exclude_latest=True)
    all_skills = _all_skill_ids(session)
    active.model.update(
        state,
        active.item_index(item.id),
        active.skill_indices(item.skills, all_skills),
        correct,
        now.timestamp(),
    )
    _save_state(session, learner_id, active, state, now)


def learner_state(
    session: Session, learner_id: str, active: ActiveModel, exclude_latest: bool = False
) -> LearnerState:
    """The stored state under the active model, or one rebuilt from the log. With
    `exclude_latest`, a rebuild leaves out the attempt being recorded right now."""
    row = session.get(LearnerKTStateRow, learner_id)
    if row is not None and row.model_id == active.id:
        return LearnerState.from_dict(row.state)
    state = LearnerState()
    all_skills = _all_skill_ids(session)
    skills_of = _skills_of(session)
    history = session.scalars(
        select(AttemptRow).where(AttemptRow.learner_id == learner_id).order_by(AttemptRow.id)
    ).all()
    if exclude_latest and history:
        history = history[:-1]
    for attempt in history:
        active.model.update(
            state,
            active.item_index(attempt.item_id),
            active.skill_indices(skills_of[attempt.item_id], all_skills),
            attempt.correct,
            attempt.answered_at.timestamp(),
        )
    return state


def mastery(session: Session, learner_id: str, now: datetime) -> dict[str, float] | None:
    """P(correct) on a typical item of each skill of the learner's language, or None when no
    model has been fitted yet."""
    learner = session.get(LearnerRow, learner_id)
    assert learner is not None
    found = mastery_of_learners(session, [learner_id], learner.language, now)
    return None if found is None else found[learner_id]


def mastery_of_learners(
    session: Session, learner_ids: Sequence[str], language: str, now: datetime
) -> dict[str, dict[str, float]] | None:
    """`mastery` of many learners of one language (a class heat map): the model, the skills
    and the stored states are looked up once; None when no model has been fitted yet."""
    active = active_model(session)
    if active is None:
        return None
    skill_ids = list(session.scalars(select(SkillRow.id).where(SkillRow.language == language)))
    indices = np.asarray(active.skill_indices(skill_ids, _all_skill_ids(session)), dtype=np.int64)
    n = len(indices)
    items = np.full(n, -1, dtype=np.int64)
    ptr = np.arange(n + 1, dtype=np.int64)
    stored = {
        row.learner_id: row
        for row in session.scalars(
            select(LearnerKTStateRow).where(LearnerKTStateRow.learner_id.in_(list(learner_ids)))
        )
    }
    found = {}
    for learner_id in learner_ids:
        row = stored.get(learner_id)
        state = (
            LearnerState.from_dict(row.state)
            if row is not None and row.model_id == active.id
            else learner_state(session, learner_id, active)  # rebuilt from the log
        )
        probabilities = active.model.predict(state, items, ptr, indices, now.timestamp())
        found[learner_id] = dict(zip(skill_ids, probabilities.tolist(), strict=True))
    return found


def _save_state(
    session: Session, learner_id: str, active: ActiveModel, state: LearnerState, now: datetime
) -> None:
    row = session.get(LearnerKTStateRow, learner_id)
    if row is None:
        row = LearnerKTStateRow(learner_id=learner_id)
        session.add(row)
    row.model_id = active.id
    row.state = state.to_dict()
    row.updated_at = now


def _all_skill_ids(session: Session) -> list[str]:
    return list(session.scalars(select(SkillRow.id).order_by(SkillRow.id)))


def _skills_of(session: Session) -> dict[str, list[str]]:
    skills_of: dict[str, list[str]] = {}
    for item_id, skill_id in session.execute(
        select(ItemSkillRow.item_id, ItemSkillRow.skill_id).order_by(
            ItemSkillRow.item_id, ItemSkillRow.position
        )
    ):
        skills_of.setdefault(item_id, []).append(skill_id)
    return skills_of


__all__ = [
    "MIN_ATTEMPTS_TO_FIT",
    "ActiveModel",
    "RefitReport",
    "active_model",
    "attempt_log",
    "export_attempts_csv",
    "learner_state",
    "mastery",
    "mastery_of_learners",
    "record_attempt",
    "refit",
]
