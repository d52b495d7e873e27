"""Reading practice use cases: add texts (import or paste), build their grounded questions, and
a reading session whose answers go through `practice.submit_answer`, so they feed the learner
model (the reading vocabulary and comprehension skills) and the memory model (each word and
question is scheduled for review) in the attempt's transaction.

Reading questions are stored as items with `disabled=True`: they need their text, so the
general practice loop must not offer them on their own. `submit_answer` grades disabled items
like any other (it loads items by id).

Looking a word up (the gloss on tap) is a signal too: the learner did not know the word. It is
stored as a failed attempt at a word card (the word's sentence with the word gapped and its
lemma given, also a disabled item), so the memory model schedules the word for review soon and
the learner model counts it against reading vocabulary, and both stay what replaying the
attempt log gives.

Who reads what: imported texts are for everyone; a text a learner pasted is theirs alone; a
text a teacher pasted is for the learners of the classes the teacher assigned it to. Teachers
assign texts to their classes; the class's learners see them first on their reading list.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from hyperlearn.content.bank import check_item
from hyperlearn.content.reading import gloss as glosses
from hyperlearn.content.reading import grounding, words
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
from hyperlearn.core import (
    GAP,
    CEFRLevel,
    Item,
    ItemType,
    Language,
    Provenance,
    normalize,
    require_utc,
)
from hyperlearn.core.memory import MemoryModel
from hyperlearn.llm.backend import LLMBackend
from hyperlearn.llm.reading import LLMQuestionWriter, is_model_written
from hyperlearn.service import classes, practice
from hyperlearn.service import memory as memory_service
from hyperlearn.service.accounts import UserView
from hyperlearn.service.errors import N_, InvalidInput, NotFound
from hyperlearn.settings import Settings
from hyperlearn.store import memory_repo, repository
from hyperlearn.store.models import (
    AttemptRow,
    ClassMemberRow,
    ItemRow,
    ReadingAssignmentRow,
    ReadingQuestionRow,
    ReadingTextRow,
)

DEFAULT_LIMITS = Limits()
# Shown on the reading page (translated there).
NO_SENTENCES = N_("the text has no sentences questions can be built from")


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
    # With llm_reading_questions: the model's questions kept (also counted in `questions`),
    # its proposals rejected by reason, and why a call gave nothing (an LLMError reason).
    model_asked: bool = False
    model_questions: int = 0
    model_rejected: dict[str, int] = field(default_factory=dict)
    model_failure: str = ""

    def to_json(self) -> dict[str, object]:
        found: dict[str, object] = {
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
        if self.model_asked:
            found["model_questions"] = self.model_questions
            found["model_rejected"] = self.model_rejected
            found["model_failure"] = self.model_failure
        return found


@dataclass(frozen=True, slots=True)
class TextSummary:
    id: str
    title: str
    language: Language
    level: str
    label: str
    questions: int
    source: str
    assigned: bool = False  # assigned to one of the learner's classes by its teacher


@dataclass(frozen=True, slots=True)
class QuestionView:
    item_id: str
    kind: str
    type: ItemType
    prompt: str
    options: list[str]
    hint: str
    # Written by a language model; its answer was checked against the text (the page says so).
    model_written: bool = False


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
    # Each paragraph as runs of text, the marked words (at or above the reader's level) with
    # their Mark: the words a learner can tap for a gloss. Empty when no level was given.
    segments: list[list[tuple[str, glosses.Mark | None]]] = field(default_factory=list)
    gloss: glosses.Gloss | None = None  # the gloss asked for, if any
    gloss_marked: bool = False  # whether that word is one of the marked ones


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
    owner_id: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    settings: Settings | None = None,
    llm: LLMBackend | None = None,
) -> TextReport:
    """Check, split and store a text with its grounded questions (raises InvalidInput for
    input that cannot be a text). Commits. `created_by`: the learner who pasted it (theirs
    alone); `owner_id`: the teacher who pasted it (for the classes they assign it to).
    With the caller's `settings` (the app's, the command's; None: no model) asking for
    `llm_reading_questions` and a backend, the model's questions that pass the grounding
    checker are stored too; `llm` replaces the settings' backend. A model that fails leaves
    the deterministic questions."""
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
    owner = created_by if owner_id is None else f"user:{owner_id}"
    report.text_id = tid = text_id(language, text.body, owner)
    estimated = level or text_level(text.sentences, language)
    report.level = str(estimated) if estimated else ""
    if session.get(ReadingTextRow, tid) is not None:
        report.questions = _question_count(session, tid)
        return report
    questions, rejected = grounded_questions(session, text, limits)
    writer = _question_writer(settings, llm) if settings is not None else None
    if writer is not None and text.usable_sentences:
        written = writer.write_text(
            text,
            questions,
            repository.load_graph(session, language),
            {t.id: t for t in repository.load_topics(session)},
        )
        questions += written.questions
        report.model_asked = True
        report.model_questions = len(written.questions)
        report.model_rejected = dict(written.rejected)
        report.model_failure = written.failure or ""
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
            owner_id=owner_id,
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


def _question_writer(settings: Settings, llm: LLMBackend | None) -> LLMQuestionWriter | None:
    """The model's question writer when the settings ask for one, else None (no model is
    built or called)."""
    if not settings.llm_reading_questions or settings.llm_backend == "none":
        return None
    if llm is None:
        from hyperlearn.llm.factory import shared_backend

        try:
            llm = shared_backend(settings)
        except ValueError as error:  # misconfigured: the deterministic questions stay
            logging.getLogger(__name__).error("reading questions without a model: %s", error)
            return None
    return LLMQuestionWriter(llm)


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
    settings: Settings | None = None,
) -> list[TextReport]:
    """Import plain-text/HTML files or the OneStopEnglish layout; a file that cannot be a text
    is reported with its reason and skipped. `settings`: as for add_text."""
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
                settings=settings,
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
    """Imported texts, those the learner `viewer` pasted and those assigned to their classes
    (None: imported texts only); the assigned ones first."""
    assigned = _assigned_ids(session, viewer)
    order = [ReadingTextRow.created_at.desc(), ReadingTextRow.title]
    if assigned:
        order.insert(0, ReadingTextRow.id.in_(assigned).desc())
    rows = session.scalars(
        select(ReadingTextRow)
        .where(ReadingTextRow.language == str(language))
        .where(_visible_to(viewer))
        .order_by(*order)
        .limit(limit)
    )
    return _summaries(session, list(rows), assigned)


def _summaries(
    session: Session, rows: Sequence[ReadingTextRow], assigned: Sequence[str] = ()
) -> list[TextSummary]:
    ids = [r.id for r in rows]
    counts = dict(
        session.execute(
            select(ReadingQuestionRow.text_id, func.count())
            .where(ReadingQuestionRow.text_id.in_(ids))
            .group_by(ReadingQuestionRow.text_id)
        ).all()
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
            r.id in assigned,
        )
        for r in rows
    ]


def get_text(
    session: Session,
    tid: str,
    rng: random.Random | None = None,
    viewer: str | None = None,
    *,
    level: CEFRLevel | None = None,
    gloss_at: int | None = None,
) -> TextView:
    """A text with its questions, if `viewer` may read it (anyone else gets NotFound). With
    `level`, the words at or above it are marked for glosses; with `gloss_at`, the gloss of
    the word starting at that offset is included (nothing when no word starts there)."""
    row = _readable(session, tid, viewer)
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
        views.append(
            QuestionView(
                q.item_id, q.kind, item.type, q.prompt, options, item.hint, is_model_written(item)
            )
        )
    paragraphs = row.body.split("\n\n")
    segments: list[list[tuple[str, glosses.Mark | None]]] = []
    gloss = None
    marks: list[glosses.Mark] = []
    if level is not None or gloss_at is not None:
        text = stored_text(session, tid)
        if level is not None:
            marks = glosses.marks(text, level)
            segments = glosses.marked_segments(text.body, text.paragraphs, marks)
        if gloss_at is not None:
            gloss = glosses.gloss(text, gloss_at)
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
        segments=segments,
        gloss=gloss,
        gloss_marked=gloss is not None and any(m.start == gloss.start for m in marks),
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
    _readable(session, tid, learner_id)
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
    public = and_(ReadingTextRow.created_by.is_(None), ReadingTextRow.owner_id.is_(None))
    if viewer is None:
        return public
    return or_(
        public,
        ReadingTextRow.created_by == viewer,
        ReadingTextRow.id.in_(_assigned_query(viewer)),
    )


def _assigned_query(learner_id: str) -> Select[str]:
    return (
        select(ReadingAssignmentRow.text_id)
        .join(ClassMemberRow, ClassMemberRow.class_id == ReadingAssignmentRow.class_id)
        .where(ClassMemberRow.learner_id == learner_id)
    )


def _assigned_ids(session: Session, learner_id: str | None) -> list[str]:
    if learner_id is None:
        return []
    return list(dict.fromkeys(session.scalars(_assigned_query(learner_id))))


def _readable(session: Session, tid: str, viewer: str | None) -> ReadingTextRow:
    """The text, if `viewer` (a learner id, or None) may read it; else NotFound, so that
    nobody can tell that someone else's text exists."""
    row = session.get(ReadingTextRow, tid)
    if row is None:
        raise NotFound(f"no text with id {tid!r}")
    public = row.created_by is None and row.owner_id is None
    if public or (viewer is not None and row.created_by == viewer):
        return row
    if viewer is not None and tid in _assigned_ids(session, viewer):
        return row
    raise NotFound(f"no text with id {tid!r}")


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


# -- glosses: looking a word up ---------------------------------------------------------------

LOOKUP_ANSWER = ""  # a looked-up word counts as not recalled: no answer was given
WORD_CARD_MARK = "#lookup"  # ends the provenance record id of every word card


def look_up(
    session: Session,
    learner_id: str,
    tid: str,
    *,
    offset: int,
    idempotency_key: str,
    now: datetime,
) -> glosses.Gloss:
    """The gloss of the word at `offset` of the text, recorded as a failed attempt at the
    word's card (once per idempotency key), so that the word comes up for review."""
    require_utc(now)
    _readable(session, tid, learner_id)
    text = stored_text(session, tid)
    found = glosses.gloss(text, offset)
    if found is None:
        raise InvalidInput("there is no word to look up at this place of the text")
    card = word_card(text, found)
    problem = _word_card_problem(session, card, text, found)
    if problem:
        # Never expected (the card is built from the word itself); the gloss is still shown.
        raise InvalidInput(f"the word card for {found.word!r} failed its check: {problem}")
    if session.get(ItemRow, card.id) is None:
        repository.add_items(session, [card], now)
        session.execute(update(ItemRow).where(ItemRow.id == card.id).values(disabled=True))
        session.commit()
    practice.submit_answer(
        session,
        learner_id,
        item_id=card.id,
        answer=LOOKUP_ANSWER,
        idempotency_key=idempotency_key,
        now=now,
    )
    return found


def word_card(text: ReadingText, found: glosses.Gloss) -> Item:
    """The word's card: its sentence with the word gapped and the lemma after the gap. (The
    lemma in the text keeps it apart from the text's own vocabulary question, whose id would
    otherwise be the same, so looking a word up never counts as answering that question.)"""
    sentence = next(s for s in text.sentences if s.start <= found.start < s.end)
    a, b = found.start - sentence.start, found.end - sentence.start
    record = text.record_id or text.title
    return Item.create(
        language=text.language,
        type=ItemType.CLOZE,
        text=f"{sentence.text[:a]}{GAP} ({found.lemma}){sentence.text[b:]}",
        answers=(found.word,),
        skills=(f"{text.language}.reading_vocabulary",),
        level=found.level,
        hint=found.lemma,
        explanation=f"You looked this word up: {found.summary()}. The text says: “{sentence.text}”",
        provenance=Provenance(
            text.source or "Reading text",
            text.licence or "unknown",
            f"{record}#s{sentence.index}"[:190] + WORD_CARD_MARK,
        ),
    )


@dataclass(frozen=True, slots=True)
class WordToReview:
    item_id: str
    word: str  # as the text wrote it
    lemma: str
    due: datetime
    retrievability: float


def words_to_review(
    session: Session, learner_id: str, now: datetime, limit: int = 20
) -> list[WordToReview]:
    """The learner's looked-up words that the memory model says are due, most urgent first.
    (Word cards are disabled items, which the general due list leaves out.)"""
    require_utc(now)
    states = memory_repo.review_states(session, learner_id, include_disabled=True)
    cards = {
        row.id: row
        for row in session.scalars(
            select(ItemRow)
            .where(ItemRow.id.in_(list(states)))
            .where(ItemRow.record_id.endswith(WORD_CARD_MARK))
        )
    }
    model = MemoryModel(memory_service.memory_params(session, learner_id))
    due = model.due({k: v for k, v in states.items() if k in cards}, now, limit)
    return [
        WordToReview(
            d.item_id, cards[d.item_id].answers[0], cards[d.item_id].hint, d.due, d.retrievability
        )
        for d in due
    ]


def _word_card_problem(
    session: Session, card: Item, text: ReadingText, found: glosses.Gloss
) -> str | None:
    sentence = next(s for s in text.sentences if s.start <= found.start < s.end)
    restored = card.text.replace(f"{GAP} ({found.lemma})", found.word)
    if normalize(restored, text.language) != normalize(sentence.text, text.language):
        return "the word does not restore its sentence"
    if not words.is_form_of(found.word, found.lemma, text.language):
        return "the word is not a form of its lemma"
    graph = repository.load_graph(session, text.language)
    problems = check_item(card, graph, {}, require_topics=False)
    return problems[0] if problems else None


# -- teachers assign texts to classes ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LearnerReading:
    """How one learner of the class did on an assigned text (first answer per question)."""

    learner_id: str
    name: str
    answered: int
    correct: int
    questions: int

    @property
    def read(self) -> bool:
        return self.answered > 0

    @property
    def score(self) -> float | None:
        return self.correct / self.questions if self.questions else None


@dataclass(frozen=True, slots=True)
class AssignmentView:
    text: TextSummary
    assigned_at: datetime
    learners: list[LearnerReading]


@dataclass(frozen=True, slots=True)
class ClassReading:
    assignments: list[AssignmentView]
    choices: list[TextSummary]  # texts the teacher may assign: imported ones and their own


def class_reading(session: Session, user: UserView, class_id: str) -> ClassReading:
    """The class's assigned texts with each learner's result, and the texts to choose from."""
    klass = classes.get_class(session, user, class_id)
    members = classes.members(session, user, class_id)
    rows = session.execute(
        select(ReadingTextRow, ReadingAssignmentRow.assigned_at)
        .join(ReadingAssignmentRow, ReadingAssignmentRow.text_id == ReadingTextRow.id)
        .where(ReadingAssignmentRow.class_id == class_id)
        .order_by(ReadingAssignmentRow.assigned_at.desc(), ReadingTextRow.title)
    ).all()
    summaries = _summaries(session, [r for r, _ in rows])
    learner_ids = [m.learner_id for m in members]
    assignments = []
    for summary, (row, assigned_at) in zip(summaries, rows, strict=True):
        firsts = _first_answers(session, row.id, learner_ids)
        assignments.append(
            AssignmentView(
                summary,
                assigned_at,
                [
                    LearnerReading(
                        m.learner_id,
                        m.name,
                        len(firsts.get(m.learner_id, {})),
                        sum(firsts.get(m.learner_id, {}).values()),
                        summary.questions,
                    )
                    for m in members
                ],
            )
        )
    assigned = {a.text.id for a in assignments}
    choices = session.scalars(
        select(ReadingTextRow)
        .where(ReadingTextRow.language == str(klass.language))
        .where(ReadingTextRow.created_by.is_(None))
        .where(or_(ReadingTextRow.owner_id.is_(None), ReadingTextRow.owner_id == user.id))
        .order_by(ReadingTextRow.title, ReadingTextRow.id)
        .limit(500)
    )
    return ClassReading(
        assignments, [t for t in _summaries(session, list(choices)) if t.id not in assigned]
    )


def assign_text(
    session: Session, user: UserView, class_id: str, tid: str, *, now: datetime
) -> None:
    """Assign a text to the teacher's class: an imported text or one the teacher pasted, in
    the class's language. Assigning it again changes nothing."""
    require_utc(now)
    klass = classes.get_class(session, user, class_id)
    row = session.get(ReadingTextRow, tid)
    if row is None or row.created_by is not None or row.owner_id not in (None, user.id):
        raise NotFound(f"no text with id {tid!r}")
    if row.language != str(klass.language):
        raise InvalidInput("this text is not in the class's language")
    if session.get(ReadingAssignmentRow, (class_id, tid)) is None:
        session.add(
            ReadingAssignmentRow(
                class_id=class_id, text_id=tid, assigned_by=user.id, assigned_at=now
            )
        )
        session.commit()


def assign_new_text(
    session: Session,
    user: UserView,
    class_id: str,
    raw: str,
    *,
    title: str,
    now: datetime,
    settings: Settings | None = None,
) -> TextReport:
    """Store a text the teacher pasted (theirs: only the classes they assign it to see it)
    and assign it to the class."""
    klass = classes.get_class(session, user, class_id)
    report = add_text(
        session,
        raw,
        klass.language,
        now=now,
        title=title,
        source="Pasted by a teacher",
        licence="unknown",
        owner_id=user.id,
        settings=settings,
    )
    assign_text(session, user, class_id, report.text_id, now=now)
    return report


def unassign_text(session: Session, user: UserView, class_id: str, tid: str) -> None:
    classes.get_class(session, user, class_id)
    row = session.get(ReadingAssignmentRow, (class_id, tid))
    if row is None:
        raise NotFound("this text is not assigned to the class")
    session.delete(row)
    session.commit()


def _first_answers(
    session: Session, tid: str, learner_ids: Sequence[str]
) -> dict[str, dict[str, bool]]:
    """learner -> question item -> whether their first answer to it was right."""
    if not learner_ids:
        return {}
    rows = session.execute(
        select(AttemptRow.learner_id, AttemptRow.item_id, AttemptRow.correct)
        .join(
            ReadingQuestionRow,
            and_(
                ReadingQuestionRow.item_id == AttemptRow.item_id,
                ReadingQuestionRow.text_id == tid,
            ),
        )
        .where(AttemptRow.learner_id.in_(list(learner_ids)))
        .order_by(AttemptRow.id)
    )
    found: dict[str, dict[str, bool]] = {}
    for learner_id, item_id, correct in rows:
        found.setdefault(learner_id, {}).setdefault(item_id, bool(correct))
    return found
