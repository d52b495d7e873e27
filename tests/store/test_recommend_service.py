"""The recommender through the service and the API, on SQLite and PostgreSQL: policies per
learner, reasons, engagement signals, reports that withhold items, themed items."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hyperlearn.content.bank import Bank
from hyperlearn.core import Item, Language
from hyperlearn.service import InvalidInput, NotFound, recommend
from hyperlearn.service import practice as service
from hyperlearn.settings import Settings
from hyperlearn.store import repository
from hyperlearn.store.models import ItemReportRow, ItemRow, LearnerItemEventRow
from hyperlearn.web.app import create_app
from tests.conftest import T0, Clock
from tests.signin import AppClient, sign_up


def new_learner(session: Session, interests: list[str] | None = None, level: str = "A2") -> str:
    return service.onboard(
        session, name="R", language="en", level=level, interests=interests or [], now=T0
    ).id


def test_the_default_policy_is_hybrid_and_explains_itself(session: Session) -> None:
    learner = new_learner(session, ["football"])
    exercise = service.next_exercise(session, learner, random.Random(1), T0, themed=False)
    assert exercise.policy == "hybrid"
    assert exercise.reasons and all(r.text for r in exercise.reasons)
    assert any(r.factor == "need" for r in exercise.reasons)


def test_each_policy_can_be_chosen_per_learner(session: Session) -> None:
    learner = new_learner(session)
    for name in ("mastery", "random", "hybrid"):
        changed = recommend.update_settings(session, learner, policy=name)
        assert changed.policy == name
        exercise = service.next_exercise(session, learner, random.Random(2), T0, themed=False)
        assert exercise.policy == name
    other = new_learner(session)
    assert recommend.settings(session, other).policy == "hybrid"


def test_bad_settings_are_refused_and_change_nothing(session: Session) -> None:
    learner = new_learner(session)
    with pytest.raises(InvalidInput, match="unknown policy 'best'"):
        recommend.update_settings(session, learner, policy="best")
    with pytest.raises(InvalidInput, match="band"):
        recommend.update_settings(session, learner, policy="mastery", band=(0.9, 0.5))
    with pytest.raises(InvalidInput, match="goal level"):
        recommend.update_settings(session, learner, goal_level="Z9")
    assert recommend.settings(session, learner).policy == "hybrid"
    kept = recommend.update_settings(session, learner, band=(0.6, 0.75), goal_level="B2")
    assert kept.band == (0.6, 0.75) and str(kept.goal_level) == "B2"
    with pytest.raises(NotFound):
        recommend.settings(session, "nobody")


def test_signals_teach_the_interest_profile(session: Session, bank: Bank) -> None:
    learner = new_learner(session, ["food"])
    music = next(i for i in bank.items[Language.EN] if "music" in i.topics)
    travel = next(
        i for i in bank.items[Language.EN] if "travel" in i.topics and "music" not in i.topics
    )
    recommend.record_signal(session, learner, music.id, "like", T0)
    recommend.record_signal(session, learner, travel.id, "skip", T0)
    weights = recommend.interests(session, learner, T0 + timedelta(hours=1))
    assert weights["food"] == 1.0
    assert weights["music"] > 0.4
    assert weights["travel"] < 0
    # Old signals fade: after a year the like is almost gone.
    later = recommend.interests(session, learner, T0 + timedelta(days=365))
    assert later["music"] < 0.01


def test_bad_signals_are_refused(session: Session, bank: Bank) -> None:
    learner = new_learner(session)
    item = bank.items[Language.EN][0]
    with pytest.raises(InvalidInput, match="unknown signal 'love'"):
        recommend.record_signal(session, learner, item.id, "love", T0)
    with pytest.raises(InvalidInput, match="unknown signal 'report'"):
        recommend.record_signal(session, learner, item.id, "report", T0)  # reports have a route
    with pytest.raises(NotFound):
        recommend.record_signal(session, learner, "en-0000000000000000", "like", T0)
    stored = session.scalar(
        select(LearnerItemEventRow.id).where(LearnerItemEventRow.learner_id == learner)
    )
    assert stored is None


def test_a_reported_item_is_withheld_from_everyone(fresh_session: Session) -> None:
    reporter, other = new_learner(fresh_session), new_learner(fresh_session)
    shown = service.next_exercise(fresh_session, reporter, random.Random(3), T0, themed=False)
    report_id = recommend.report_item(fresh_session, reporter, shown.item_id, "two answers fit", T0)
    stored = fresh_session.get(ItemReportRow, report_id)
    assert stored is not None and stored.status == "open" and stored.reason == "two answers fit"
    for learner in (reporter, other):
        ranked = recommend.rank(fresh_session, learner, T0, random.Random(3), limit=1000)
        assert shown.item_id not in {r.item.id for r in ranked}
    with pytest.raises(InvalidInput, match="at most 500"):
        recommend.report_item(fresh_session, reporter, shown.item_id, "x" * 501, T0)


def test_the_hybrid_policy_builds_a_themed_item_for_a_missing_topic(
    fresh_session: Session, bank: Bank
) -> None:
    made: list[tuple[str, str]] = []

    class Maker:
        def supports(self, language: Language, skill_id: str, topic_id: str) -> bool:
            return True

        def make(
            self, language: Language, skill_id: str, topic_id: str, rng: random.Random
        ) -> Item:
            made.append((skill_id, topic_id))
            return Item.create(
                language=language,
                type=bank.items[Language.EN][0].type,
                text=f"Made for {topic_id}: it ___ fine.",
                answers=("is",),
                skills=(skill_id,),
                level=bank.graphs[Language.EN][skill_id].level,
                topics=(topic_id,),
                hint="be",
            )

    # The starter bank covers every topic for some skills only: some liked topic lacks an item
    # for the skill a new learner needs most, and then the policy asks for one.
    for topic in sorted(bank.topics):
        learner = new_learner(fresh_session, [topic])
        choice = recommend.choose(fresh_session, learner, T0, random.Random(1), Maker())
        if made:
            break
    assert made, "no topic lacked an item for the neediest skill"
    skill_id, topic_id = made[0]
    assert choice.themed and choice.item.topics == (topic_id,)
    assert choice.item.primary_skill == skill_id
    assert any(r.factor == "themed" for r in choice.reasons)
    assert (
        fresh_session.get(ItemRow, choice.item.id) is not None
    )  # stored: attempts can refer to it
    # A learner whose liked topic is covered gets a stored item and nothing is built.
    covered = next(t for t in sorted(bank.topics) if t != topic_id)
    made.clear()
    other = new_learner(fresh_session, [covered])
    assert recommend.choose(fresh_session, other, T0, random.Random(1), None).themed is False


def test_real_themed_items_are_verified_and_answerable(fresh_session: Session, bank: Bank) -> None:
    themed = []
    for topic in sorted(bank.topics):
        learner = new_learner(fresh_session, [topic], level="A1")
        exercise = service.next_exercise(fresh_session, learner, random.Random(5), T0)
        stored = repository.load_items(fresh_session, ids=[exercise.item_id])[0]
        if stored.provenance.source == "HyperLearn themed templates":
            themed.append(stored)
            break
    assert themed, "no learner was given a themed item"
    feedback = service.submit_answer(
        fresh_session,
        learner,
        item_id=stored.id,
        answer=stored.answers[0],
        idempotency_key="themed-1",
        now=T0 + timedelta(minutes=1),
    )
    assert feedback.correct


def test_api_signals_reports_and_settings(fresh_database_url: str, clock: Clock) -> None:
    app = create_app(Settings(database_url=fresh_database_url), clock=clock)
    with AppClient(app) as client:
        _api_round_trip(sign_up(client))
    app.state.engine.dispose()


def _api_round_trip(client: TestClient) -> None:
    learner = client.post(
        "/api/learners", json={"name": "A", "language": "en", "level": "A1", "interests": []}
    ).json()
    exercise = client.get(f"/api/learners/{learner['id']}/next").json()
    assert all({"factor", "contribution", "text"} <= set(r) for r in exercise["reasons"])
    signal = {"item_id": exercise["item_id"], "signal": "like"}
    assert client.post(f"/api/learners/{learner['id']}/signals", json=signal).status_code == 204
    bad = client.post(
        f"/api/learners/{learner['id']}/signals",
        json={"item_id": exercise["item_id"], "signal": "love"},
    )
    assert bad.status_code == 422 and "unknown signal" in bad.json()["detail"]
    interests = client.get(f"/api/learners/{learner['id']}/interests").json()
    assert interests and interests[0]["weight"] > 0
    settings = client.patch(
        f"/api/learners/{learner['id']}/settings",
        json={"policy": "mastery", "band_low": 0.6, "band_high": 0.8},
    )
    assert settings.status_code == 200 and settings.json()["policy"] == "mastery"
    half = client.patch(f"/api/learners/{learner['id']}/settings", json={"band_low": 0.6})
    assert half.status_code == 422
    report = client.post(
        f"/api/items/{exercise['item_id']}/reports",
        json={"learner_id": learner["id"], "reason": "typo"},
    )
    assert report.status_code == 201 and report.json()["status"] == "open"
    assert (
        client.post("/api/items/nope/reports", json={"learner_id": learner["id"]}).status_code
        == 404
    )


def test_the_bank_cache_sees_every_write_to_items(fresh_session: Session, bank: Bank) -> None:
    from sqlalchemy import update

    before = repository.candidate_set(fresh_session, Language.EN)
    source = bank.items[Language.EN][0]
    extra = Item.create(
        language=Language.EN,
        type=source.type,
        text=f"{source.text} (cache test)",
        answers=source.answers,
        skills=source.skills,
        level=source.level,
        topics=source.topics,
        distractors=source.distractors,
        hint=source.hint,
    )
    repository.add_items(fresh_session, [extra], T0)  # an ORM insert, same clock as the others
    fresh_session.commit()
    added = repository.candidate_set(fresh_session, Language.EN)
    assert extra.id in added.index and extra.id not in before.index
    # A bulk UPDATE statement (no ORM objects) is seen as well.
    fresh_session.execute(update(ItemRow).where(ItemRow.id == extra.id).values(disabled=True))
    fresh_session.commit()
    assert extra.id not in repository.candidate_set(fresh_session, Language.EN).index
    # Nothing written: the same cached object comes back.
    first = repository.candidate_set(fresh_session, Language.EN)
    assert repository.candidate_set(fresh_session, Language.EN) is first
