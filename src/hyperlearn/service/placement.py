"""The placement test as a use case: ask, answer, and place the learner at the end.

A test run is stateless on the server: its id carries the self-assessed level the prior was
centred on, and its answers are ordinary attempts (through `practice.submit_answer`, so the
attempt log, learner model and memory model see them) whose idempotency keys start with
`placement:<run>:`. Replaying those attempts gives the test's state, and the next question is
chosen with an rng seeded by the run and the number of answers, so a reload shows the same
question and a double submit stores one attempt.

When the test ends, the learner's level becomes the placed level and the skill states are
rebuilt from the attempt log on the prior of that level (`practice.rebuild_skill_states`): skills
never answered get `initial_state(skill, placed)`; answered ones keep their evidence, replayed on
the new prior, so stored state still equals what the log rebuilds.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hyperlearn.core import HYPERLEARN_STARTER, CEFRLevel, Item, ItemType, Language, SkillGraph
from hyperlearn.core.placement import DEFAULT_PLACEMENT, PlacementResult, PlacementTest
from hyperlearn.service import practice
from hyperlearn.service.errors import Conflict, InvalidInput
from hyperlearn.store import memory_repo, repository
from hyperlearn.store.models import AttemptRow

KEY_PREFIX = "placement:"
_RUN = re.compile(r"^[0-9a-f]{32}-(A1|A2|B1|B2|C1|C2)$")
# Skills named in the result, per level: enough to say what the level means here.
_NAMED_SKILLS = 3


@dataclass(frozen=True, slots=True)
class PlacementQuestion:
    item_id: str
    type: ItemType
    language: Language
    text: str
    hint: str
    options: list[str]  # choice and judgement; empty for typed answers
    number: int  # 1-based
    max_items: int


@dataclass(frozen=True, slots=True)
class LevelRow:
    level: CEFRLevel
    probability: float  # posterior P(this is the learner's level)
    asked: int  # questions of this level
    right: int


@dataclass(frozen=True, slots=True)
class PlacementOutcome:
    level: CEFRLevel
    confidence: float
    answered: int
    right: int
    levels: list[LevelRow]  # every level the test could place at, lowest first
    solid: list[str]  # skill names below the placed level: what the learner can already do
    next_up: list[str]  # skill names at the placed level: what practice starts with


@dataclass(frozen=True, slots=True)
class PlacementView:
    run: str
    answered: int
    question: PlacementQuestion | None  # None once the test is over
    outcome: PlacementOutcome | None


def new_run(self_assessed: CEFRLevel) -> str:
    """A fresh test id; the prior is centred on `self_assessed` for the whole run."""
    return f"{uuid.uuid4().hex}-{self_assessed}"


def view(session: Session, learner_id: str, run: str) -> PlacementView:
    """Where the run stands: its next question, or its outcome once it is over."""
    learner = practice.get_learner(session, learner_id)
    test = _load(session, learner_id, learner.language, run)
    return _view(session, learner.language, run, test)


def answer(
    session: Session,
    learner_id: str,
    *,
    run: str,
    item_id: str,
    answer: str,
    now: datetime,
    latency_ms: int | None = None,
) -> PlacementView:
    """Store the answer to the run's current question; place the learner when it was the last.

    Answering a question of this run again (a double submit, the back button) stores nothing."""
    learner = practice.get_learner(session, learner_id)
    test = _load(session, learner_id, learner.language, run)
    if test.finished or any(item.id == item_id for item, _ in test.answers):
        return _view(session, learner.language, run, test)
    current = test.next_item(_rng(run, test))
    if current is None or current.id != item_id:
        raise Conflict("this is no longer the current placement question; reload the test")
    feedback = practice.submit_answer(
        session,
        learner_id,
        item_id=item_id,
        answer=answer,
        idempotency_key=f"{KEY_PREFIX}{run}:{item_id}",
        now=now,
        latency_ms=latency_ms,
    )
    test = test.record(current, feedback.correct)
    if test.finished:
        place(session, learner_id, test.result().level)
    return _view(session, learner.language, run, test)


def place(session: Session, learner_id: str, level: CEFRLevel) -> None:
    """Set the learner's level and rebuild their skill states on its prior (see module doc)."""
    row = memory_repo.lock_learner(session, learner_id)
    if row is None:
        practice.get_learner(session, learner_id)  # raises NotFound
        return
    row.level = str(level)
    session.flush()
    repository.save_skill_states(
        session, learner_id, practice.rebuild_skill_states(session, learner_id).values()
    )
    session.commit()


def _load(session: Session, learner_id: str, language: Language, run: str) -> PlacementTest:
    match = _RUN.match(run)
    if match is None:
        raise InvalidInput("not a placement test id; start the test again from /placement")
    pool = _pool(session, language)
    test = PlacementTest.start(pool, CEFRLevel(match.group(1)), DEFAULT_PLACEMENT)
    rows = session.execute(
        select(AttemptRow.item_id, AttemptRow.correct)
        .where(
            AttemptRow.learner_id == learner_id,
            AttemptRow.idempotency_key.startswith(f"{KEY_PREFIX}{run}:", autoescape=True),
        )
        .order_by(AttemptRow.id)
    ).all()
    known = {item.id: item for item in pool}
    # An item withheld or disabled since it was asked still counts: it was answered.
    missing = [item_id for item_id, _ in rows if item_id not in known]
    if missing:
        known.update({item.id: item for item in repository.load_items(session, ids=missing)})
    for item_id, correct in rows:
        test = test.record(known[item_id], bool(correct))
    return test


def _pool(session: Session, language: Language) -> list[Item]:
    """The hand-written starter bank of the language, without reported items: its levels are
    set by people, which imported items' estimated levels are not. Imported items stand in only
    where no starter item is stored."""
    withheld = repository.withheld_item_ids(session)
    items = [i for i in repository.candidate_items(session, language) if i.id not in withheld]
    starter = [i for i in items if i.provenance.source == HYPERLEARN_STARTER.source]
    return starter or items


def _rng(run: str, test: PlacementTest) -> random.Random:
    return random.Random(f"{run}:{len(test.answers)}")


def _view(session: Session, language: Language, run: str, test: PlacementTest) -> PlacementView:
    rng = _rng(run, test)
    item = test.next_item(rng)
    if item is None:
        graph = repository.cached_graph(session, language)
        return PlacementView(run, len(test.answers), None, _outcome(test.result(), graph))
    options = list(item.options)
    if item.type is ItemType.CHOICE:
        rng.shuffle(options)
    question = PlacementQuestion(
        item_id=item.id,
        type=item.type,
        language=item.language,
        text=item.text,
        hint=item.hint,
        options=options,
        number=len(test.answers) + 1,
        max_items=test.config.max_items,
    )
    return PlacementView(run, len(test.answers), question, None)


def _outcome(result: PlacementResult, graph: SkillGraph) -> PlacementOutcome:
    def names(level: CEFRLevel) -> list[str]:
        at = [graph[s].name for s in graph.topological_order() if graph[s].level is level]
        return at[:_NAMED_SKILLS]

    below = CEFRLevel.from_rank(result.level.rank - 1)
    tallies = {t.level: t for t in result.by_level}
    return PlacementOutcome(
        level=result.level,
        confidence=result.confidence,
        answered=result.answered,
        right=result.right,
        levels=[
            LevelRow(
                level,
                p,
                tallies[level].asked if level in tallies else 0,
                tallies[level].right if level in tallies else 0,
            )
            for level, p in result.posterior.items()
        ],
        solid=names(below) if below is not result.level else [],
        next_up=names(result.level),
    )
