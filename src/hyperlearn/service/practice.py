"""Onboarding, the next exercise, answering it, and progress."""

from __future__ import annotations

import functools
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hyperlearn.core import (
    CEFRLevel,
    DiffOp,
    Item,
    ItemType,
    Language,
    Reason,
    Skill,
    SkillGraph,
    SkillState,
    grade,
    require_utc,
)
from hyperlearn.core import learner as learner_model
from hyperlearn.core.grading import clean_text, error_location, tokenize
from hyperlearn.service import knowledge, recommend
from hyperlearn.service import memory as memory_service
from hyperlearn.service.errors import Conflict, InvalidInput, NotFound
from hyperlearn.store import repository
from hyperlearn.store.models import AttemptRow, LearnerRow, LearnerTopicRow

if TYPE_CHECKING:
    from hyperlearn.content.themed import ThemedGenerator
    from hyperlearn.llm.backend import LLMBackend
    from hyperlearn.llm.explain import Explainer

MAX_ANSWER_CHARS = 2000
MAX_NAME_CHARS = 100
MAX_KEY_CHARS = 100
_E = TypeVar("_E", Language, CEFRLevel)


@dataclass(frozen=True, slots=True)
class LearnerView:
    id: str
    name: str
    language: Language
    level: CEFRLevel
    interests: list[str]
    created_at: datetime
    policy: str


@dataclass(frozen=True, slots=True)
class ExerciseView:
    item_id: str
    type: ItemType
    language: Language
    text: str
    hint: str
    options: list[str]  # choice and judgement; empty for typed answers
    skill_id: str
    skill_name: str
    level: CEFRLevel
    topics: list[str]
    reasons: list[Reason]
    policy: str
    source: str
    licence: str


@dataclass(frozen=True, slots=True)
class SkillMastery:
    skill_id: str
    skill_name: str
    mastery: float


@dataclass(frozen=True, slots=True)
class FeedbackView:
    attempt_id: int
    item_id: str
    correct: bool
    answer: str
    expected: str  # the accepted answer closest to the learner's
    accepted: list[str]
    diff: list[DiffOp]
    first_error: int | None  # token index in the learner's answer
    error_in_text: str  # for corrections: the words of the sentence that had to change
    correction: str  # for judgements of incorrect sentences
    explanation: str
    skill_name: str
    rule: str
    example: str
    mastery: list[SkillMastery]
    source: str
    licence: str
    duplicate: bool  # True when this key was answered before and nothing new was stored
    # "model:<backend>" when a language model wrote `explanation` (checked), else "rules".
    explanation_source: str = "rules"


@dataclass(frozen=True, slots=True)
class SkillProgress:
    skill_id: str
    name: str
    level: CEFRLevel
    mastery: float
    attempts: int
    correct: int
    unlocked: bool


@dataclass(frozen=True, slots=True)
class AttemptView:
    id: int
    item_id: str
    answer: str
    correct: bool
    answered_at: datetime
    idempotency_key: str


def onboard(
    session: Session,
    *,
    name: str,
    language: str,
    level: str,
    interests: list[str],
    now: datetime,
    interests_text: str = "",
) -> LearnerView:
    """A new learner: language, level, topics they like, and their interests in their own
    words (matched to topics when an embedding model is configured)."""
    require_utc(now)
    name = " ".join(clean_text(name).split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"a name of 1 to {MAX_NAME_CHARS} characters is required")
    interests_text = " ".join(clean_text(interests_text).split())
    if len(interests_text) > recommend.MAX_INTERESTS_TEXT:
        raise InvalidInput(
            f"the interests text is longer than {recommend.MAX_INTERESTS_TEXT} characters"
        )
    lang = _parse(Language, language, "language")
    cefr = _parse(CEFRLevel, level, "level")
    known_topics = {t.id for t in repository.load_topics(session)}
    unknown = sorted(set(interests) - known_topics)
    if unknown:
        raise InvalidInput(f"unknown topics: {', '.join(unknown)}")
    graph = repository.cached_graph(session, lang)
    if not len(graph):
        raise InvalidInput(f"no content for language {lang}; run `hyperlearn init`")
    learner = LearnerRow(
        id=str(uuid.uuid4()),
        name=name,
        language=str(lang),
        level=str(cefr),
        interests_text=interests_text,
        created_at=now,
    )
    session.add(learner)
    session.flush()
    session.add_all(LearnerTopicRow(learner_id=learner.id, topic_id=t) for t in set(interests))
    repository.save_skill_states(
        session,
        learner.id,
        (learner_model.initial_state(skill, cefr) for skill in graph.skills.values()),
    )
    session.commit()
    return get_learner(session, learner.id)


def get_learner(session: Session, learner_id: str) -> LearnerView:
    row = _learner_row(session, learner_id)
    return LearnerView(
        id=row.id,
        name=row.name,
        language=Language(row.language),
        level=CEFRLevel(row.level),
        interests=repository.learner_interests(session, row.id),
        created_at=row.created_at,
        policy=row.policy,
    )


def next_exercise(
    session: Session,
    learner_id: str,
    rng: random.Random,
    now: datetime,
    themed: bool = True,
) -> ExerciseView:
    """The exercise the learner's policy ranks first, with its reasons. With `themed`, the
    hybrid policy may have one built from templates on a topic the learner likes."""
    maker = themed_maker(session) if themed else None
    choice = recommend.choose(session, learner_id, now, rng, maker)
    item = choice.item
    graph = choice.graph
    options = list(item.options)
    if item.type is ItemType.CHOICE:
        rng.shuffle(options)
    skill = graph[item.primary_skill]
    return ExerciseView(
        item_id=item.id,
        type=item.type,
        language=item.language,
        text=item.text,
        hint=item.hint,
        options=options,
        skill_id=skill.id,
        skill_name=skill.name,
        level=item.level,
        topics=list(item.topics),
        reasons=list(choice.reasons),
        policy=choice.policy,
        source=item.provenance.source,
        licence=item.provenance.licence,
    )


def themed_maker(session: Session) -> recommend.ThemedMaker:
    """Themed items from the bundled templates, for the stored skill graph and topics. With
    HYPERLEARN_LLM_THEMED and a model, the model proposes the sentence first (verified by
    HyperLearn; the templates are the fallback)."""
    templates = _TemplateMaker(session)
    backend = _llm().themed
    if backend is None:
        return templates
    from hyperlearn.llm.themed import LLMThemedMaker

    return LLMThemedMaker(
        backend,
        lambda language: repository.cached_graph(session, language),
        lambda: {t.id: t for t in repository.load_topics(session)},
        fallback=templates,
    )


class _TemplateMaker:
    # The templates load on the first request for one (once per process: read-only data).
    def __init__(self, session: Session) -> None:
        self.session = session

    def supports(self, language: Language, skill_id: str, topic_id: str) -> bool:
        return _themed_generator().supports(language, skill_id, topic_id)

    def make(
        self, language: Language, skill_id: str, topic_id: str, rng: random.Random
    ) -> Item | None:
        graph = repository.cached_graph(self.session, language)
        topics = {t.id: t for t in repository.load_topics(self.session)}
        return _themed_generator().generate(language, skill_id, topic_id, rng, graph, topics)


@functools.cache
def _themed_generator() -> ThemedGenerator:
    from hyperlearn.content.themed import ThemedGenerator

    return ThemedGenerator.load()


def submit_answer(
    session: Session,
    learner_id: str,
    *,
    item_id: str,
    answer: str,
    idempotency_key: str,
    now: datetime,
    latency_ms: int | None = None,
) -> FeedbackView:
    """Grade, store the attempt exactly once per idempotency key, update mastery."""
    require_utc(now)
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidInput(f"an answer has at most {MAX_ANSWER_CHARS} characters")
    if not idempotency_key or len(idempotency_key) > MAX_KEY_CHARS:
        raise InvalidInput(f"an idempotency key of 1 to {MAX_KEY_CHARS} characters is required")
    if latency_ms is not None and latency_ms < 0:
        raise InvalidInput("latency_ms cannot be negative")
    # Control characters are never part of an answer (and PostgreSQL refuses NUL in text).
    answer = " ".join(clean_text(answer).split())
    learner = _learner_row(session, learner_id)
    previous = _attempt_by_key(session, learner_id, idempotency_key)
    if previous is not None:
        return _replay(session, previous, item_id)
    item = _item(session, item_id)
    if str(item.language) != learner.language:
        raise InvalidInput(f"item {item_id} is not in the learner's language ({learner.language})")
    graph = repository.cached_graph(session, item.language)
    levels = {skill_id: skill.level for skill_id, skill in graph.skills.items()}
    states = repository.skill_states(session, learner_id, item.skills, lock=True)
    result = grade(item, answer)
    updated = learner_model.update(item, result.correct, states, levels, now)
    row = AttemptRow(
        learner_id=learner_id,
        item_id=item.id,
        answer=answer,
        correct=result.correct,
        answered_at=now,
        latency_ms=latency_ms,
        idempotency_key=idempotency_key,
    )
    try:
        session.add(row)
        # Flushing (here or at commit) is where a concurrent twin's unique key shows up.
        repository.save_skill_states(session, learner_id, updated.values())
        # Memory model (FSRS): schedule this item's next review, in the attempt's transaction.
        memory_service.record_review(session, learner_id, item, result.correct, latency_ms, now)
        # Knowledge tracing (once a model is fitted): the learner's state, same transaction.
        knowledge.record_attempt(session, learner_id, item, result.correct, now)
        session.commit()
    except IntegrityError:
        # The same key won a race with this request: report what was stored, store nothing.
        session.rollback()
        previous = _attempt_by_key(session, learner_id, idempotency_key)
        if previous is None:
            raise
        return _replay(session, previous, item_id)
    return _feedback(session, row, item, graph, duplicate=False)


def progress(
    session: Session, learner_id: str, now: datetime, unlock_threshold: float = 0.6
) -> list[SkillProgress]:
    """Mastery per skill in curriculum order: from the fitted knowledge-tracing model once one
    exists (`hyperlearn learner refit`), before that from the per-skill Elo model."""
    learner = get_learner(session, learner_id)
    graph = repository.cached_graph(session, learner.language)
    states = repository.skill_states(session, learner_id)
    mastery = knowledge.mastery(session, learner_id, now) or {
        skill_id: state.mastery for skill_id, state in states.items()
    }
    result = []
    for skill_id in graph.topological_order():
        skill = graph[skill_id]
        state = states.get(skill_id)
        result.append(
            SkillProgress(
                skill_id=skill_id,
                name=skill.name,
                level=skill.level,
                mastery=mastery.get(skill_id, 0.0),
                attempts=state.attempts if state else 0,
                correct=state.correct if state else 0,
                unlocked=graph.is_unlocked(skill_id, mastery, unlock_threshold),
            )
        )
    return result


def attempts(session: Session, learner_id: str) -> list[AttemptView]:
    _learner_row(session, learner_id)
    rows = session.scalars(
        select(AttemptRow).where(AttemptRow.learner_id == learner_id).order_by(AttemptRow.id)
    )
    return [
        AttemptView(r.id, r.item_id, r.answer, r.correct, r.answered_at, r.idempotency_key)
        for r in rows
    ]


def attempt_totals(session: Session, learner_id: str) -> tuple[int, int]:
    """(answered, right) counted by the database: a page that shows two numbers must not load
    a long log as objects (1,000 rows cost about 10 ms, and 100 ms when they set off garbage
    collection; benchmarks/pages.py)."""
    _learner_row(session, learner_id)
    answered, right = session.execute(
        select(func.count(AttemptRow.id), func.sum(case((AttemptRow.correct, 1), else_=0))).where(
            AttemptRow.learner_id == learner_id
        )
    ).one()
    return int(answered or 0), int(right or 0)


def rebuild_skill_states(session: Session, learner_id: str) -> dict[str, SkillState]:
    """Learner state replayed from the onboarding prior and the attempt log alone.

    It equals the stored state: the log, not the state table, is the source of truth."""
    learner = get_learner(session, learner_id)
    graph = repository.cached_graph(session, learner.language)
    levels = {skill_id: skill.level for skill_id, skill in graph.skills.items()}
    states = {s.id: learner_model.initial_state(s, learner.level) for s in graph.skills.values()}
    log = session.scalars(
        select(AttemptRow).where(AttemptRow.learner_id == learner_id).order_by(AttemptRow.id)
    ).all()
    items = {i.id: i for i in repository.load_items(session, ids=[a.item_id for a in log])}
    for attempt in log:
        item = items[attempt.item_id]
        states.update(
            learner_model.update(item, attempt.correct, states, levels, attempt.answered_at)
        )
    return states


def _replay(session: Session, previous: AttemptRow, item_id: str) -> FeedbackView:
    if previous.item_id != item_id:
        raise Conflict(
            "this idempotency key was already used for another item; send a new key per answer"
        )
    item = _item(session, previous.item_id)
    graph = repository.cached_graph(session, item.language)
    return _feedback(session, previous, item, graph, duplicate=True)


def _feedback(
    session: Session, row: AttemptRow, item: Item, graph: SkillGraph, duplicate: bool
) -> FeedbackView:
    result = grade(item, row.answer)
    skill = graph[item.primary_skill]
    states = repository.skill_states(session, row.learner_id, item.skills)
    error_in_text = ""
    span = error_location(item)
    if span is not None:
        tokens = tokenize(item.text, item.language)
        error_in_text = " ".join(t.surface for t in tokens[span[0] : span[1]])
    explanation, explanation_source = _explanation(item, skill, row, result.expected)
    return FeedbackView(
        attempt_id=row.id,
        item_id=item.id,
        correct=row.correct,
        answer=row.answer,
        expected=result.expected,
        accepted=list(item.answers),
        diff=list(result.diff),
        first_error=result.first_error,
        error_in_text=error_in_text,
        correction=item.correction,
        explanation=explanation,
        skill_name=skill.name,
        rule=skill.explanation,
        example=skill.example,
        mastery=[
            SkillMastery(s, graph[s].name, states[s].mastery) for s in item.skills if s in states
        ],
        source=item.provenance.source,
        licence=item.provenance.licence,
        duplicate=duplicate,
        explanation_source=explanation_source,
    )


@dataclass(frozen=True, slots=True)
class _LLMFeatures:
    explainer: Explainer | None  # None: explanations come from the content alone
    themed: LLMBackend | None  # None: themed items come from the templates alone


_llm_override: _LLMFeatures | None = None


def use_llm_backend(
    backend: LLMBackend | None, *, explain_language: str = "en", themed: bool = False
) -> Explainer | None:
    """Use `backend` for explanations of wrong answers (and, with `themed`, themed items)
    instead of what the settings configure; None goes back to the settings. Returns the
    explainer, whose `outcomes` count what the model's explanations came to."""
    global _llm_override
    if backend is None:
        _llm_override = None
        return None
    from hyperlearn.llm.explain import Explainer

    explainer = Explainer(backend, "ru" if explain_language == "ru" else "en")
    _llm_override = _LLMFeatures(explainer, backend if themed else None)
    return explainer


def _llm() -> _LLMFeatures:
    return _llm_override if _llm_override is not None else _configured_llm()


@functools.cache
def _configured_llm() -> _LLMFeatures:
    # Read once per process: with the default backend (none) the feedback path stays what it
    # was, with no settings read, prompt built or model called per answer.
    from hyperlearn.settings import Settings

    settings = Settings()
    if settings.llm_backend == "none":
        return _LLMFeatures(None, None)
    from hyperlearn.llm.explain import Explainer
    from hyperlearn.llm.factory import shared_backend

    try:
        backend = shared_backend(settings)
    except ValueError as error:  # misconfigured: learners still get the deterministic path
        logging.getLogger(__name__).error("language model disabled: %s", error)
        return _LLMFeatures(None, None)
    explainer = Explainer(backend, settings.llm_explain_language)
    return _LLMFeatures(explainer, backend if settings.llm_themed else None)


def _explanation(item: Item, skill: Skill, row: AttemptRow, expected: str) -> tuple[str, str]:
    """(explanation, source): the item's own, or for a wrong answer with a model configured
    the model's, when it passes the checks of hyperlearn.llm.explain. A model that fails or
    is rejected leaves the learner with the item's own (counted in the explainer)."""
    if row.correct:
        return item.explanation, "rules"
    explainer = _llm().explainer
    if explainer is None:
        return item.explanation, "rules"
    result = explainer.explain(item, skill, row.answer, expected)
    if result.from_model:
        return result.text, result.source
    return item.explanation, "rules"


def _attempt_by_key(session: Session, learner_id: str, key: str) -> AttemptRow | None:
    query = select(AttemptRow).where(
        AttemptRow.learner_id == learner_id, AttemptRow.idempotency_key == key
    )
    return session.scalars(query).first()


def _learner_row(session: Session, learner_id: str) -> LearnerRow:
    row = repository.get_learner(session, learner_id)
    if row is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    return row


def _item(session: Session, item_id: str) -> Item:
    found = repository.load_items(session, ids=[item_id])
    if not found:
        raise NotFound(f"no item with id {item_id!r}")
    return found[0]


def _parse(kind: type[_E], value: str, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(v) for v in kind)
        raise InvalidInput(f"unknown {what} {value!r}; use one of {allowed}") from None
