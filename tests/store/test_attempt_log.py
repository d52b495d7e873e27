"""Attempts are never lost or doubled, also under concurrent retries; state derives from them."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from hyperlearn.content.bank import Bank
from hyperlearn.core import Language
from hyperlearn.service import practice as service
from hyperlearn.service.practice import FeedbackView
from hyperlearn.store import repository
from hyperlearn.store.engine import make_engine, session_factory
from tests.conftest import T0


@pytest.mark.parametrize("language", ["en", "ru"])
def test_concurrent_submissions_with_one_key_store_one_attempt(
    database_url: str, bank: Bank, language: str
) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    with sessions() as session:
        learner = service.onboard(
            session, name="R", language=language, level="A1", interests=[], now=T0
        )
    item = bank.items[Language(language)][0]
    key = str(uuid.uuid4())
    barrier = threading.Barrier(4)
    results: list[FeedbackView] = []
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            with sessions() as session:
                barrier.wait()
                results.append(
                    service.submit_answer(
                        session,
                        learner.id,
                        item_id=item.id,
                        answer=item.answers[0],
                        idempotency_key=key,
                        now=T0 + timedelta(seconds=5),
                    )
                )
        except BaseException as exc:  # reported below, with the thread's traceback
            failures.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(results) == 4
    assert len({r.attempt_id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    with sessions() as session:
        stored = service.attempts(session, learner.id)
        assert len(stored) == 1
        state = repository.skill_states(session, learner.id, [item.primary_skill])
        assert state[item.primary_skill].attempts == 1, "mastery was updated more than once"
    engine.dispose()


def test_skill_state_can_be_rebuilt_from_the_log(database_url: str, bank: Bank) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    answers = {item.id: item.answers[0] for item in bank.all_items()}
    with sessions() as session:
        learner = service.onboard(
            session, name="L", language="en", level="A2", interests=[], now=T0
        )
        import random

        rng = random.Random(3)
        for n in range(12):
            exercise = service.next_exercise(session, learner.id, rng, T0 + timedelta(minutes=n))
            service.submit_answer(
                session,
                learner.id,
                item_id=exercise.item_id,
                answer=answers[exercise.item_id] if n % 2 else "wrong",
                idempotency_key=f"k{n}",
                now=T0 + timedelta(minutes=n),
            )
        stored = repository.skill_states(session, learner.id)
        rebuilt = service.rebuild_skill_states(session, learner.id)
    assert set(stored) == set(rebuilt)
    practised = [s for s in stored.values() if s.attempts]
    assert practised, "the session practised something"
    for skill_id, state in stored.items():
        again = rebuilt[skill_id]
        assert again.ability == pytest.approx(state.ability, abs=1e-9)
        assert (again.attempts, again.correct, again.last_practised) == (
            state.attempts,
            state.correct,
            state.last_practised,
        )
    engine.dispose()
