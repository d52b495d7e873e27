"""Reading practice use cases: add texts (import or paste), build their grounded questions, and
a reading session whose answers go through `practice.submit_answer`, so they feed the learner
model (the reading vocabulary and comprehension skills) and the memory model (each word and
question is scheduled for review) in the attempt's transaction.

Reading questions are stored as items with `disabled=True`: they need their text, so the
general practice loop must not offer them on their own. `submit_answer` grades disabled items
like any other (it loads items by id).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from hyperlearn.content.reading import grounding
from hyperlearn.content.reading.level import text_level
from hyperlearn.content.reading.questions import Limits, Question, generate
from hyperlearn.content.reading.texts import (
    ReadingText,
    Sentence,
    TextProblem,
    build_text,
    find_text_files,
    read_text_file,
)
from hyperlearn.core import CEFRLevel, ItemType, Language, require_utc
from hyperlearn.service import practice
from hyperlearn.service.errors import InvalidInput, NotFound
from hyperlearn.store import repository
from hyperlearn.store.models import ItemRow, ReadingQuestionRow, ReadingTextRow

DEFAULT_LIMITS = Limits()
NO_SENTENCES = "the text has no sentences questions can be built from"


@dataclass
class TextReport:
    """What adding one text did."""

    title: str
    text_id: str = ""
    level: str = ""
    label: str = ""
    sentences: int = 0
    questions: int = 0
    per_kind: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    added: bool = False  # False when the same text was stored before
    problem: str = ""  # why the text was refused, or why it has no questions

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "text_id": self.text_id,
            "level": self.level,
            "label": self.label,
            "sentences": self.sentences,
            "questions": self.questions,
            "per_kind": self.per_kind,
            "rejected": self.rejected,
            "added": self.added,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class TextSummary:
    id: str
    title: str
    language: Language
    level: str
    label: str
    questions: int
    source: str


@dataclass(frozen=True, slots=True)
class QuestionView:
    item_id: str
    kind: str
    type: ItemType
    prompt: str
    options: list[str]
    hint: str


@dataclass(frozen=True, slots=True)
class TextView:
    id: str
    title: str
    language: Language
    level: str
    label: str
    source: str
    licence: str
    paragraphs: list[str]
    questions: list[QuestionView]


def text_id(language: Language, body: str, owner: str | None = None) -> str:
    """Imported texts: a hash of language and body. A text pasted by a learner is theirs
    alone (other learners never see it), so the learner is part of its id."""
    key = f"{language}\n{body}" if owner is None else f"{language}\n{owner}\n{body}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{language}-t-{digest}"


def add_text(
    session: Session,
    raw: str,
    language: Language,
    *,
    now: datetime,
    title: str = "",
    source: str = "",
    licence: str = "",
    record_id: str = "",
    label: str = "",
    level: CEFRLevel | None = None,
    created_by: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> TextReport:
    """Check, split and store a text with its grounded questions (raises InvalidInput for
    input that cannot be a text). Commits."""
    require_utc(now)
    try:
        text = build_text(
            raw,
            language,
            title=title,
            source=source or "Pasted text",
            licence=licence or "unknown",
            record_id=record_id,
            label=label,
        )
    except TextProblem as exc:
        raise InvalidInput(str(exc)) from None
    report = TextReport(title=text.title, label=label, sentences=len(text.sentences))
    report.text_id = tid = text_id(language, text.body, created_by)
    estimated = level or text_level(text.sentences, language)
    report.level = str(estimated) if estimated else ""
    if session.get(ReadingTextRow, tid) is not None:
        report.questions = _question_count(session, tid)
        return report
    questions, rejected = grounded_questions(session, text, limits)
    report.rejected = dict(rejected)
    report.per_kind = dict(Counter(str(q.kind) for q in questions))
    report.questions = len(questions)
    if not text.usable_sentences:
        report.problem = NO_SENTENCES
    elif not questions:
        report.problem = "no question passed the grounding check"
    session.add(
        ReadingTextRow(
            id=tid,
            language=str(language),
            title=text.title,
            body=text.body,
            sentences=[[s.start, s.end, s.paragraph] for s in text.sentences],
            level=report.level or None,
            label=label,
            source=text.source,
            licence=text.licence,
            record_id=record_id,
            created_by=created_by,
            created_at=now,
        )
    )
    items = [q.item for q in questions]
    present = set(session.scalars(select(ItemRow.id).where(ItemRow.id.in_([i.id for i in items]))))
    repository.add_items(session, items, now)
    new_ids = [i.id for i in items if i.id not in present]
    if new_ids:
        session.execute(update(ItemRow).where(ItemRow.id.in_(new_ids)).values(disabled=True))
    session.add_all(
        ReadingQuestionRow(
            text_id=tid,
            item_id=q.item.id,
            position=n,
            kind=str(q.kind),
            prompt=q.prompt,
            answer=q.answer,
            answer_start=q.start,
            answer_end=q.end,
            sentence=q.sentence,
        )
        for n, q in enumerate(questions)
    )
    session.commit()
    report.added = True
    return report


def grounded_questions(
    session: Session, text: ReadingText, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[Question], Counter[str]]:
    """The text's questions that pass the grounding checker, and the rejections by reason."""
    graph = repository.load_graph(session, text.language)
    topics = {t.id: t for t in repository.load_topics(session)}
    kept: list[Question] = []
    rejected: Counter[str] = Counter()
    seen: set[str] = set()
    for question in generate(text, limits):
        reason = grounding.check(question, text, graph, topics)
        if reason is None and question.item.id in seen:
            reason = "same question twice"
        if reason is None:
            seen.add(question.item.id)
            kept.append(question)
        else:
            rejected[reason] += 1
    return kept, rejected


def import_texts(
    session: Session,
    paths: Sequence[Path],
    language: Language,
    *,
    now: datetime,
    level: CEFRLevel | None = None,
    source: str | None = None,
    licence: str | None = None,
) -> list[TextReport]:
    """Import plain-text/HTML files or the OneStopEnglish layout; a file that cannot be a text
    is reported with its reason and skipped."""
    reports = []
    for file in find_text_files(paths):
        onestop = bool(file.label)
        try:
            raw = read_text_file(file)
            report = add_text(
                session,
                raw,
                language,
                now=now,
                title=file.title,
                source=source or ("OneStopEnglish" if onestop else file.path.name),
                # The corpus states its licence; plain files have none unless given.
                licence=licence or ("CC BY-SA 4.0" if onestop else "unknown"),
                record_id=file.record_id,
                label=file.label,
                level=level,
            )
        except (TextProblem, InvalidInput, OSError) as exc:
            session.rollback()
            reason = exc.reason if isinstance(exc, InvalidInput) else str(exc)
            report = TextReport(title=file.title, label=file.label, problem=reason)
        reports.append(report)
    return reports


def list_texts(
    session: Session, language: Language, limit: int = 200, viewer: str | None = None
) -> list[TextSummary]:
    """Imported texts and those the learner `viewer` pasted (None: imported texts only)."""
    counts = dict(
        session.execute(
            select(ReadingQuestionRow.text_id, func.count()).group_by(ReadingQuestionRow.text_id)
        ).all()
    )
    rows = session.scalars(
        select(ReadingTextRow)
        .where(ReadingTextRow.language == str(language))
        .where(_visible_to(viewer))
        .order_by(ReadingTextRow.created_at.desc(), ReadingTextRow.title)
        .limit(limit)
    )
    return [
        TextSummary(
            r.id,
            r.title,
            Language(r.language),
            r.level or "",
            r.label,
            counts.get(r.id, 0),
            r.source,
        )
        for r in rows
    ]


def get_text(
    session: Session, tid: str, rng: random.Random | None = None, viewer: str | None = None
) -> TextView:
    """A text with its questions, if `viewer` may read it: imported texts are for everyone,
    a pasted text only for the learner who pasted it (anyone else gets NotFound)."""
    row = session.get(ReadingTextRow, tid)
    if row is None or row.created_by not in (None, viewer):
        raise NotFound(f"no text with id {tid!r}")
    questions = session.scalars(
        select(ReadingQuestionRow)
        .where(ReadingQuestionRow.text_id == tid)
        .order_by(ReadingQuestionRow.position)
    ).all()
    items = {i.id: i for i in repository.load_items(session, ids=[q.item_id for q in questions])}
    views = []
    for q in questions:
        item = items[q.item_id]
        options = list(item.options)
        if item.type is ItemType.CHOICE and rng is not None:
            rng.shuffle(options)
        views.append(QuestionView(q.item_id, q.kind, item.type, q.prompt, options, item.hint))
    paragraphs = row.body.split("\n\n")
    return TextView(
        id=row.id,
        title=row.title,
        language=Language(row.language),
        level=row.level or "",
        label=row.label,
        source=row.source,
        licence=row.licence,
        paragraphs=paragraphs,
        questions=views,
    )


def answer(
    session: Session,
    learner_id: str,
    tid: str,
    *,
    item_id: str,
    answer: str,
    idempotency_key: str,
    now: datetime,
) -> practice.FeedbackView:
    """Grade one answer of a reading session: the item must be a question of this text, and
    the text one the learner may read."""
    text = session.get(ReadingTextRow, tid)
    if text is None or text.created_by not in (None, learner_id):
        raise NotFound(f"no text with id {tid!r}")
    if session.get(ReadingQuestionRow, (tid, item_id)) is None:
        raise NotFound(f"text {tid!r} has no question {item_id!r}")
    return practice.submit_answer(
        session,
        learner_id,
        item_id=item_id,
        answer=answer,
        idempotency_key=idempotency_key,
        now=now,
    )


def _visible_to(viewer: str | None) -> ColumnElement[bool]:
    if viewer is None:
        return ReadingTextRow.created_by.is_(None)
    return or_(ReadingTextRow.created_by.is_(None), ReadingTextRow.created_by == viewer)


def _question_count(session: Session, tid: str) -> int:
    query = select(func.count()).where(ReadingQuestionRow.text_id == tid)
    return int(session.scalar(query) or 0)


def stored_text(session: Session, tid: str) -> ReadingText:
    """A stored text rebuilt as a ReadingText (offsets as stored)."""
    row = session.get(ReadingTextRow, tid)
    if row is None:
        raise NotFound(f"no text with id {tid!r}")
    sentences = tuple(
        Sentence(n, p, a, b, row.body[a:b]) for n, (a, b, p) in enumerate(row.sentences)
    )
    starts = [0]
    for part in row.body.split("\n\n")[:-1]:
        starts.append(starts[-1] + len(part) + 2)
    spans = tuple(
        (s, s + len(part)) for s, part in zip(starts, row.body.split("\n\n"), strict=True)
    )
    return ReadingText(
        row.title,
        Language(row.language),
        row.body,
        spans,
        sentences,
        row.source,
        row.licence,
        row.record_id,
        row.label,
    )
