"""The teacher view as use cases: classes with invite codes, a class's heat map and a learner's
detail, focus skills for the policy, the reported-items queue and content import.

Who may do what:
- teachers and admins (`is_teacher`) create classes and work the report queue and imports;
- a class is managed by its teacher (admins may manage any); any other user is answered as if
  the class did not exist;
- a learner joins a class with its invite code, and may be in several classes;
- teachers read the learners of their classes (accounts.can_read_learner) and never change
  a learner's data.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hyperlearn.content.bank import check_item
from hyperlearn.core import CEFRLevel, Item, ItemType, Language, require_utc
from hyperlearn.service import accounts, knowledge
from hyperlearn.service.accounts import Role, UserView
from hyperlearn.service.errors import N_, InvalidInput, NotFound, ServiceError
from hyperlearn.store import repository
from hyperlearn.store.models import (
    AttemptRow,
    ClassFocusSkillRow,
    ClassMemberRow,
    ClassRow,
    ItemReportRow,
    ItemRow,
    LearnerRow,
)

LANGUAGE_NAMES = {Language.EN: N_("English"), Language.RU: N_("Russian")}
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 8
MAX_CLASS_NAME_CHARS = 100
MAX_FOCUS_SKILLS = 10
MAX_ITEM_TEXT_CHARS = 2000
MAX_ANSWERS = 20
RECENT_ATTEMPTS = 30
RESOLVED_SHOWN = 20
REPORT_STATUSES = ("open", "fixed", "disabled", "restored")


class Forbidden(ServiceError):
    """403: the user's role does not allow this (a learner on a teacher page)."""


@dataclass(frozen=True, slots=True)
class ClassView:
    id: str
    name: str
    language: Language
    invite_code: str
    teacher_id: str
    created_at: datetime
    learners: int
    focus_skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MemberView:
    learner_id: str
    name: str
    level: CEFRLevel
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class HeatSkill:
    id: str
    name: str
    level: CEFRLevel
    focus: bool


@dataclass(frozen=True, slots=True)
class HeatCell:
    mastery: float
    attempts: int
    correct: int

    @property
    def percent(self) -> int:
        return round(self.mastery * 100)

    @property
    def band(self) -> int:
        """0..4: the colour class of the cell (below 20%, 20-39%, ..., 80% and above)."""
        return min(4, int(self.mastery * 5))


@dataclass(frozen=True, slots=True)
class HeatMap:
    """Mastery of every skill of the class's language (rows, curriculum order) by learner
    (columns), with the class mean per skill."""

    skills: list[HeatSkill]
    learners: list[MemberView]
    cells: list[list[HeatCell]]  # cells[skill][learner]
    means: list[HeatCell]  # per skill, over the learners


@dataclass(frozen=True, slots=True)
class RecentAttempt:
    answered_at: datetime
    item_id: str
    item_text: str
    skill_id: str
    answer: str
    correct: bool


@dataclass(frozen=True, slots=True)
class LearnerDetail:
    learner_id: str
    name: str
    language: Language
    level: CEFRLevel
    attempts: int
    correct: int
    attempts_week: int
    correct_week: int
    skills: list[tuple[HeatSkill, HeatCell]]
    recent: list[RecentAttempt]

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.attempts if self.attempts else None

    @property
    def accuracy_week(self) -> float | None:
        return self.correct_week / self.attempts_week if self.attempts_week else None


@dataclass(frozen=True, slots=True)
class ReportNote:
    id: int
    reason: str
    created_at: datetime
    status: str
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReportedItem:
    """An item with its reports: the open ones in the queue, or the latest resolved one."""

    item: Item
    disabled: bool
    reports: list[ReportNote]


# -- roles -----------------------------------------------------------------------------------


def is_teacher(user: UserView | None) -> bool:
    return user is not None and user.role in (Role.TEACHER, Role.ADMIN)


def require_teacher(user: UserView | None) -> UserView:
    if user is None or not is_teacher(user):
        raise Forbidden(N_("this page is for teachers"))
    return user


# -- classes ---------------------------------------------------------------------------------


def create_class(
    session: Session, user: UserView, *, name: str, language: str, now: datetime
) -> ClassView:
    require_utc(now)
    require_teacher(user)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(N_("a class needs a name"))
    if len(name) > MAX_CLASS_NAME_CHARS:
        raise InvalidInput(
            N_("a class name has at most %(count)s characters"), count=MAX_CLASS_NAME_CHARS
        )
    try:
        lang = Language(language)
    except ValueError:
        allowed = ", ".join(str(v) for v in Language)
        raise InvalidInput(f"unknown language {language!r}; use one of {allowed}") from None
    for _ in range(5):
        row = ClassRow(
            id=str(uuid.uuid4()),
            teacher_id=user.id,
            name=name,
            language=str(lang),
            invite_code=new_invite_code(),
            created_at=now,
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # an invite code taken already (about 1 in 10^12)
            session.rollback()
            continue
        return _class_view(session, row)
    raise ServiceError("could not make a unique invite code; try again")


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def list_classes(session: Session, user: UserView) -> list[ClassView]:
    """The user's classes: a teacher's own, every class for an admin."""
    require_teacher(user)
    query = select(ClassRow).order_by(ClassRow.created_at, ClassRow.id)
    if user.role is not Role.ADMIN:
        query = query.where(ClassRow.teacher_id == user.id)
    return [_class_view(session, row) for row in session.scalars(query)]


def get_class(session: Session, user: UserView, class_id: str) -> ClassView:
    return _class_view(session, _managed(session, user, class_id))


def members(session: Session, user: UserView, class_id: str) -> list[MemberView]:
    _managed(session, user, class_id)
    return _members(session, class_id)


JOIN_LIMIT = N_("too many wrong invite codes; try again in %(seconds)s seconds")
# Wrong codes allowed from one address (a school behind one router) before it must wait,
# as a multiple of the per-learner allowance: many accounts must not multiply the guesses.
ADDRESS_FACTOR = 5


def join_class(
    session: Session,
    learner_id: str,
    code: str,
    now: datetime,
    *,
    address: str = "",
    max_failures: int = 5,
    window: timedelta = timedelta(minutes=15),
) -> ClassView:
    """Join the class with this invite code (joining twice changes nothing). Wrong codes are
    rate limited like logins (accounts' limiter): after `max_failures` within `window` for
    the learner, or ADDRESS_FACTOR times that from the address, TooManyAttempts, without
    looking the code up."""
    require_utc(now)
    learner = session.get(LearnerRow, learner_id)
    if learner is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    keys = [(accounts.limit_key("join", learner_id), max_failures)]
    if address:
        keys.append((accounts.limit_key("join-from", address), max_failures * ADDRESS_FACTOR))
    for key, allowed in keys:
        accounts.check_limit(
            session, key, now, max_failures=allowed, window=window, message=JOIN_LIMIT
        )
    wanted = normalise_code(code)
    row = None
    if 4 <= len(wanted) <= 16:
        row = session.scalar(select(ClassRow).where(ClassRow.invite_code == wanted))
    if row is None:
        for key, _ in keys:
            accounts.record_failure(session, key, now)
        raise NotFound(N_("no class has this invite code: check it with your teacher"))
    if row.language != learner.language:
        raise InvalidInput(
            N_("this class practises %(class_language)s, and your profile practises %(own)s"),
            class_language=LANGUAGE_NAMES[Language(row.language)],
            own=LANGUAGE_NAMES[Language(learner.language)],
        )
    if session.get(ClassMemberRow, (row.id, learner_id)) is None:
        session.add(ClassMemberRow(class_id=row.id, learner_id=learner_id, joined_at=now))
        try:
            session.commit()
        except IntegrityError:  # joined at the same moment from another tab
            session.rollback()
    return _class_view(session, row)


def leave_class(session: Session, learner_id: str, class_id: str) -> None:
    member = session.get(ClassMemberRow, (class_id, learner_id))
    if member is None:
        raise NotFound(N_("you are not in this class"))
    session.delete(member)
    session.commit()


def learner_classes(session: Session, learner_id: str) -> list[ClassView]:
    query = (
        select(ClassRow)
        .join(ClassMemberRow, ClassMemberRow.class_id == ClassRow.id)
        .where(ClassMemberRow.learner_id == learner_id)
        .order_by(ClassMemberRow.joined_at, ClassRow.id)
    )
    return [_class_view(session, row) for row in session.scalars(query)]


def remove_learner(session: Session, user: UserView, class_id: str, learner_id: str) -> None:
    """The teacher takes a learner out of the class (their data stays theirs)."""
    _managed(session, user, class_id)
    member = session.get(ClassMemberRow, (class_id, learner_id))
    if member is None:
        raise NotFound(N_("this learner is not in the class"))
    session.delete(member)
    session.commit()


# -- focus skills ----------------------------------------------------------------------------


def set_focus_skills(
    session: Session, user: UserView, class_id: str, skill_ids: Iterable[str]
) -> ClassView:
    """Replace the class's focus skills (an empty list clears them)."""
    row = _managed(session, user, class_id)
    wanted = list(dict.fromkeys(s for s in skill_ids if s))
    if len(wanted) > MAX_FOCUS_SKILLS:
        raise InvalidInput(N_("at most %(count)s focus skills per class"), count=MAX_FOCUS_SKILLS)
    graph = repository.cached_graph(session, Language(row.language))
    unknown = [s for s in wanted if s not in graph]
    if unknown:
        raise InvalidInput(
            N_("unknown skill for this class's language: %(skill)r"), skill=unknown[0]
        )
    for old in session.scalars(
        select(ClassFocusSkillRow).where(ClassFocusSkillRow.class_id == class_id)
    ):
        session.delete(old)
    session.flush()
    session.add_all(ClassFocusSkillRow(class_id=class_id, skill_id=s) for s in wanted)
    session.commit()
    return _class_view(session, row)


def focus_skills_for_learner(session: Session, learner_id: str) -> frozenset[str]:
    """The skills the teachers of the learner's classes asked them to focus on."""
    query = (
        select(ClassFocusSkillRow.skill_id)
        .join(ClassMemberRow, ClassMemberRow.class_id == ClassFocusSkillRow.class_id)
        .where(ClassMemberRow.learner_id == learner_id)
        .distinct()
    )
    return frozenset(session.scalars(query))


# -- what the teacher reads -----------------------------------------------------------------


def heat_map(session: Session, user: UserView, class_id: str, now: datetime) -> HeatMap:
    row = _managed(session, user, class_id)
    graph = repository.cached_graph(session, Language(row.language))
    focus = set(_focus(session, class_id))
    skills = [
        HeatSkill(s, graph[s].name, graph[s].level, s in focus) for s in graph.topological_order()
    ]
    learners = _members(session, class_id)
    ids = [m.learner_id for m in learners]
    counts = repository.skill_counts_of_learners(session, ids)
    modelled = knowledge.mastery_of_learners(session, ids, row.language, now)
    cells = [
        [_heat_cell(skill.id, counts[i], modelled[i] if modelled else None) for i in ids]
        for skill in skills
    ]
    means = [
        HeatCell(
            sum(c.mastery for c in row_cells) / len(row_cells) if row_cells else 0.0,
            sum(c.attempts for c in row_cells),
            sum(c.correct for c in row_cells),
        )
        for row_cells in cells
    ]
    return HeatMap(skills, learners, cells, means)


def learner_detail(session: Session, learner_id: str, now: datetime) -> LearnerDetail:
    """A learner's mastery per skill, recent attempts and accuracy. The caller has checked
    that the user may read this learner (accounts.can_read_learner)."""
    require_utc(now)
    learner = session.get(LearnerRow, learner_id)
    if learner is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    language = Language(learner.language)
    graph = repository.cached_graph(session, language)
    counts = repository.skill_counts_of_learners(session, [learner_id])[learner_id]
    modelled = knowledge.mastery_of_learners(session, [learner_id], learner.language, now)
    mastery = modelled[learner_id] if modelled else None
    focus = focus_skills_for_learner(session, learner_id)
    skills = [
        (HeatSkill(s, graph[s].name, graph[s].level, s in focus), _heat_cell(s, counts, mastery))
        for s in graph.topological_order()
    ]
    total, right = _totals(session, learner_id, None)
    week, week_right = _totals(session, learner_id, now - timedelta(days=7))
    rows = session.scalars(
        select(AttemptRow)
        .where(AttemptRow.learner_id == learner_id)
        .order_by(AttemptRow.id.desc())
        .limit(RECENT_ATTEMPTS)
    ).all()
    items = {i.id: i for i in repository.load_items(session, ids=[r.item_id for r in rows])}
    recent = [
        RecentAttempt(
            answered_at=r.answered_at,
            item_id=r.item_id,
            item_text=items[r.item_id].text if r.item_id in items else "",
            skill_id=items[r.item_id].primary_skill if r.item_id in items else "",
            answer=r.answer,
            correct=r.correct,
        )
        for r in rows
    ]
    return LearnerDetail(
        learner_id=learner.id,
        name=learner.name,
        language=language,
        level=CEFRLevel(learner.level),
        attempts=total,
        correct=right,
        attempts_week=week,
        correct_week=week_right,
        skills=skills,
        recent=recent,
    )


def class_learner_ids(session: Session, user: UserView, class_id: str) -> list[str]:
    _managed(session, user, class_id)
    return [m.learner_id for m in _members(session, class_id)]


# -- the reported-items queue ----------------------------------------------------------------


def open_reports(session: Session, user: UserView) -> list[ReportedItem]:
    """Items with open reports (each withheld from every learner), oldest report first."""
    require_teacher(user)
    rows = session.scalars(
        select(ItemReportRow)
        .where(ItemReportRow.status == "open")
        .order_by(ItemReportRow.created_at, ItemReportRow.id)
    ).all()
    return _grouped_reports(session, rows)


def resolved_reports(session: Session, user: UserView) -> list[ReportedItem]:
    """The latest resolved reports, one per item, newest first."""
    require_teacher(user)
    rows = session.scalars(
        select(ItemReportRow)
        .where(ItemReportRow.status != "open")
        .order_by(ItemReportRow.resolved_at.desc(), ItemReportRow.id.desc())
        .limit(RESOLVED_SHOWN * 5)
    ).all()
    return _grouped_reports(session, rows)[:RESOLVED_SHOWN]


def reported_item(session: Session, user: UserView, item_id: str) -> ReportedItem:
    require_teacher(user)
    rows = session.scalars(
        select(ItemReportRow)
        .where(ItemReportRow.item_id == item_id)
        .order_by(ItemReportRow.created_at, ItemReportRow.id)
    ).all()
    found = _grouped_reports(session, rows)
    if not found:
        raise NotFound(f"no reported item with id {item_id!r}")
    return found[0]


def fix_item(
    session: Session,
    user: UserView,
    item_id: str,
    *,
    text: str,
    answers: Sequence[str],
    distractors: Sequence[str],
    explanation: str,
    hint: str,
    correction: str,
    now: datetime,
) -> Item:
    """Correct a reported item in place and close its open reports as fixed. The edited item
    must pass the same checks as shipped content (content.bank.check_item), or nothing is
    changed. The row keeps its id (attempts refer to it) although the id is a hash of the
    original content."""
    require_utc(now)
    require_teacher(user)
    row = session.get(ItemRow, item_id)
    if row is None:
        raise NotFound(f"no item with id {item_id!r}")
    original = repository.load_items(session, ids=[item_id])[0]
    clean_answers = tuple(a for a in (" ".join(x.split()) for x in answers) if a)
    clean_distractors = tuple(d for d in (" ".join(x.split()) for x in distractors) if d)
    text = text.strip()
    if not text:
        raise InvalidInput(N_("the exercise needs a text"))
    if len(text) > MAX_ITEM_TEXT_CHARS or len(explanation) > MAX_ITEM_TEXT_CHARS:
        raise InvalidInput(N_("texts have at most %(count)s characters"), count=MAX_ITEM_TEXT_CHARS)
    if len(hint) > 200:
        raise InvalidInput(N_("a hint has at most %(count)s characters"), count=200)
    if len(clean_answers) > MAX_ANSWERS or len(clean_distractors) > MAX_ANSWERS:
        raise InvalidInput(
            N_("at most %(count)s answers and %(count)s distractors"), count=MAX_ANSWERS
        )
    if not clean_answers:
        raise InvalidInput(N_("the exercise needs at least one accepted answer"))
    edited = Item(
        id=original.id,
        language=original.language,
        type=original.type,
        text=text,
        answers=clean_answers,
        skills=original.skills,
        level=original.level,
        topics=original.topics,
        distractors=clean_distractors,
        explanation=explanation.strip(),
        hint=hint.strip(),
        # Only judgements show a correction (the form offers it for them alone).
        correction=(
            correction.strip() if original.type is ItemType.JUDGEMENT else original.correction
        ),
        provenance=original.provenance,
    )
    graph = repository.cached_graph(session, original.language)
    topics = {t.id: t for t in repository.load_topics(session)}
    problems = check_item(edited, graph, topics, require_topics=bool(original.topics))
    if problems:
        raise InvalidInput(
            N_("the edited exercise is not sound: %(problems)s"), problems="; ".join(problems)
        )
    row.text = edited.text
    row.answers = list(edited.answers)
    row.distractors = list(edited.distractors)
    row.explanation = edited.explanation
    row.hint = edited.hint
    row.correction = edited.correction
    row.updated_at = now  # the content-version listener sees the write; caches refresh
    _close(session, item_id, "fixed", now)
    session.commit()
    return edited


def disable_item(session: Session, user: UserView, item_id: str, now: datetime) -> None:
    """Take the item out of practice for good; its open reports close as disabled."""
    require_utc(now)
    require_teacher(user)
    row = session.get(ItemRow, item_id)
    if row is None:
        raise NotFound(f"no item with id {item_id!r}")
    row.disabled = True
    row.updated_at = now
    _close(session, item_id, "disabled", now)
    session.commit()


def restore_item(session: Session, user: UserView, item_id: str, now: datetime) -> None:
    """The item is fine after all: close its open reports as restored and show it again
    (also when it had been disabled)."""
    require_utc(now)
    require_teacher(user)
    row = session.get(ItemRow, item_id)
    if row is None:
        raise NotFound(f"no item with id {item_id!r}")
    closed = _close(session, item_id, "restored", now)
    if row.disabled:
        row.disabled = False
        row.updated_at = now
    elif not closed:
        raise InvalidInput(N_("this item has no open report and is not disabled"))
    session.commit()


# -- helpers ---------------------------------------------------------------------------------


def _managed(session: Session, user: UserView, class_id: str) -> ClassRow:
    """The class, when the user manages it (its teacher, or an admin); otherwise NotFound, so
    that other teachers cannot even tell that it exists."""
    require_teacher(user)
    row = session.get(ClassRow, class_id)
    if row is None or (user.role is not Role.ADMIN and row.teacher_id != user.id):
        raise NotFound(f"no class with id {class_id!r}")
    return row


def _class_view(session: Session, row: ClassRow) -> ClassView:
    count = session.scalar(
        select(func.count()).select_from(ClassMemberRow).where(ClassMemberRow.class_id == row.id)
    )
    return ClassView(
        id=row.id,
        name=row.name,
        language=Language(row.language),
        invite_code=row.invite_code,
        teacher_id=row.teacher_id,
        created_at=row.created_at,
        learners=int(count or 0),
        focus_skills=_focus(session, row.id),
    )


def _focus(session: Session, class_id: str) -> tuple[str, ...]:
    query = select(ClassFocusSkillRow.skill_id).where(ClassFocusSkillRow.class_id == class_id)
    return tuple(sorted(session.scalars(query)))


def _members(session: Session, class_id: str) -> list[MemberView]:
    query = (
        select(LearnerRow, ClassMemberRow.joined_at)
        .join(ClassMemberRow, ClassMemberRow.learner_id == LearnerRow.id)
        .where(ClassMemberRow.class_id == class_id)
        .order_by(func.lower(LearnerRow.name), LearnerRow.id)
    )
    return [
        MemberView(learner.id, learner.name, CEFRLevel(learner.level), joined_at)
        for learner, joined_at in session.execute(query)
    ]


_EMPTY_CELL = HeatCell(0.0, 0, 0)


def _heat_cell(
    skill_id: str,
    counts: Mapping[str, tuple[float, int, int]],
    modelled: Mapping[str, float] | None,
) -> HeatCell:
    """One learner's cell for one skill, as their progress page shows it: the
    knowledge-tracing model's mastery once one is fitted (`modelled`), the per-skill learner
    model's before; with (mastery, attempts, correct) from skill_counts_of_learners."""
    seen = counts.get(skill_id)
    if modelled is None:
        return _EMPTY_CELL if seen is None else HeatCell(*seen)
    value = modelled.get(skill_id)
    if value is None:
        return _EMPTY_CELL
    return HeatCell(value, seen[1], seen[2]) if seen else HeatCell(value, 0, 0)


def _totals(session: Session, learner_id: str, since: datetime | None) -> tuple[int, int]:
    right = func.coalesce(func.sum(case((AttemptRow.correct, 1), else_=0)), 0)
    query = select(func.count(), right).where(AttemptRow.learner_id == learner_id)
    if since is not None:
        query = query.where(AttemptRow.answered_at >= since)
    total, right = session.execute(query).one()
    return int(total), int(right)


def _close(session: Session, item_id: str, status: str, now: datetime) -> int:
    assert status in REPORT_STATUSES
    rows = session.scalars(
        select(ItemReportRow).where(
            ItemReportRow.item_id == item_id, ItemReportRow.status == "open"
        )
    ).all()
    for report in rows:
        report.status = status
        report.resolved_at = now
    return len(rows)


def _grouped_reports(session: Session, rows: Sequence[ItemReportRow]) -> list[ReportedItem]:
    order: dict[str, list[ReportNote]] = {}
    for r in rows:
        order.setdefault(r.item_id, []).append(
            ReportNote(r.id, r.reason, r.created_at, r.status, r.resolved_at)
        )
    items = {i.id: i for i in repository.load_items(session, ids=list(order))}
    query = select(ItemRow.id, ItemRow.disabled).where(ItemRow.id.in_(list(order)))
    disabled = {item_id: flag for item_id, flag in session.execute(query)}
    return [
        ReportedItem(items[item_id], bool(disabled.get(item_id)), notes)
        for item_id, notes in order.items()
        if item_id in items
    ]


__all__ = [
    "ClassView",
    "Forbidden",
    "HeatCell",
    "HeatMap",
    "HeatSkill",
    "LearnerDetail",
    "MemberView",
    "RecentAttempt",
    "ReportNote",
    "ReportedItem",
    "class_learner_ids",
    "create_class",
    "disable_item",
    "fix_item",
    "focus_skills_for_learner",
    "get_class",
    "heat_map",
    "is_teacher",
    "join_class",
    "learner_classes",
    "learner_detail",
    "leave_class",
    "list_classes",
    "members",
    "open_reports",
    "remove_learner",
    "reported_item",
    "require_teacher",
    "resolved_reports",
    "restore_item",
    "set_focus_skills",
]
