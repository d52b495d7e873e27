"""The progress dashboard: mastery over time, activity per day, the skill graph, reviews ahead.

Everything comes from a handful of set-based queries, whatever the length of the log: the
attempts as plain rows, the items from the per-language cache, the skill states and the review
states. Mastery over time is the attempt log replayed through the learner model from the prior
of the learner's level, exactly as `practice.rebuild_skill_states` does, so its last point is
the stored state. Days are UTC days.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hyperlearn.core import CEFRLevel, Item, Language, SkillGraph, require_utc
from hyperlearn.core import learner as learner_model
from hyperlearn.core.memory import MemoryModel
from hyperlearn.service import knowledge, practice
from hyperlearn.store import memory_repo, repository
from hyperlearn.store.models import AttemptRow

# The same bar as `practice.progress`: a skill at this mastery unlocks its dependents.
UNLOCK_THRESHOLD = 0.6
ACTIVITY_DAYS = 30
FORECAST_DAYS = 14
HISTORY_SKILLS = 6


@dataclass(frozen=True, slots=True)
class DayActivity:
    day: date
    answered: int
    right: int

    @property
    def accuracy(self) -> float | None:
        return self.right / self.answered if self.answered else None


@dataclass(frozen=True, slots=True)
class SkillHistory:
    skill_id: str
    name: str
    level: CEFRLevel
    attempts: int
    # (day, mastery at the end of that day): the prior first (dated when the learner joined,
    # or the day before the first practice if that is earlier), then each day practised.
    points: list[tuple[date, float]]


@dataclass(frozen=True, slots=True)
class SkillNode:
    skill_id: str
    name: str
    level: CEFRLevel
    mastery: float
    attempts: int
    right: int
    status: str  # "strong" (unlocks its dependents), "next" (open, to learn), "locked"
    layer: int  # longest chain of prerequisites below it
    prerequisites: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ForecastDay:
    day: date
    due: int  # items that fall due that day (today: including those overdue)


@dataclass(frozen=True, slots=True)
class Dashboard:
    learner_id: str
    language: Language
    level: CEFRLevel
    today: date
    answered: int
    right: int
    active_days: int
    activity: list[DayActivity]  # up to ACTIVITY_DAYS days to today, oldest first, idle too
    history: list[SkillHistory]  # the most-practised skills, most first
    skills: list[SkillNode]  # curriculum (topological) order
    forecast: list[ForecastDay]  # today and the next FORECAST_DAYS - 1 days
    due_now: int
    reviewed_items: int


def dashboard(session: Session, learner_id: str, now: datetime) -> Dashboard:
    require_utc(now)
    learner = practice.get_learner(session, learner_id)
    graph = repository.cached_graph(session, learner.language)
    today = now.astimezone(UTC).date()
    query = (
        select(AttemptRow.item_id, AttemptRow.correct, AttemptRow.answered_at)
        .where(AttemptRow.learner_id == learner_id)
        .order_by(AttemptRow.id)
    )
    log = [(item_id, bool(correct), at) for item_id, correct, at in session.execute(query)]
    items = _items(session, learner.language, {item_id for item_id, _, _ in log})
    history, per_day = _replay(graph, learner.level, learner.created_at, log, items)
    states = repository.skill_states(session, learner_id)
    mastery = knowledge.mastery(session, learner_id, now) or {
        skill_id: state.mastery for skill_id, state in states.items()
    }
    forecast, due_now, reviewed = _forecast(session, learner_id, now)
    return Dashboard(
        learner_id=learner.id,
        language=learner.language,
        level=learner.level,
        today=today,
        answered=len(log),
        right=sum(correct for _, correct, _ in log),
        active_days=len(per_day),
        activity=_activity(per_day, learner.created_at.astimezone(UTC).date(), today),
        history=history,
        skills=_nodes(graph, mastery, states),
        forecast=forecast,
        due_now=due_now,
        reviewed_items=reviewed,
    )


def _activity(per_day: dict[date, tuple[int, int]], joined: date, today: date) -> list[DayActivity]:
    """Every day of the last ACTIVITY_DAYS, or since the learner joined (at least a week, so
    that a new learner's bars are not a week wide)."""
    first = max(today - timedelta(days=ACTIVITY_DAYS - 1), min(joined, today - timedelta(days=6)))
    days = (first + timedelta(days=n) for n in range((today - first).days + 1))
    return [DayActivity(day, *per_day.get(day, (0, 0))) for day in days]


def _items(session: Session, language: Language, ids: set[str]) -> dict[str, Item]:
    """The answered items: the cached enabled bank, plus any answered item disabled since."""
    found = {i.id: i for i in repository.candidate_items(session, language) if i.id in ids}
    missing = sorted(ids - found.keys())
    if missing:
        found.update({i.id: i for i in repository.load_items(session, ids=missing)})
    return found


def _replay(
    graph: SkillGraph,
    level: CEFRLevel,
    created_at: datetime,
    log: list[tuple[str, bool, datetime]],
    items: dict[str, Item],
) -> tuple[list[SkillHistory], dict[date, tuple[int, int]]]:
    """Mastery per skill after each day it was practised, and (answered, right) per day."""
    levels = {skill_id: skill.level for skill_id, skill in graph.skills.items()}
    states = {s.id: learner_model.initial_state(s, level) for s in graph.skills.values()}
    priors = {skill_id: state.mastery for skill_id, state in states.items()}
    points: dict[str, list[tuple[date, float]]] = {}
    counts: Counter[str] = Counter()
    per_day: dict[date, tuple[int, int]] = {}
    start = created_at.astimezone(UTC).date()
    for item_id, correct, answered_at in log:
        day = answered_at.astimezone(UTC).date()
        answered, right = per_day.get(day, (0, 0))
        per_day[day] = (answered + 1, right + int(correct))
        updated = learner_model.update(items[item_id], correct, states, levels, answered_at)
        states.update(updated)
        for skill_id, state in updated.items():
            counts[skill_id] += 1
            series = points.get(skill_id)
            if series is None:
                # The prior is the first point, dated no later than the day before the first
                # practice, so that even one day of practice draws as a line.
                before = min(start, day - timedelta(days=1))
                points[skill_id] = [(before, priors.get(skill_id, 0.5)), (day, state.mastery)]
            elif series[-1][0] == day:
                series[-1] = (day, state.mastery)  # one point per day: its last value
            else:
                series.append((day, state.mastery))
    order = {skill_id: n for n, skill_id in enumerate(graph.topological_order())}
    top = sorted((s for s in counts if s in graph), key=lambda s: (-counts[s], order.get(s, 0)))[
        :HISTORY_SKILLS
    ]
    history = [SkillHistory(s, graph[s].name, graph[s].level, counts[s], points[s]) for s in top]
    return history, per_day


def _nodes(
    graph: SkillGraph,
    mastery: dict[str, float],
    states: dict[str, learner_model.SkillState],
) -> list[SkillNode]:
    layer: dict[str, int] = {}
    nodes = []
    for skill_id in graph.topological_order():
        skill = graph[skill_id]
        layer[skill_id] = 1 + max((layer[p] for p in skill.prerequisites), default=-1)
        value = mastery.get(skill_id, 0.0)
        if value >= UNLOCK_THRESHOLD:
            status = "strong"
        elif graph.is_unlocked(skill_id, mastery, UNLOCK_THRESHOLD):
            status = "next"
        else:
            status = "locked"
        state = states.get(skill_id)
        nodes.append(
            SkillNode(
                skill_id=skill_id,
                name=skill.name,
                level=skill.level,
                mastery=value,
                attempts=state.attempts if state else 0,
                right=state.correct if state else 0,
                status=status,
                layer=layer[skill_id],
                prerequisites=skill.prerequisites,
            )
        )
    return nodes


def _forecast(
    session: Session, learner_id: str, now: datetime
) -> tuple[list[ForecastDay], int, int]:
    """Items falling due per day, by the recommender's own rule (`MemoryModel.is_due`: the
    scheduled time has come or recall fell below the desired retention), checked at the end of
    each day; plus how many are due now and how many items have a review state at all."""
    states = memory_repo.review_states(session, learner_id)
    model = MemoryModel(memory_repo.memory_params(session, learner_id))
    start = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    days = [start.date() + timedelta(days=d) for d in range(FORECAST_DAYS)]
    if not states:
        return [ForecastDay(day, 0) for day in days], 0, 0
    cards = list(states.values())
    stability = np.array([c.stability for c in cards], dtype=np.float64)
    last = np.array([c.last_review.timestamp() for c in cards], dtype=np.float64)
    due = np.array([c.due.timestamp() for c in cards], dtype=np.float64)
    ends = np.array(
        [(start + timedelta(days=d + 1)).timestamp() for d in range(FORECAST_DAYS)],
        dtype=np.float64,
    )
    elapsed = (ends[None, :] - last[:, None]) / 86400.0
    recall = model.recall_curve(elapsed, stability[:, None])
    retention = model.params.desired_retention
    is_due = (due[:, None] <= ends[None, :]) | (recall < retention)
    falls_due = np.where(is_due.any(axis=1), is_due.argmax(axis=1), -1)
    per_day = np.bincount(falls_due[falls_due >= 0], minlength=FORECAST_DAYS)
    # Due now, by the same rule at this moment (overdue items are also in today's count).
    recall_now = model.recall_curve((now.timestamp() - last) / 86400.0, stability)
    due_now = int(((due <= now.timestamp()) | (recall_now < retention)).sum())
    forecast = [ForecastDay(day, int(n)) for day, n in zip(days, per_day, strict=True)]
    return forecast, due_now, len(cards)
