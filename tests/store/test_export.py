"""Data portability through the service: a learner's data as JSON and CSV, deleting a learner
(their reports keep withholding the item), class results as CSV, and the Anki deck."""

from __future__ import annotations

import csv
import html
import io
import json
import random
import sqlite3
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hyperlearn.core import Language
from hyperlearn.service import InvalidInput, NotFound, practice, recommend
from hyperlearn.service import export as service
from hyperlearn.store import repository
from hyperlearn.store.models import (
    AttemptRow,
    ItemReportRow,
    ItemReviewStateRow,
    LearnerItemEventRow,
    LearnerRow,
    LearnerSkillStateRow,
    LearnerTopicRow,
)
from tests.conftest import T0


def _learner_with_history(session: Session, answers: int = 6) -> practice.LearnerView:
    learner = practice.onboard(
        session, name="Ada", language="en", level="A2", interests=["football"], now=T0
    )
    rng = random.Random(7)
    now = T0
    for n in range(answers):
        now += timedelta(minutes=1)
        exercise = practice.next_exercise(session, learner.id, rng, now, themed=False)
        practice.submit_answer(
            session,
            learner.id,
            item_id=exercise.item_id,
            answer="=HYPERLINK(x)" if n == 0 else "was having",
            idempotency_key=str(uuid.uuid4()),
            now=now,
            latency_ms=1000 + n,
        )
    return learner


def test_export_has_everything_the_learner_made(fresh_session: Session) -> None:
    session = fresh_session
    learner = _learner_with_history(session)
    item_id = practice.attempts(session, learner.id)[0].item_id
    recommend.record_signal(session, learner.id, item_id, "like", T0 + timedelta(hours=1))
    recommend.report_item(session, learner.id, item_id, "typo", T0 + timedelta(hours=1))

    data = service.export_learner(session, learner.id, T0 + timedelta(days=1))

    assert data["format"] == service.EXPORT_FORMAT
    assert data["learner"]["id"] == learner.id
    assert data["learner"]["name"] == "Ada"
    assert data["account"] is None  # made through the service, without a login
    assert data["interests"]["topics"] == ["football"]
    assert data["settings"]["policy"] == "hybrid"
    assert len(data["attempts"]) == 6
    assert data["attempts"][0]["answer"] == "=HYPERLINK(x)"  # JSON keeps the text as typed
    assert all(a["skills"] for a in data["attempts"])
    assert len(data["skill_states"]) == len(repository.load_graph(session, Language.EN))
    assert {r["item_id"] for r in data["review_states"]} <= {a["item_id"] for a in data["attempts"]}
    assert data["review_states"]
    assert [e["kind"] for e in data["events"]] == ["like", "report"]
    assert data["reports"][0]["reason"] == "typo"
    json.dumps(data)  # everything is JSON-ready


def test_attempts_csv_is_one_row_per_attempt_and_safe_in_spreadsheets(session: Session) -> None:
    learner = _learner_with_history(session, answers=3)
    rows = list(csv.DictReader(io.StringIO(service.attempts_csv(session, learner.id))))
    assert [int(r["attempt_id"]) for r in rows] == [
        a.id for a in practice.attempts(session, learner.id)
    ]
    assert tuple(rows[0]) == service.ATTEMPT_COLUMNS
    assert rows[0]["answer"] == "'=HYPERLINK(x)"  # never a formula
    assert rows[1]["latency_ms"] == "1001"
    assert rows[1]["correct"] in ("0", "1")
    # The progress page's totals, counted by the database, agree with the log.
    assert practice.attempt_totals(session, learner.id) == (
        len(rows),
        sum(int(r["correct"]) for r in rows),
    )


def test_unknown_learner_is_not_found(session: Session) -> None:
    for call in (
        lambda: service.export_learner(session, "nobody", T0),
        lambda: service.attempts_csv(session, "nobody"),
        lambda: service.delete_learner(session, "nobody"),
    ):
        with pytest.raises(NotFound):
            call()


def _count(session: Session, model: Any, learner_id: str) -> int:
    column = model.learner_id if hasattr(model, "learner_id") else model.id
    return session.scalar(select(func.count()).select_from(model).where(column == learner_id)) or 0


def test_delete_removes_every_row_and_unlinks_reports(fresh_session: Session) -> None:
    session = fresh_session
    learner = _learner_with_history(session, answers=4)
    other = _learner_with_history(session, answers=2)
    item_id = practice.attempts(session, learner.id)[0].item_id
    recommend.record_signal(session, learner.id, item_id, "dislike", T0 + timedelta(hours=1))
    report_id = recommend.report_item(session, learner.id, item_id, "wrong", T0)

    done = service.delete_learner(session, learner.id)

    assert done.deleted["learners"] == 1
    assert done.deleted["attempts"] == 4
    assert done.unlinked == {"item_reports": 1}
    session.expire_all()
    for model in (
        LearnerRow,
        AttemptRow,
        LearnerSkillStateRow,
        ItemReviewStateRow,
        LearnerItemEventRow,
        LearnerTopicRow,
    ):
        assert _count(session, model, learner.id) == 0, model.__tablename__
    report = session.get(ItemReportRow, report_id)
    assert report is not None and report.learner_id is None and report.status == "open"
    assert item_id in repository.withheld_item_ids(session)  # still withheld from everyone
    # The other learner is untouched.
    assert len(practice.attempts(session, other.id)) == 2
    assert practice.get_learner(session, other.id).name == "Ada"


def test_class_results_csv(session: Session) -> None:
    first = _learner_with_history(session, answers=3)
    second = practice.onboard(session, name="=cmd", language="ru", level="B1", interests=[], now=T0)
    text = service.export_results_csv(session, [first.id, second.id, first.id], T0)
    rows = list(csv.DictReader(io.StringIO(text)))
    en = len(repository.load_graph(session, Language.EN))
    ru = len(repository.load_graph(session, Language.RU))
    assert len(rows) == en + ru  # one row per learner and skill; repeats collapse
    assert {r["learner_id"] for r in rows} == {first.id, second.id}
    mine = [r for r in rows if r["learner_id"] == first.id]
    assert sum(int(r["attempts"]) for r in mine) == 3
    assert all(0.0 <= float(r["mastery"]) <= 1.0 for r in rows)
    assert {r["learner_name"] for r in rows if r["learner_id"] == second.id} == {"'=cmd"}
    assert service.export_results_csv(session, [], T0).splitlines() == [
        ",".join(service.RESULT_COLUMNS)
    ]
    with pytest.raises(NotFound):
        service.export_results_csv(session, ["nobody"], T0)


def _notes(path: Path) -> list[tuple[str, str]]:
    """(guid, fields) of every note in an .apkg: a zip holding an SQLite Anki collection."""
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert "collection.anki2" in archive.namelist()
        collection = path.with_suffix(".anki2")
        collection.write_bytes(archive.read("collection.anki2"))
    with sqlite3.connect(collection) as db:
        return [(g, f) for g, f in db.execute("SELECT guid, flds FROM notes ORDER BY guid")]


def test_anki_deck_has_a_note_per_item(session: Session, tmp_path: Path) -> None:
    skills = ["en.past_continuous", "en.used_to"]
    expected = [
        i
        for i in repository.load_items(session, Language.EN)
        if i.primary_skill in skills and i.id not in repository.withheld_item_ids(session)
    ]
    assert expected

    report = service.export_anki(session, "en", skills, tmp_path / "deck.apkg")

    assert report.notes == len(expected)
    assert sum(report.per_skill.values()) == report.notes
    assert report.deck_id == service.anki_deck_id(Language.EN, reversed(skills))
    notes = _notes(report.path)
    assert len(notes) == len(expected)
    fields = {f.split("\x1f")[-1]: f.split("\x1f") for _, f in notes}
    item = expected[0]
    front, answer, rule, source, item_id = fields[item.id]
    assert item_id == item.id
    assert "___" in front or item.text[:20] in front
    assert html.escape(item.answers[0]) in answer
    skill = repository.load_graph(session, Language.EN)[item.primary_skill]
    assert rule.startswith(f"<b>{html.escape(skill.name)}</b>")
    assert item.provenance.licence in source

    # Same skills, same ids: Anki updates the deck instead of adding a second one.
    again = service.export_anki(session, "en", list(reversed(skills)), tmp_path / "again.apkg")
    assert again.deck_id == report.deck_id
    assert sorted(g for g, _ in _notes(again.path)) == sorted(g for g, _ in notes)


def test_anki_rejects_unknown_input(session: Session, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        service.export_anki(session, "fr", ["en.used_to"], tmp_path / "x.apkg")
    with pytest.raises(NotFound):
        service.export_anki(session, "en", ["en.nothing"], tmp_path / "x.apkg")
    with pytest.raises(InvalidInput):
        service.export_anki(session, "en", [], tmp_path / "x.apkg")
    with pytest.raises(InvalidInput):
        service.export_anki(session, "en", ["en.used_to"], tmp_path / "x.apkg", level="Z9")
    low = service.export_anki(session, "en", ["en.used_to"], tmp_path / "a1.apkg", level="A1")
    assert (
        low.notes <= service.export_anki(session, "en", ["en.used_to"], tmp_path / "all.apkg").notes
    )


def test_delete_takes_a_learners_login_but_not_a_teachers(session: Session) -> None:
    from hyperlearn.service import accounts

    suffix = uuid.uuid4().hex[:8]
    pupil = practice.onboard(session, name="P", language="en", level="A1", interests=[], now=T0)
    teacher_profile = practice.onboard(
        session, name="T", language="en", level="C1", interests=[], now=T0
    )
    login = accounts.create_user(
        session, username=f"pupil{suffix}", password="long enough pw", role="learner", now=T0
    )
    accounts.attach_learner(session, login.id, pupil.id)
    accounts.create_token(session, login.id, "phone", T0)
    teacher = accounts.create_user(
        session, username=f"teach{suffix}", password="long enough pw", role="teacher", now=T0
    )
    accounts.attach_learner(session, teacher.id, teacher_profile.id)

    account = service.export_learner(session, pupil.id, T0)["account"]
    assert account["username"] == f"pupil{suffix}"
    assert [t["name"] for t in account["api_tokens"]] == ["phone"]
    assert "password_hash" not in json.dumps(account)
    assert service.export_learner(session, teacher_profile.id, T0)["account"]["role"] == "teacher"

    done = service.delete_learner(session, pupil.id)
    assert done.deleted["users"] == 1
    assert done.deleted["api_tokens"] == 1
    session.expire_all()
    with pytest.raises(NotFound):
        accounts.get_user(session, login.id)

    done = service.delete_learner(session, teacher_profile.id)
    assert "users" not in done.deleted
    assert done.unlinked == {"users": 1}
    session.expire_all()
    assert accounts.get_user(session, teacher.id).learner_id is None


def test_delete_removes_the_texts_the_learner_pasted(fresh_session: Session) -> None:
    """A pasted text is private to its learner; unlinked, it would be shown to everyone."""
    from hyperlearn.service import reading

    session = fresh_session
    learner = _learner_with_history(session, answers=1)
    other = _learner_with_history(session, answers=1)
    body = (
        "Maria Lopez opened a small bakery in the old town in 2019. "
        "Every morning she bakes bread for her neighbours. "
        "The bakery became popular because the bread was cheap and fresh."
    )
    pasted = reading.add_text(
        session, body, Language.EN, now=T0, title="My bakery", created_by=learner.id
    )
    assert pasted.text_id
    mine = reading.list_texts(session, Language.EN, viewer=learner.id)
    assert [t.title for t in mine] == ["My bakery"]
    assert reading.list_texts(session, Language.EN, viewer=other.id) == []

    done = service.delete_learner(session, learner.id)

    assert done.deleted["reading_texts"] == 1
    session.expire_all()
    assert reading.list_texts(session, Language.EN, viewer=other.id) == []
    assert reading.list_texts(session, Language.EN) == []
