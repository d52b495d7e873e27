"""Data portability: a learner's data as JSON and CSV, account deletion, class results as CSV,
and items as an Anki deck.

Deletion walks the foreign keys that point at `learners` (and, recursively, at the tables that
do) and honours each key's ON DELETE rule: a cascading table loses the learner's rows, a SET NULL
table (item reports, pasted reading texts) keeps its rows without the learner link. Walking the
metadata instead of listing tables means a table added later is covered without touching this.
A learner-role login (users row) belongs to the account and is deleted with it.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, update
from sqlalchemy.orm import Session

from hyperlearn.core import CEFRLevel, Item, ItemType, Language, require_utc
from hyperlearn.service import practice, recommend
from hyperlearn.service.errors import InvalidInput, NotFound
from hyperlearn.store import repository
from hyperlearn.store.models import (
    ApiTokenRow,
    AttemptRow,
    Base,
    ClassMemberRow,
    ClassRow,
    ItemReportRow,
    ItemReviewStateRow,
    ItemSkillRow,
    LearnerItemEventRow,
    LearnerKTStateRow,
    LearnerMemoryParamsRow,
    LearnerRow,
    LearnerSkillStateRow,
    ReadingTextRow,
    UserRow,
)

EXPORT_FORMAT = "hyperlearn-learner-export"
EXPORT_VERSION = 1
ATTEMPT_COLUMNS = (
    "attempt_id",
    "item_id",
    "skills",
    "answer",
    "correct",
    "answered_at",
    "latency_ms",
    "idempotency_key",
)
RESULT_COLUMNS = (
    "learner_id",
    "learner_name",
    "language",
    "level",
    "skill_id",
    "skill_name",
    "skill_level",
    "mastery",
    "attempts",
    "correct",
    "unlocked",
)
MAX_CLASS_LEARNERS = 1000


# -- a learner's own data --------------------------------------------------------------------


def export_learner(session: Session, learner_id: str, now: datetime) -> dict[str, Any]:
    """Everything stored about one learner, as JSON-ready data (datetimes in ISO 8601 UTC)."""
    require_utc(now)
    row = _learner(session, learner_id)
    found = recommend.settings(session, learner_id)
    skills_of = _skills_of(session, _attempt_item_ids(session, learner_id))
    memory = session.get(LearnerMemoryParamsRow, learner_id)
    kt = session.get(LearnerKTStateRow, learner_id)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": now.isoformat(),
        "learner": {
            "id": row.id,
            "name": row.name,
            "language": row.language,
            "level": row.level,
            "created_at": row.created_at.isoformat(),
        },
        "account": _account(session, learner_id),
        "interests": {
            "topics": repository.learner_interests(session, learner_id),
            "text": row.interests_text,
        },
        "settings": {
            "policy": found.policy,
            "band_low": found.band[0],
            "band_high": found.band[1],
            "goal_level": str(found.goal_level),
            "desired_retention": found.desired_retention,
        },
        "attempts": [
            {
                "id": a.id,
                "item_id": a.item_id,
                "skills": skills_of.get(a.item_id, []),
                "answer": a.answer,
                "correct": a.correct,
                "answered_at": a.answered_at.isoformat(),
                "latency_ms": a.latency_ms,
                "idempotency_key": a.idempotency_key,
            }
            for a in _attempt_rows(session, learner_id)
        ],
        "skill_states": [
            {
                "skill_id": s.skill_id,
                "ability": s.ability,
                "known": s.known,
                "attempts": s.attempts,
                "correct": s.correct,
                "last_practised_at": _iso(s.last_practised_at),
            }
            for s in session.scalars(
                select(LearnerSkillStateRow)
                .where(LearnerSkillStateRow.learner_id == learner_id)
                .order_by(LearnerSkillStateRow.skill_id)
            )
        ],
        "review_states": [
            {
                "item_id": r.item_id,
                "stability": r.stability,
                "difficulty": r.difficulty,
                "state": r.state,
                "step": r.step,
                "due": r.due.isoformat(),
                "last_review": r.last_review.isoformat(),
                "reps": r.reps,
                "lapses": r.lapses,
            }
            for r in session.scalars(
                select(ItemReviewStateRow)
                .where(ItemReviewStateRow.learner_id == learner_id)
                .order_by(ItemReviewStateRow.item_id)
            )
        ],
        "memory_parameters": None
        if memory is None
        else {
            "parameters": list(memory.parameters),
            "desired_retention": memory.desired_retention,
            "fitted_at": _iso(memory.fitted_at),
            "n_reviews": memory.n_reviews,
        },
        "knowledge_tracing_state": None
        if kt is None
        else {"model_id": kt.model_id, "state": kt.state, "updated_at": kt.updated_at.isoformat()},
        "events": [
            {"item_id": e.item_id, "kind": e.kind, "created_at": e.created_at.isoformat()}
            for e in session.scalars(
                select(LearnerItemEventRow)
                .where(LearnerItemEventRow.learner_id == learner_id)
                .order_by(LearnerItemEventRow.id)
            )
        ],
        "reports": [
            {
                "id": r.id,
                "item_id": r.item_id,
                "reason": r.reason,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
                "resolved_at": _iso(r.resolved_at),
            }
            for r in session.scalars(
                select(ItemReportRow)
                .where(ItemReportRow.learner_id == learner_id)
                .order_by(ItemReportRow.id)
            )
        ],
        "classes": [
            {
                "class_id": row.id,
                "name": row.name,
                "language": row.language,
                "joined_at": joined.isoformat(),
            }
            for row, joined in session.execute(
                select(ClassRow, ClassMemberRow.joined_at)
                .join(ClassMemberRow, ClassMemberRow.class_id == ClassRow.id)
                .where(ClassMemberRow.learner_id == learner_id)
                .order_by(ClassMemberRow.joined_at, ClassRow.id)
            )
        ],
        "reading_texts": [
            {
                "id": t.id,
                "title": t.title,
                "language": t.language,
                "body": t.body,
                "created_at": t.created_at.isoformat(),
            }
            for t in session.scalars(
                select(ReadingTextRow)
                .where(ReadingTextRow.created_by == learner_id)
                .order_by(ReadingTextRow.created_at, ReadingTextRow.id)
            )
        ],
    }


def _account(session: Session, learner_id: str) -> dict[str, Any] | None:
    """The login that practises as this learner, without its password hash, and its API
    tokens' names (their secrets are never stored)."""
    user = session.scalar(select(UserRow).where(UserRow.learner_id == learner_id))
    if user is None:
        return None
    tokens = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.user_id == user.id).order_by(ApiTokenRow.id)
    )
    return {
        "username": user.username,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at.isoformat(),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in tokens
        ],
    }


def attempts_csv(session: Session, learner_id: str) -> str:
    """The learner's attempts, oldest first, one row each (columns: ATTEMPT_COLUMNS)."""
    _learner(session, learner_id)
    skills_of = _skills_of(session, _attempt_item_ids(session, learner_id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ATTEMPT_COLUMNS)
    for a in _attempt_rows(session, learner_id):
        writer.writerow(
            [
                a.id,
                a.item_id,
                ";".join(skills_of.get(a.item_id, [])),
                _csv_safe(a.answer),
                int(a.correct),
                a.answered_at.isoformat(),
                "" if a.latency_ms is None else a.latency_ms,
                _csv_safe(a.idempotency_key),
            ]
        )
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Deletion:
    """What deleting a learner did: rows deleted and rows unlinked (SET NULL), per table."""

    learner_id: str
    deleted: dict[str, int]
    unlinked: dict[str, int]


def delete_learner(session: Session, learner_id: str) -> Deletion:
    """Delete the learner and every row that belongs to them, in one transaction, the texts
    they pasted included (private to them: unlinked, they would become everyone's). Rows that
    others still need (a report that withholds an item) lose the learner link."""
    _learner(session, learner_id)
    learners = LearnerRow.__table__
    assert isinstance(learners, Table)
    deleted: dict[str, int] = {}
    unlinked: dict[str, int] = {}
    try:
        # A learner-role login exists only to practise as this learner: it is part of the
        # account and goes too (with its sessions and tokens). A teacher's or admin's login
        # stays, unlinked by the SET NULL rule of users.learner_id.
        users = UserRow.__table__
        assert isinstance(users, Table)
        own_login = (users.c.learner_id == learner_id) & (users.c.role == "learner")
        _purge(session, users, own_login, deleted, unlinked, ())
        texts = ReadingTextRow.__table__
        assert isinstance(texts, Table)
        _purge(session, texts, texts.c.created_by == learner_id, deleted, unlinked, ())
        _purge(session, learners, learners.c.id == learner_id, deleted, unlinked, ())
        session.commit()
    except Exception:
        session.rollback()
        raise
    return Deletion(
        learner_id,
        {k: v for k, v in deleted.items() if v},
        {k: v for k, v in unlinked.items() if v},
    )


def _purge(
    session: Session,
    table: Table,
    condition: ColumnElement[bool],
    deleted: dict[str, int],
    unlinked: dict[str, int],
    path: tuple[str, ...],
) -> None:
    """Delete the rows of `table` matching `condition` after handling the rows that point at
    them: children first, as the database would for ON DELETE, so that it works the same
    whether or not the engine enforces foreign keys."""
    for child in Base.metadata.sorted_tables:
        if child.name in path or child is table:
            continue  # no cycles in this schema; guard anyway
        for fk in child.foreign_keys:
            if fk.column.table is not table:
                continue
            child_condition = fk.parent.in_(select(fk.column).where(condition))
            if (fk.ondelete or "").upper() == "SET NULL":
                result = session.execute(
                    update(child).where(child_condition).values({fk.parent.name: None})
                )
                unlinked[child.name] = unlinked.get(child.name, 0) + _rowcount(result)
            else:
                _purge(session, child, child_condition, deleted, unlinked, (*path, table.name))
    result = session.execute(delete(table).where(condition))
    deleted[table.name] = deleted.get(table.name, 0) + _rowcount(result)


def _rowcount(result: Any) -> int:
    count = getattr(result, "rowcount", 0)
    return int(count) if isinstance(count, int) and count > 0 else 0


# -- a teacher's class -----------------------------------------------------------------------


def export_results_csv(session: Session, learner_ids: Sequence[str], now: datetime) -> str:
    """Class results: one row per learner and skill of the learner's language, in curriculum
    order (columns: RESULT_COLUMNS), mastery as the progress page shows it. Long format, so a
    spreadsheet pivot gives the skills-by-learner table."""
    require_utc(now)
    ids = list(dict.fromkeys(learner_ids))
    if len(ids) > MAX_CLASS_LEARNERS:
        raise InvalidInput(f"at most {MAX_CLASS_LEARNERS} learners per export")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for learner_id in ids:
        learner = practice.get_learner(session, learner_id)
        for p in practice.progress(session, learner_id, now):
            writer.writerow(
                [
                    learner.id,
                    _csv_safe(learner.name),
                    str(learner.language),
                    str(learner.level),
                    p.skill_id,
                    p.name,
                    str(p.level),
                    f"{p.mastery:.4f}",
                    p.attempts,
                    p.correct,
                    int(p.unlocked),
                ]
            )
    return out.getvalue()


# -- Anki ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnkiReport:
    path: Path
    deck_id: int
    deck_name: str
    notes: int
    per_skill: dict[str, int]


ANKI_MODEL_NAME = "HyperLearn exercise (v1)"
# Anki matches decks and note types by id: the same ids on every export let a re-import update
# the cards instead of duplicating them. Both are 31-bit values from a hash, as genanki advises.
ANKI_MODEL_ID = int(hashlib.sha256(ANKI_MODEL_NAME.encode()).hexdigest()[:8], 16) >> 1
ANKI_FIELDS = ("Exercise", "Answer", "Rule", "Source", "ItemId")
_ANKI_CSS = (
    ".card { font-family: sans-serif; font-size: 20px; text-align: left; }\n"
    ".hint { color: #555; } .rule, .source { font-size: 15px; color: #333; }\n"
)


def anki_deck_id(language: Language, skill_ids: Iterable[str]) -> int:
    """A stable deck id for a language and a set of skills (order and repeats do not matter)."""
    key = f"{language}:{','.join(sorted(set(skill_ids)))}"
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) >> 1


def export_anki(
    session: Session,
    language: str,
    skill_ids: Sequence[str],
    out: Path,
    *,
    level: str | None = None,
) -> AnkiReport:
    """An Anki deck (.apkg) with one note per enabled, unreported item of the skills: the
    exercise on the front; the answer, the rule and the source and licence on the back."""
    import genanki

    try:
        lang = Language(language)
    except ValueError:
        raise InvalidInput(f"unknown language {language!r}") from None
    max_level = _level(level)
    graph = repository.load_graph(session, lang)
    wanted = list(dict.fromkeys(skill_ids))
    if not wanted:
        raise InvalidInput("name at least one skill")
    unknown = [s for s in wanted if s not in graph.skills]
    if unknown:
        raise NotFound(f"no {lang} skills {', '.join(unknown)}")
    withheld = repository.withheld_item_ids(session)
    items = [
        item
        for item in repository.load_items(session, lang)
        if item.primary_skill in wanted
        and item.id not in withheld
        and (max_level is None or item.level.rank <= max_level.rank)
    ]
    model = genanki.Model(
        ANKI_MODEL_ID,
        ANKI_MODEL_NAME,
        fields=[{"name": name} for name in ANKI_FIELDS],
        templates=[
            {
                "name": "Exercise",
                "qfmt": "{{Exercise}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}'
                '<div class="rule">{{Rule}}</div><div class="source">{{Source}}</div>',
            }
        ],
        css=_ANKI_CSS,
    )
    names = [graph[s].name for s in wanted]
    deck_name = f"HyperLearn {lang}: {', '.join(names)}"
    if len(deck_name) > 200:
        deck_name = f"HyperLearn {lang}: {len(wanted)} skills"
    deck_id = anki_deck_id(lang, wanted)
    deck = genanki.Deck(deck_id, deck_name)
    per_skill = dict.fromkeys(wanted, 0)
    for item in sorted(items, key=lambda i: (wanted.index(i.primary_skill), i.level.rank, i.id)):
        skill = graph[item.primary_skill]
        deck.add_note(
            genanki.Note(
                model=model,
                fields=[
                    _anki_front(item),
                    _anki_answer(item),
                    _anki_rule(skill.name, skill.explanation, skill.example),
                    _anki_source(item),
                    item.id,
                ],
                # The item id is content-derived, so the same exercise keeps the same card.
                guid=genanki.guid_for(item.id),
                tags=[item.primary_skill.replace(" ", "_"), str(item.level), str(item.type)],
            )
        )
        per_skill[item.primary_skill] += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(deck).write_to_file(str(out))
    return AnkiReport(out, deck_id, deck_name, sum(per_skill.values()), per_skill)


def _anki_front(item: Item) -> str:
    text = html.escape(item.text)
    parts = [text]
    if item.type is ItemType.CLOZE and item.hint:
        parts.append(f'<div class="hint">({html.escape(item.hint)})</div>')
    elif item.type is ItemType.CHOICE:
        options = " · ".join(html.escape(o) for o in item.options)
        parts.append(f'<div class="hint">{options}</div>')
    elif item.type is ItemType.CORRECTION:
        parts.insert(0, '<div class="hint">Find and correct the mistake:</div>')
    elif item.type is ItemType.JUDGEMENT:
        parts.insert(0, '<div class="hint">Correct or incorrect?</div>')
    return "".join(parts)


def _anki_answer(item: Item) -> str:
    answer = html.escape(" / ".join(item.answers))
    parts = [f"<b>{answer}</b>"]
    if item.correction:
        parts.append(f"<div>{html.escape(item.correction)}</div>")
    if item.explanation:
        parts.append(f"<div>{html.escape(item.explanation)}</div>")
    return "".join(parts)


def _anki_rule(name: str, explanation: str, example: str) -> str:
    rule = f"<b>{html.escape(name)}</b>: {html.escape(explanation)}"
    if example:
        rule += f"<br><i>{html.escape(example)}</i>"
    return rule


def _anki_source(item: Item) -> str:
    record = f", {item.provenance.record_id}" if item.provenance.record_id else ""
    return html.escape(f"{item.provenance.source}{record} ({item.provenance.licence})")


# -- helpers ---------------------------------------------------------------------------------


def _learner(session: Session, learner_id: str) -> LearnerRow:
    row = repository.get_learner(session, learner_id)
    if row is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    return row


def _level(level: str | None) -> CEFRLevel | None:
    if level is None:
        return None
    try:
        return CEFRLevel(level)
    except ValueError:
        raise InvalidInput(f"unknown level {level!r}") from None


def _attempt_rows(session: Session, learner_id: str) -> Sequence[AttemptRow]:
    return session.scalars(
        select(AttemptRow).where(AttemptRow.learner_id == learner_id).order_by(AttemptRow.id)
    ).all()


def _attempt_item_ids(session: Session, learner_id: str) -> list[str]:
    return list(
        session.scalars(
            select(AttemptRow.item_id).where(AttemptRow.learner_id == learner_id).distinct()
        )
    )


def _skills_of(session: Session, item_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for start in range(0, len(item_ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = item_ids[start : start + 500]
        for link in session.scalars(select(ItemSkillRow).where(ItemSkillRow.item_id.in_(chunk))):
            found.setdefault(link.item_id, []).append((link.position, link.skill_id))
    return {item_id: [s for _, s in sorted(links)] for item_id, links in found.items()}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _csv_safe(value: str) -> str:
    """Learner text opened in a spreadsheet must not run as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
