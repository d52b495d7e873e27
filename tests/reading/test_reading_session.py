"""Storing texts and answering a reading session through the web app, on a real database:
answers are graded, stored once per key, and feed the learner and memory models."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hyperlearn.core import Language
from hyperlearn.service import reading
from hyperlearn.service.errors import InvalidInput
from hyperlearn.settings import Settings
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.store.models import (
    AttemptRow,
    ItemReviewStateRow,
    ItemRow,
    LearnerSkillStateRow,
    ReadingQuestionRow,
)
from hyperlearn.web.app import create_app
from tests.conftest import Clock, require_shared_data
from tests.reading.test_texts_and_questions import EN_TEXT, RU_TEXT
from tests.signin import AppClient, sign_up

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_add_text_stores_grounded_questions_once(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        first = reading.add_text(session, EN_TEXT, Language.EN, now=NOW, title="Bakery")
        assert first.added and first.questions > 0 and not first.problem
        assert first.level
        again = reading.add_text(session, EN_TEXT, Language.EN, now=NOW, title="Bakery")
        assert not again.added and again.questions == first.questions
        rows = session.scalars(
            select(ReadingQuestionRow).where(ReadingQuestionRow.text_id == first.text_id)
        ).all()
        assert len(rows) == first.questions
        body = reading.stored_text(session, first.text_id).body
        for row in rows:
            assert body[row.answer_start : row.answer_end] == row.answer
        # Reading items need their text: they stay out of the general practice pool.
        items = session.scalars(select(ItemRow).where(ItemRow.id.in_([r.item_id for r in rows])))
        assert all(item.disabled for item in items)
        ru = reading.add_text(session, RU_TEXT, Language.RU, now=NOW)
        assert ru.added and ru.questions > 0
        empty = reading.add_text(session, "Hello. Yes! OK.", Language.EN, now=NOW)
        assert empty.questions == 0 and empty.problem == reading.NO_SENTENCES
        with pytest.raises(InvalidInput, match="mixes English and Russian"):
            reading.add_text(session, EN_TEXT + "\n\n" + RU_TEXT, Language.EN, now=NOW)
    engine.dispose()


def test_import_onestop_files(fresh_database_url: str) -> None:
    root = require_shared_data("texts/onestopenglish/Texts-SeparatedByReadingLevel")
    files = [root / "Ele-Txt" / "Amazon-ele.txt", root / "Adv-Txt" / "Amazon-adv.txt"]
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        reports = reading.import_texts(session, files, Language.EN, now=NOW)
        assert [r.label for r in reports] == ["elementary", "advanced"]
        assert all(r.added and r.questions for r in reports)
        summaries = reading.list_texts(session, Language.EN)
        assert {s.source for s in summaries} == {"OneStopEnglish"}
    engine.dispose()


def test_import_reports_a_bad_file(fresh_database_url: str, tmp_path: Path) -> None:
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\x00\x00")
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        [report] = reading.import_texts(session, [binary], Language.EN, now=NOW)
        assert not report.added and "binary" in report.problem
    engine.dispose()


@pytest.fixture
def client(fresh_database_url: str) -> Iterator[TestClient]:
    """An app on a database of its own: these tests add texts and items, which tests that
    count the shared database's items must not see."""
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=fresh_database_url),
        clock=Clock(),
        rng_factory=lambda: random.Random(next(seeds)),
    )
    with AppClient(app) as test_client:
        yield sign_up(test_client)
    app.state.engine.dispose()


def _onboard(client: TestClient) -> None:
    response = client.post(
        "/onboard",
        data={"name": "Lena", "language": "en", "level": "B1", "interests": ["food"]},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_reading_session_in_the_browser(client: TestClient, fresh_database_url: str) -> None:
    _onboard(client)
    listing = client.get("/reading")
    assert listing.status_code == 200 and "Paste a text" in listing.text
    pasted = "<p>" + EN_TEXT.replace("\n\n", "</p><p>") + "</p><script>alert(1)</script>"
    created = client.post(
        "/reading", data={"title": "<b>Bakery</b>", "body": pasted}, follow_redirects=False
    )
    assert created.status_code == 303
    page = client.get(created.headers["location"])
    assert page.status_code == 200
    assert "<b>Bakery</b>" not in page.text and "&lt;b&gt;Bakery&lt;/b&gt;" in page.text
    assert "alert(1)" not in page.text
    # Words at or above the learner's level are buttons inside the sentence.
    assert "Anna Wilson opened a small bakery" in re.sub(r"<[^>]+>", "", page.text)
    form = re.search(
        r'action="(/reading/[^"]+/answer)"[^>]*data-kind="wh">\s*'
        r'<input type="hidden" name="item_id" value="([^"]+)">\s*'
        r'<input type="hidden" name="key" value="([^"]+)">',
        page.text,
    )
    assert form
    action, item_id, key = form.groups()
    data = {"item_id": item_id, "key": key, "answer": "zzz"}
    feedback = client.post(action, data=data)
    assert feedback.status_code == 200 and "Not quite." in feedback.text
    assert client.post(action, data=data).status_code == 200  # a re-post stores nothing new
    # A question of another text cannot be answered through this one.
    other = client.post(action.replace("/reading/", "/reading/x"), data=data)
    assert other.status_code == 404
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        attempts = session.scalars(select(AttemptRow).where(AttemptRow.item_id == item_id)).all()
        assert len(attempts) == 1 and not attempts[0].correct
        learner_id = attempts[0].learner_id
        assert session.get(ItemReviewStateRow, (learner_id, item_id)) is not None
        state = session.get(LearnerSkillStateRow, (learner_id, "en.reading_comprehension"))
        assert state is not None and state.attempts == 1
    engine.dispose()


def test_bad_pasted_text_gets_a_clear_page(client: TestClient) -> None:
    _onboard(client)
    response = client.post("/reading", data={"title": "x", "body": RU_TEXT})
    assert response.status_code == 422
    assert "looks Russian" in response.text


def test_text_json_has_no_answers(client: TestClient) -> None:
    _onboard(client)
    created = client.post(
        "/reading", data={"title": "Bakery", "body": EN_TEXT}, follow_redirects=False
    )
    text_id = created.headers["location"].rsplit("/", 1)[1]
    data = client.get(f"/api/reading/texts/{text_id}").json()
    assert data["questions"] and "answers" not in data["questions"][0]
    assert client.get("/api/reading/texts/nope").status_code == 404
