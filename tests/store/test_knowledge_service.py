"""The knowledge-tracing model in the product: refit, online updates in the attempt's
transaction, mastery on the progress page, and the attempt export."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.content.bank import Bank
from hyperlearn.core import Language
from hyperlearn.evaluation.kt_data import load_log
from hyperlearn.service import knowledge
from hyperlearn.service import practice as service
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.store.models import KTModelRow, LearnerKTStateRow
from tests.conftest import T0


def practise(url: str, bank: Bank, learners: int, answers: int, seed: int) -> list[str]:
    """Learners who get an item right more often the more they have practised its skill."""
    keys = {item.id: item.answers[0] for item in bank.all_items()}
    rng = random.Random(seed)
    engine = make_engine(url)
    ids = []
    with session_factory(engine)() as session:
        for n in range(learners):
            learner = service.onboard(
                session, name=f"S{n}", language="en", level="A2", interests=[], now=T0
            )
            ids.append(learner.id)
            seen: dict[str, int] = {}
            for k in range(answers):
                when = T0 + timedelta(hours=n, minutes=2 * k)
                exercise = service.next_exercise(session, learner.id, rng, when)
                practice = seen.get(exercise.skill_id, 0)
                right = rng.random() < min(0.35 + 0.12 * practice, 0.95)
                seen[exercise.skill_id] = practice + 1
                service.submit_answer(
                    session,
                    learner.id,
                    item_id=exercise.item_id,
                    answer=keys[exercise.item_id] if right else "nope",
                    idempotency_key=f"{n}-{k}",
                    now=T0 + timedelta(hours=n, minutes=2 * k),
                )
    engine.dispose()
    return ids


def test_refit_needs_data_and_says_so(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        report = knowledge.refit(session, T0)
        assert not report.fitted
        assert "needs at least 200" in report.message
        assert session.scalar(select(func.count()).select_from(KTModelRow)) == 0
        assert knowledge.active_model(session) is None
    engine.dispose()
    result = CliRunner().invoke(app, ["--db", fresh_database_url, "learner", "refit"])
    assert result.exit_code == 0
    assert "nothing changed" in result.output


def test_refit_then_online_updates_in_the_attempt_transaction(
    fresh_database_url: str, bank: Bank
) -> None:
    learners = practise(fresh_database_url, bank, learners=3, answers=30, seed=5)
    engine = make_engine(fresh_database_url)
    sessions = session_factory(engine)
    with sessions() as session:
        report = knowledge.refit(session, T0 + timedelta(days=1), min_attempts=50)
        assert report.fitted, report.message
        assert (report.n_attempts, report.n_learners) == (90, 3)
        states = session.scalars(select(LearnerKTStateRow)).all()
        assert {s.learner_id for s in states} == set(learners)
        assert all(s.model_id == report.model_id for s in states)

        learner = learners[0]
        before = session.get(LearnerKTStateRow, learner)
        assert before is not None
        failures_before = before.state["total_failures"]
        successes_before = before.state["total_successes"]
        exercise = service.next_exercise(session, learner, random.Random(1), T0 + timedelta(days=2))
        service.submit_answer(
            session,
            learner,
            item_id=exercise.item_id,
            answer="surely wrong",
            idempotency_key="after-refit",
            now=T0 + timedelta(days=2),
        )
    with sessions() as session:
        after = session.get(LearnerKTStateRow, learner)
        assert after is not None
        assert after.state["total_successes"] == successes_before
        assert after.state["total_failures"] == failures_before + 1
        # The stored state is exactly what replaying the log gives.
        active = knowledge.active_model(session)
        assert active is not None
        session.delete(after)
        session.flush()
        rebuilt = knowledge.learner_state(session, learner, active)
        assert rebuilt.to_dict() == after.state
        session.rollback()
    engine.dispose()


def test_progress_shows_the_fitted_models_mastery(fresh_database_url: str, bank: Bank) -> None:
    learners = practise(fresh_database_url, bank, learners=3, answers=30, seed=8)
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        elo = {p.skill_id: p.mastery for p in service.progress(session, learners[1], T0)}
        assert knowledge.refit(session, T0 + timedelta(days=1), min_attempts=50).fitted
        now = T0 + timedelta(days=1)
        shown = {p.skill_id: p.mastery for p in service.progress(session, learners[1], now)}
        expected = knowledge.mastery(session, learners[1], now)
        assert expected is not None
        assert shown == pytest.approx(expected)
        assert shown != pytest.approx(elo)
        assert set(shown) == set(bank.graphs[Language.EN].skills)
        assert all(0.0 < value < 1.0 for value in shown.values())
    engine.dispose()


def test_mastery_of_a_class_at_once_equals_one_learner_at_a_time(
    fresh_database_url: str, bank: Bank
) -> None:
    """The heat map's batched lookup gives what each learner's progress page shows, also for
    a learner whose stored state is missing (rebuilt from the log)."""
    learners = practise(fresh_database_url, bank, learners=3, answers=20, seed=4)
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        now = T0 + timedelta(days=1)
        assert knowledge.mastery_of_learners(session, learners, "en", now) is None
        assert knowledge.refit(session, now, min_attempts=50).fitted
        stale = session.get(LearnerKTStateRow, learners[2])
        assert stale is not None
        session.delete(stale)
        session.flush()
        together = knowledge.mastery_of_learners(session, learners, "en", now)
        assert together is not None and list(together) == learners
        for learner in learners:
            alone = knowledge.mastery(session, learner, now)
            assert alone is not None
            assert together[learner] == pytest.approx(alone, abs=1e-12)
        assert together[learners[0]] != pytest.approx(together[learners[1]])
    engine.dispose()


def test_export_reads_back_with_the_benchmark_loader(
    fresh_database_url: str, bank: Bank, tmp_path: Path
) -> None:
    practise(fresh_database_url, bank, learners=2, answers=15, seed=2)
    path = tmp_path / "attempts.csv"
    result = CliRunner().invoke(app, ["--db", fresh_database_url, "learner", "export", str(path)])
    assert result.exit_code == 0, result.output
    assert "Wrote 30 attempts" in result.output
    log, problems = load_log(path, "hyperlearn")
    assert problems == []
    assert (len(log), log.n_learners) == (30, 2)
    assert log.has_time
