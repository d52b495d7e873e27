"""Queries and row <-> core conversions. Callers own the session and its transaction."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hyperlearn.core import (
    CandidateSet,
    CEFRLevel,
    Item,
    ItemType,
    Language,
    Provenance,
    Skill,
    SkillGraph,
    SkillState,
    Topic,
)
from hyperlearn.core.learner import sigmoid
from hyperlearn.store import content_version
from hyperlearn.store.models import (
    AttemptRow,
    ItemReportRow,
    ItemRow,
    ItemSkillRow,
    ItemTopicRow,
    LearnerItemEventRow,
    LearnerRow,
    LearnerSkillStateRow,
    LearnerTopicRow,
    SkillEdgeRow,
    SkillGraphRow,
    SkillRow,
    TopicRow,
)


@dataclass(frozen=True, slots=True)
class SyncCounts:
    topics: int
    skills: int
    items_added: int
    items_updated: int


def sync_content(
    session: Session,
    topics: Iterable[Topic],
    graphs: Iterable[SkillGraph],
    items: Iterable[Item],
    now: datetime,
) -> SyncCounts:
    """Upsert shipped content. Items are keyed by their content hash, so re-running adds nothing;
    metadata that is not part of the hash (explanation, topics, distractors...) is refreshed."""
    topic_count = 0
    for topic in topics:
        session.merge(TopicRow(id=topic.id, name_en=topic.name("en"), name_ru=topic.name("ru")))
        topic_count += 1
    skill_count = 0
    for graph in graphs:
        for skill in graph.skills.values():
            session.merge(
                SkillRow(
                    id=skill.id,
                    language=str(skill.language),
                    level=str(skill.level),
                    name=skill.name,
                    name_native=skill.name_native,
                    explanation=skill.explanation,
                    example=skill.example,
                    errant=list(skill.errant),
                    ud_features=list(skill.ud_features),
                    answer_forms=[list(p) for p in skill.answer_forms],
                    answer_grammemes=[sorted(a) for a in skill.answer_grammemes],
                )
            )
            skill_count += 1
        session.merge(
            SkillGraphRow(
                language=str(graph.language), unmapped_errant=sorted(graph.unmapped_errant)
            )
        )
        session.flush()
        ids = list(graph.skills)
        session.execute(delete(SkillEdgeRow).where(SkillEdgeRow.skill_id.in_(ids)))
        session.add_all(
            SkillEdgeRow(skill_id=s.id, prerequisite_id=p)
            for s in graph.skills.values()
            for p in s.prerequisites
        )
    session.flush()
    existing = set(session.scalars(select(ItemRow.id)))
    added = updated = 0
    for item in items:
        row = session.get(ItemRow, item.id) if item.id in existing else None
        if row is None:
            row = ItemRow(id=item.id, created_at=now, disabled=False)
            session.add(row)
            added += 1
        else:
            updated += 1
        _fill_item_row(row, item)
        row.updated_at = now
        session.flush()
        session.execute(delete(ItemSkillRow).where(ItemSkillRow.item_id == item.id))
        session.execute(delete(ItemTopicRow).where(ItemTopicRow.item_id == item.id))
        session.add_all(
            ItemSkillRow(item_id=item.id, skill_id=s, position=n) for n, s in enumerate(item.skills)
        )
        session.add_all(ItemTopicRow(item_id=item.id, topic_id=t) for t in item.topics)
    session.flush()
    return SyncCounts(topic_count, skill_count, added, updated)


def add_items(session: Session, items: Sequence[Item], now: datetime) -> int:
    """Insert the items that are not stored yet (ids are content hashes, so an item that is
    already there is the same exercise); returns how many were new. Imports use this: a
    re-import adds nothing and never rewrites what learners have answered."""
    ids = [item.id for item in items]
    present = set(session.scalars(select(ItemRow.id).where(ItemRow.id.in_(ids))))
    new = [item for item in items if item.id not in present]
    for item in new:
        row = ItemRow(id=item.id, created_at=now, updated_at=now, disabled=False)
        _fill_item_row(row, item)
        session.add(row)
    session.flush()
    session.add_all(
        ItemSkillRow(item_id=item.id, skill_id=s, position=n)
        for item in new
        for n, s in enumerate(item.skills)
    )
    session.add_all(ItemTopicRow(item_id=item.id, topic_id=t) for item in new for t in item.topics)
    session.flush()
    return len(new)


def _fill_item_row(row: ItemRow, item: Item) -> None:
    row.language = str(item.language)
    row.type = str(item.type)
    row.text = item.text
    row.answers = list(item.answers)
    row.distractors = list(item.distractors)
    row.level = str(item.level)
    row.explanation = item.explanation
    row.hint = item.hint
    row.correction = item.correction
    row.source = item.provenance.source
    row.licence = item.provenance.licence
    row.record_id = item.provenance.record_id


def load_graph(session: Session, language: Language) -> SkillGraph:
    rows = session.scalars(select(SkillRow).where(SkillRow.language == str(language))).all()
    prerequisites: dict[str, list[str]] = {row.id: [] for row in rows}
    edges = session.scalars(
        select(SkillEdgeRow).where(SkillEdgeRow.skill_id.in_(list(prerequisites)))
    )
    for edge in edges:
        prerequisites[edge.skill_id].append(edge.prerequisite_id)
    meta = session.get(SkillGraphRow, str(language))
    return SkillGraph.build(
        language,
        (
            Skill(
                id=row.id,
                language=language,
                level=CEFRLevel(row.level),
                name=row.name,
                explanation=row.explanation,
                example=row.example,
                prerequisites=tuple(sorted(prerequisites[row.id])),
                errant=tuple(row.errant),
                ud_features=tuple(row.ud_features),
                answer_forms=tuple(tuple(p) for p in row.answer_forms or ()),
                answer_grammemes=tuple(frozenset(a) for a in row.answer_grammemes or ()),
                name_native=row.name_native,
            )
            for row in rows
        ),
        meta.unmapped_errant if meta is not None else (),
    )


def load_items(
    session: Session, language: Language | None = None, ids: Sequence[str] | None = None
) -> list[Item]:
    """Items with their skills and topics, in a stable order. Disabled items are left out
    unless asked for by id."""
    query = select(ItemRow).order_by(ItemRow.id)
    if language is not None:
        query = query.where(ItemRow.language == str(language))
    if ids is not None:
        query = query.where(ItemRow.id.in_(list(ids)))
    else:
        query = query.where(ItemRow.disabled.is_(False))
    rows = session.scalars(query).all()
    wanted = [row.id for row in rows]
    skills: dict[str, list[tuple[int, str]]] = {i: [] for i in wanted}
    topics: dict[str, list[str]] = {i: [] for i in wanted}
    for link in session.scalars(select(ItemSkillRow).where(ItemSkillRow.item_id.in_(wanted))):
        skills[link.item_id].append((link.position, link.skill_id))
    for tlink in session.scalars(select(ItemTopicRow).where(ItemTopicRow.item_id.in_(wanted))):
        topics[tlink.item_id].append(tlink.topic_id)
    return [
        Item(
            id=row.id,
            language=Language(row.language),
            type=ItemType(row.type),
            text=row.text,
            answers=tuple(row.answers),
            skills=tuple(s for _, s in sorted(skills[row.id])),
            level=CEFRLevel(row.level),
            topics=tuple(sorted(topics[row.id])),
            distractors=tuple(row.distractors),
            explanation=row.explanation,
            hint=row.hint,
            correction=row.correction,
            provenance=Provenance(row.source, row.licence, row.record_id),
        )
        for row in rows
    ]


_CANDIDATE_CACHE: dict[tuple[str, str], tuple[tuple[object, ...], list[Item]]] = {}
_GRAPH_CACHE: dict[tuple[str, str], tuple[tuple[object, ...], SkillGraph]] = {}
_SET_CACHE: dict[tuple[str, str], tuple[list[Item], SkillGraph, CandidateSet]] = {}


def candidate_items(session: Session, language: Language) -> list[Item]:
    """The enabled items of a language, as `load_items` gives them, cached per database until
    an item is added, changed or disabled (every such write raises the content version)."""
    fingerprint = (content_version.current(session),)
    key = (_database_key(session), str(language))
    cached = _CANDIDATE_CACHE.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    items = load_items(session, language)
    _CANDIDATE_CACHE[key] = (fingerprint, items)
    return items


def cached_graph(session: Session, language: Language) -> SkillGraph:
    """`load_graph`, kept until the skills change. The fingerprint (counts and text lengths of
    a few dozen rows) is cheap next to building the graph, and it sees a `hyperlearn init` run
    by another process."""
    fingerprint = tuple(
        session.execute(
            select(
                func.count(SkillRow.id),
                func.sum(func.length(SkillRow.name) + func.length(SkillRow.explanation)),
                func.sum(func.length(SkillRow.level)),
                select(func.count())
                .select_from(SkillEdgeRow)
                .join(SkillRow, SkillRow.id == SkillEdgeRow.skill_id)
                .where(SkillRow.language == str(language))
                .scalar_subquery(),
            ).where(SkillRow.language == str(language))
        ).one()
    )
    key = (_database_key(session), str(language))
    cached = _GRAPH_CACHE.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    graph = load_graph(session, language)
    _GRAPH_CACHE[key] = (fingerprint, graph)
    return graph


def candidate_set(session: Session, language: Language) -> CandidateSet:
    """The enabled items as the policies' columnar `CandidateSet`, rebuilt only when the items
    or the skill graph change."""
    graph = cached_graph(session, language)
    items = candidate_items(session, language)
    key = (_database_key(session), str(language))
    cached = _SET_CACHE.get(key)
    if cached is not None and cached[0] is items and cached[1] is graph:
        return cached[2]
    built = CandidateSet(items, graph)
    _SET_CACHE[key] = (items, graph, built)
    return built


def _database_key(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string()


def load_topics(session: Session) -> list[Topic]:
    return [
        Topic(row.id, {"en": row.name_en, "ru": row.name_ru})
        for row in session.scalars(select(TopicRow).order_by(TopicRow.id))
    ]


def topic_names(session: Session, language: Language) -> dict[str, str]:
    """Topic id -> its name in the language (plain rows: read per request)."""
    column = TopicRow.name_ru if language is Language.RU else TopicRow.name_en
    return {topic_id: name for topic_id, name in session.execute(select(TopicRow.id, column))}


def learner_interests(session: Session, learner_id: str) -> list[str]:
    query = select(LearnerTopicRow.topic_id).where(LearnerTopicRow.learner_id == learner_id)
    return sorted(session.scalars(query))


def skill_states(
    session: Session, learner_id: str, skill_ids: Sequence[str] | None = None, lock: bool = False
) -> dict[str, SkillState]:
    query = select(LearnerSkillStateRow).where(LearnerSkillStateRow.learner_id == learner_id)
    if skill_ids is not None:
        query = query.where(LearnerSkillStateRow.skill_id.in_(list(skill_ids)))
    if lock:
        # Two answers from the same learner at once must not overwrite each other's update.
        query = query.with_for_update()
    return {
        row.skill_id: SkillState(
            row.skill_id,
            row.ability,
            row.attempts,
            row.correct,
            row.last_practised_at,
            # Rows from before migration 0005 have no BKT estimate: the success rate stands in.
            known=row.known if row.known is not None else 1.0 / (1.0 + math.exp(-row.ability)),
        )
        for row in session.scalars(query)
    }


def skill_counts_of_learners(
    session: Session, learner_ids: Sequence[str]
) -> dict[str, dict[str, tuple[float, int, int]]]:
    """(mastery, attempts, correct) of every practised skill of many learners in one query (a
    class heat map): plain columns, since a class of 100 has thousands of rows."""
    found: dict[str, dict[str, tuple[float, int, int]]] = {i: {} for i in learner_ids}
    if not learner_ids:
        return found
    query = select(
        LearnerSkillStateRow.learner_id,
        LearnerSkillStateRow.skill_id,
        LearnerSkillStateRow.ability,
        LearnerSkillStateRow.attempts,
        LearnerSkillStateRow.correct,
    ).where(LearnerSkillStateRow.learner_id.in_(list(learner_ids)))
    for learner_id, skill_id, ability, attempts, correct in session.execute(query):
        found[learner_id][skill_id] = (sigmoid(ability), attempts, correct)  # SkillState.mastery
    return found


def save_skill_states(session: Session, learner_id: str, states: Iterable[SkillState]) -> None:
    for state in states:
        row = session.get(LearnerSkillStateRow, (learner_id, state.skill_id))
        if row is None:
            row = LearnerSkillStateRow(learner_id=learner_id, skill_id=state.skill_id)
            session.add(row)
        row.ability = state.ability
        row.attempts = state.attempts
        row.correct = state.correct
        row.last_practised_at = state.last_practised
        row.known = state.known


def recent_item_ids(session: Session, learner_id: str, limit: int) -> list[str]:
    """The learner's last `limit` answered item ids, oldest first."""
    return [item_id for item_id, _ in recent_outcomes(session, learner_id, limit)]


def recent_outcomes(session: Session, learner_id: str, limit: int) -> list[tuple[str, bool]]:
    """(item id, answered correctly) of the learner's last `limit` answers, oldest first."""
    query = (
        select(AttemptRow.item_id, AttemptRow.correct)
        .where(AttemptRow.learner_id == learner_id)
        .order_by(AttemptRow.id.desc())
        .limit(limit)
    )
    return [(item_id, bool(correct)) for item_id, correct in reversed(session.execute(query).all())]


def get_learner(session: Session, learner_id: str) -> LearnerRow | None:
    return session.get(LearnerRow, learner_id)


def withheld_item_ids(session: Session) -> frozenset[str]:
    """Items with an open report: nobody is shown them until a teacher has looked."""
    query = select(ItemReportRow.item_id).where(ItemReportRow.status == "open").distinct()
    return frozenset(session.scalars(query))


def add_event(session: Session, learner_id: str, item_id: str, kind: str, now: datetime) -> None:
    session.add(
        LearnerItemEventRow(learner_id=learner_id, item_id=item_id, kind=kind, created_at=now)
    )


def engagement_events(
    session: Session, learner_id: str, limit: int
) -> list[tuple[str, tuple[str, ...], datetime]]:
    """(kind, topics of the item, when) of the learner's last `limit` events, oldest first."""
    latest = (
        select(LearnerItemEventRow.id)
        .where(LearnerItemEventRow.learner_id == learner_id)
        .order_by(LearnerItemEventRow.id.desc())
        .limit(limit)
        .scalar_subquery()
    )
    query = (
        select(
            LearnerItemEventRow.id,
            LearnerItemEventRow.kind,
            LearnerItemEventRow.created_at,
            ItemTopicRow.topic_id,
        )
        .outerjoin(ItemTopicRow, ItemTopicRow.item_id == LearnerItemEventRow.item_id)
        .where(LearnerItemEventRow.id.in_(latest))
    )
    return _grouped(session.execute(query).all())


def recent_answers(
    session: Session, learner_id: str, limit: int
) -> list[tuple[str, tuple[str, ...], datetime]]:
    """(item id, its topics, when) of the learner's last `limit` answers, oldest first."""
    latest = (
        select(AttemptRow.id)
        .where(AttemptRow.learner_id == learner_id)
        .order_by(AttemptRow.id.desc())
        .limit(limit)
        .scalar_subquery()
    )
    query = (
        select(AttemptRow.id, AttemptRow.item_id, AttemptRow.answered_at, ItemTopicRow.topic_id)
        .outerjoin(ItemTopicRow, ItemTopicRow.item_id == AttemptRow.item_id)
        .where(AttemptRow.id.in_(latest))
    )
    return _grouped(session.execute(query).all())


def _grouped(rows: Sequence[Any]) -> list[tuple[str, tuple[str, ...], datetime]]:
    """(id, label, when, topic) rows, one per topic, as (label, topics, when) by id order."""
    found: dict[int, tuple[str, list[str], datetime]] = {}
    for row_id, label, when, topic in rows:
        entry = found.setdefault(row_id, (label, [], when))
        if topic is not None:
            entry[1].append(topic)
    return [
        (label, tuple(sorted(topics)), when) for _, (label, topics, when) in sorted(found.items())
    ]
