"""FSRS scheduling through the service, the API and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.content.bank import Bank
from hyperlearn.core import Item, ItemType, Language
from hyperlearn.core.memory import MemoryModel, MemoryParams, State
from hyperlearn.service import InvalidInput, NotFound
from hyperlearn.service import memory as memory_service
from hyperlearn.service import practice as service
from hyperlearn.service.practice import FeedbackView
from hyperlearn.store import memory_repo
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.store.models import AttemptRow, LearnerMemoryParamsRow
from tests.conftest import T0, Clock


def new_learner(session: Session, language: str = "en") -> str:
    learner = service.onboard(
        session, name="M", language=language, level="A2", interests=[], now=T0
    )
    return learner.id


def submit(
    session: Session,
    learner_id: str,
    item: Item,
    correct: bool,
    now: datetime,
    key: str | None = None,
    latency_ms: int | None = None,
) -> FeedbackView:
    feedback = service.submit_answer(
        session,
        learner_id,
        item_id=item.id,
        answer=item.answers[0] if correct else "zzz wrong",
        idempotency_key=key or str(uuid.uuid4()),
        now=now,
        latency_ms=latency_ms,
    )
    assert feedback.correct is correct
    return feedback


def english(bank: Bank, kind: ItemType | None = None) -> list[Item]:
    return [i for i in bank.items[Language.EN] if kind is None or i.type is kind]


def test_a_right_answer_moves_the_due_date_forward(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    item = english(bank)[0]
    first = T0 + timedelta(minutes=1)
    submit(session, learner, item, True, first)
    state = memory_repo.review_state(session, learner, item.id)
    assert state is not None
    assert (state.reps, state.last_review, state.state) == (1, first, State.Learning)
    assert state.due == first + timedelta(minutes=10)  # the second learning step
    second = first + timedelta(minutes=11)
    submit(session, learner, item, True, second)
    graduated = memory_repo.review_state(session, learner, item.id)
    assert graduated is not None and graduated.state is State.Review
    assert graduated.due >= second + timedelta(days=2)
    third = graduated.due
    submit(session, learner, item, True, third)
    later = memory_repo.review_state(session, learner, item.id)
    assert later is not None and later.due - third > graduated.due - second


def test_a_wrong_answer_is_due_again_soon(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    fresh, known = english(bank)[1:3]
    submit(session, learner, fresh, False, T0)
    state = memory_repo.review_state(session, learner, fresh.id)
    assert state is not None and state.due == T0 + timedelta(minutes=1)
    submit(session, learner, known, True, T0)
    submit(session, learner, known, True, T0 + timedelta(minutes=11))
    moment = T0 + timedelta(days=3)
    submit(session, learner, known, False, moment)
    lapsed = memory_repo.review_state(session, learner, known.id)
    assert lapsed is not None
    assert lapsed.due == moment + timedelta(minutes=10)  # the relearning step
    assert (lapsed.state, lapsed.lapses, lapsed.reps) == (State.Relearning, 1, 3)


def test_a_duplicate_submission_reviews_once(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    item = english(bank)[3]
    submit(session, learner, item, True, T0, key="same-key")
    replay = submit(session, learner, item, True, T0 + timedelta(hours=1), key="same-key")
    assert replay.duplicate
    state = memory_repo.review_state(session, learner, item.id)
    assert state is not None
    assert (state.reps, state.last_review) == (1, T0)


def test_due_items_after_time_passes(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    known, also_known, missed = english(bank)[4:7]
    for item in (known, also_known):
        submit(session, learner, item, True, T0)
        submit(session, learner, item, True, T0 + timedelta(minutes=11))
    submit(session, learner, missed, False, T0 + timedelta(minutes=12))
    assert memory_service.due_items(session, learner, T0 + timedelta(minutes=12, seconds=30)) == []
    soon = memory_service.due_items(session, learner, T0 + timedelta(minutes=14))
    assert [d.item_id for d in soon] == [missed.id]
    later = T0 + timedelta(days=10)
    due = memory_service.due_items(session, learner, later)
    assert {d.item_id for d in due} == {known.id, also_known.id, missed.id}
    assert [d.retrievability for d in due] == sorted(d.retrievability for d in due)
    assert due[0].item_id == missed.id
    assert all(0 < d.retrievability < 0.9 and d.due <= later for d in due)
    assert memory_service.due_items(session, learner, later, limit=1) == due[:1]
    assert memory_service.due_count(session, learner, later) == 3
    with pytest.raises(NotFound):
        memory_service.due_items(session, "nobody", later)
    with pytest.raises(InvalidInput):
        memory_service.due_items(session, learner, later, limit=0)


def test_the_speed_of_a_right_answer_sets_the_rating(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    choices = english(bank, ItemType.CHOICE)
    for n, item in enumerate(choices[:5]):
        submit(session, learner, item, True, T0 + timedelta(minutes=n), latency_ms=4000)
    fast, slow = choices[5:7]
    cloze = english(bank, ItemType.CLOZE)[0]
    moment = T0 + timedelta(minutes=10)
    submit(session, learner, fast, True, moment, latency_ms=1500)  # Easy: graduates at once
    submit(session, learner, slow, True, moment, latency_ms=9000)  # Hard
    submit(session, learner, cloze, True, moment, latency_ms=1500)  # no cloze baseline: Good
    states = memory_repo.review_states(session, learner)
    assert states[fast.id].state is State.Review
    assert states[fast.id].due - moment >= timedelta(days=8)
    assert states[slow.id].due == moment + timedelta(minutes=5, seconds=30)
    assert states[cloze.id].due == moment + timedelta(minutes=10)


def test_the_stored_state_is_the_replayed_log(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    rng = random.Random(5)
    items = english(bank)[10:16]
    moment = T0
    for _ in range(30):
        moment += timedelta(hours=rng.choice([0, 1, 20, 50]), minutes=rng.randint(1, 30))
        submit(
            session,
            learner,
            rng.choice(items),
            rng.random() < 0.7,
            moment,
            latency_ms=rng.choice([None, 800, 3000, 9000]),
        )
    stored = memory_repo.review_states(session, learner, include_disabled=True)
    assert len(stored) == len({a.item_id for a in service.attempts(session, learner)})
    assert memory_service.rebuild_review_states(session, learner) == stored


def test_answers_from_before_the_memory_model_are_replayed(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    item = english(bank)[17]
    # An attempt stored by a version without review states (a database upgraded to 0002).
    session.add(
        AttemptRow(
            learner_id=learner,
            item_id=item.id,
            answer=item.answers[0],
            correct=True,
            answered_at=T0,
            idempotency_key="before-0002",
        )
    )
    session.commit()
    assert memory_repo.review_state(session, learner, item.id) is None
    submit(session, learner, item, True, T0 + timedelta(days=1))
    state = memory_repo.review_state(session, learner, item.id)
    assert state is not None and state.reps == 2
    assert memory_service.rebuild_review_states(session, learner) == {item.id: state}


def test_refit_with_too_few_reviews_is_a_clear_noop(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    for n, item in enumerate(english(bank)[20:23]):
        submit(session, learner, item, n != 1, T0 + timedelta(minutes=n))
    before = memory_repo.review_states(session, learner)
    result = memory_service.refit_memory(session, learner, T0 + timedelta(days=1))
    assert not result.fitted
    assert "has 3 reviews; fitting needs at least 400" in result.message
    assert "keeping the default FSRS parameters" in result.message
    assert result.parameters == MemoryParams().parameters
    thin = memory_service.refit_memory(session, learner, T0 + timedelta(days=1), min_reviews=1)
    assert not thin.fitted and "too little to learn from" in thin.message
    assert session.get(LearnerMemoryParamsRow, learner) is None
    assert memory_repo.review_states(session, learner) == before
    with pytest.raises(NotFound):
        memory_service.refit_memory(session, "nobody", T0)


def add_synthetic_reviews(session: Session, learner: str, items: list[Item], per_item: int) -> int:
    """A plausible spaced history: each item answered `per_item` times, days apart."""
    rng = random.Random(11)
    rows = []
    for n, item in enumerate(items):
        moment = T0 + timedelta(hours=n)
        for k in range(per_item):
            if k:
                moment += timedelta(days=rng.choice([1, 2, 3, 5, 8, 13]))
            rows.append((moment, item.id, rng.random() < 0.8))
    rows.sort()
    session.add_all(
        AttemptRow(
            learner_id=learner,
            item_id=item_id,
            answer="synthetic",
            correct=correct,
            answered_at=moment,
            latency_ms=None,
            idempotency_key=f"synthetic-{n}",
        )
        for n, (moment, item_id, correct) in enumerate(rows)
    )
    session.commit()
    return len(rows)


def test_refit_with_enough_reviews_changes_the_parameters(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    count = add_synthetic_reviews(session, learner, english(bank)[:60], per_item=6)
    defaults = memory_service.rebuild_review_states(session, learner)
    now = T0 + timedelta(days=200)
    result = memory_service.refit_memory(session, learner, now, min_reviews=300)
    assert result.fitted, result.message
    assert result.n_reviews == count == 360
    params = memory_service.memory_params(session, learner)
    assert not params.is_default and params.parameters == result.parameters
    row = session.get(LearnerMemoryParamsRow, learner)
    assert row is not None and (row.fitted_at, row.n_reviews) == (now, 360)
    # Every item was rescheduled with the fitted weights.
    stored = memory_repo.review_states(session, learner, include_disabled=True)
    assert stored == MemoryModel(params).replay(memory_repo.review_log(session, learner))
    assert stored.keys() == defaults.keys() and stored != defaults
    # New answers are scheduled with them too.
    item = english(bank)[0]
    submit(session, learner, item, True, now)
    assert memory_service.rebuild_review_states(session, learner) == memory_repo.review_states(
        session, learner, include_disabled=True
    )


def test_desired_retention_is_per_learner_and_checked(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    item = english(bank)[30]
    submit(session, learner, item, True, T0)
    submit(session, learner, item, True, T0 + timedelta(minutes=11))
    relaxed = memory_repo.review_state(session, learner, item.id)
    with pytest.raises(InvalidInput, match="desired retention"):
        memory_service.set_desired_retention(session, learner, 0.3)
    memory_service.set_desired_retention(session, learner, 0.97)
    assert memory_service.memory_params(session, learner).desired_retention == 0.97
    strict = memory_repo.review_state(session, learner, item.id)
    assert relaxed is not None and strict is not None and strict.due < relaxed.due
    other = new_learner(session)
    assert memory_service.memory_params(session, other).desired_retention == 0.9


def test_the_reviews_route(client: TestClient, clock: Clock, bank: Bank) -> None:
    missing = client.get("/api/learners/nope/reviews")
    assert missing.status_code == 404
    assert "no learner with id 'nope'" in missing.json()["detail"]
    learner = client.post(
        "/api/learners", json={"name": "R", "language": "en", "level": "A2", "interests": []}
    ).json()
    url = f"/api/learners/{learner['id']}/reviews"
    assert client.get(url).json() == []
    item = english(bank)[40]
    body = {"item_id": item.id, "answer": "zzz", "idempotency_key": str(uuid.uuid4())}
    assert client.post(f"/api/learners/{learner['id']}/attempts", json=body).status_code == 200
    clock.now += timedelta(minutes=5)
    due = client.get(url).json()
    assert [d["item_id"] for d in due] == [item.id]
    assert 0 < due[0]["retrievability"] <= 1 and due[0]["due"]
    assert client.get(url, params={"limit": 0}).status_code == 422
    assert "/api/learners/{learner_id}/reviews" in client.get("/openapi.json").json()["paths"]


def test_the_progress_page_counts_due_reviews(client: TestClient, clock: Clock) -> None:
    client.post(
        "/onboard",
        data={"name": "P", "language": "en", "level": "A1", "interests": ["music"]},
        follow_redirects=False,
    )
    assert "0 reviews due." in client.get("/progress").text
    page = client.get("/practice").text
    item_id = page.split('name="item_id" value="', 1)[1].split('"', 1)[0]
    key = page.split('name="key" value="', 1)[1].split('"', 1)[0]
    client.post("/practice", data={"item_id": item_id, "key": key, "answer": "zzz"})
    clock.now += timedelta(minutes=5)
    assert "1 review due." in client.get("/progress").text


def test_refit_memory_on_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'refit.sqlite3'}"
    assert runner.invoke(app, ["--db", url, "init"]).exit_code == 0
    engine = make_engine(url)
    with session_factory(engine)() as db_session:
        learner = new_learner(db_session)
    engine.dispose()
    result = runner.invoke(app, ["--db", url, "learner", "refit-memory", learner])
    assert result.exit_code == 0, result.output
    assert "has 0 reviews; fitting needs at least 400" in result.output
    unknown = runner.invoke(app, ["--db", url, "learner", "refit-memory", "nobody"])
    assert unknown.exit_code == 1
    assert "no learner with id 'nobody'" in unknown.output
