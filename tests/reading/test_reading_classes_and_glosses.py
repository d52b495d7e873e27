"""The gloss on tap in the web app (no JavaScript: a form post and a redirect back to the word)
and its "looked up" signal reaching the learner and memory models; teachers assigning texts to
a class, learners seeing them first, the teacher seeing who read them; and who may do what."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hyperlearn.core import Language
from hyperlearn.service import reading
from hyperlearn.settings import Settings
from hyperlearn.store.models import (
    AttemptRow,
    ItemReviewStateRow,
    ItemRow,
    LearnerSkillStateRow,
    ReadingQuestionRow,
)
from hyperlearn.web.app import create_app
from tests.conftest import T0, Clock
from tests.reading.test_gloss_and_statements import EN_GLOSS_TEXT
from tests.reading.test_texts_and_questions import EN_TEXT
from tests.signin import AppClient
from tests.web.test_teacher import invite_code, join, learner, make_class, teacher


@pytest.fixture
def app(fresh_database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=fresh_database_url, data_dir=tmp_path),
        clock=Clock(),
        rng_factory=lambda: random.Random(next(seeds)),
    )
    yield app
    app.state.imports.shutdown()
    app.state.engine.dispose()


def _paste(client: AppClient, body: str, title: str) -> str:
    created = client.post("/reading", data={"title": title, "body": body}, follow_redirects=False)
    assert created.status_code == 303, created.text
    return str(created.headers["location"].rsplit("/", 1)[1])


def _word_button(page: str, word: str) -> tuple[str, str]:
    """(offset, lookup key) of the marked word's button on the reading page."""
    found = re.search(
        rf'name="word" value="(\d+)" id="w\d+" class="word[^"]*">{word}</button>', page
    )
    key = re.search(r'name="key" value="([^"]+)">\s*<p>', page)
    assert found and key, f"{word!r} is not a marked word"
    return found.group(1), key.group(1)


def _session(app: FastAPI) -> Any:
    return app.state.sessions()


# ---------------------------------------------------------------- glosses


def test_a_looked_up_word_shows_its_gloss_and_comes_back_for_review(app: FastAPI) -> None:
    client, learner_id = learner(app)  # an A2 learner
    text_id = _paste(client, EN_GLOSS_TEXT, "Referendum")
    page = client.get(f"/reading/{text_id}")
    assert page.status_code == 200
    offset, key = _word_button(page.text, "referendum")
    _word_button(page.text, "postpone")  # B2: marked for an A2 learner
    assert ">committee</button>" in page.text  # A2: at the learner's level
    assert ">the</button>" not in page.text and ">because</button>" not in page.text
    assert 'id="gloss"' not in page.text  # nothing open yet

    looked = client.post(
        f"/reading/{text_id}/lookup", data={"word": offset, "key": key}, follow_redirects=False
    )
    assert looked.status_code == 303
    assert looked.headers["location"] == f"/reading/{text_id}?gloss={offset}#w{offset}"
    shown = client.get(looked.headers["location"]).text
    gloss = shown[shown.index('id="gloss"') : shown.index('class="gloss-close"')]
    assert "singular of “referendum”" in gloss and "noun" in gloss and "level C2" in gloss
    assert "referendums" in gloss
    assert "Several members opposed the decision because the referendum was costly." in gloss
    assert f'value="{offset}" id="w{offset}" class="word level-C2" aria-expanded="true"' in shown

    with _session(app) as session:
        [attempt] = session.scalars(
            select(AttemptRow)
            .where(AttemptRow.learner_id == learner_id)
            .where(AttemptRow.idempotency_key.startswith("lookup-"))
        ).all()
        assert not attempt.correct and attempt.answer == ""
        card = session.get(ItemRow, attempt.item_id)
        assert card is not None and card.disabled  # never offered outside its text
        assert card.text == "The committee decided to postpone the ___ (referendum)."
        assert card.answers == ["referendum"] and card.hint == "referendum"
        # Not a question of the text: looking up never answers one.
        question_items = set(session.scalars(select(ReadingQuestionRow.item_id)))
        assert card.id not in question_items
        # The memory model has the word, due for review within the day ...
        state = session.get(ItemReviewStateRow, (learner_id, card.id))
        assert state is not None and state.lapses == 0 and state.reps == 1
        assert state.due - state.last_review < timedelta(days=1)
        later = state.last_review + timedelta(days=1)
        due = reading.words_to_review(session, learner_id, later)
        assert [(w.item_id, w.word, w.lemma) for w in due] == [
            (card.id, "referendum", "referendum")
        ]
        assert reading.words_to_review(session, learner_id, state.last_review) == []
        # ... and the learner model counts it against reading vocabulary.
        skill = session.get(LearnerSkillStateRow, (learner_id, "en.reading_vocabulary"))
        assert skill is not None and skill.attempts == 1 and skill.correct == 0

    # A double click (same key) is one lookup; the same page's key for another word is another.
    again = client.post(
        f"/reading/{text_id}/lookup", data={"word": offset, "key": key}, follow_redirects=False
    )
    assert again.status_code == 303
    other, _ = _word_button(page.text, "postpone")
    client.post(f"/reading/{text_id}/lookup", data={"word": other, "key": key})
    with _session(app) as session:
        keys = session.scalars(
            select(AttemptRow.idempotency_key).where(AttemptRow.learner_id == learner_id)
        ).all()
        assert sorted(keys) == sorted([f"lookup-{key}-{offset}", f"lookup-{key}-{other}"])


def test_looking_up_where_there_is_no_word_is_refused(app: FastAPI) -> None:
    client, _ = learner(app)
    text_id = _paste(client, EN_GLOSS_TEXT, "Referendum")
    body = EN_GLOSS_TEXT
    for offset in (body.index("the "), body.index("referendum") + 3, len(body) + 5):
        refused = client.post(f"/reading/{text_id}/lookup", data={"word": offset, "key": "k"})
        assert refused.status_code == 422, offset
        assert "no word to look up" in refused.text
    assert (
        client.post(f"/reading/{text_id}/lookup", data={"word": -1, "key": "k"}).status_code == 422
    )
    # Someone else's text cannot be looked into.
    stranger, _ = learner(app, name="Stranger")
    word = str(body.index("referendum"))
    response = stranger.post(f"/reading/{text_id}/lookup", data={"word": word, "key": "k"})
    assert response.status_code == 404
    with _session(app) as session:
        assert not session.scalars(select(AttemptRow.id)).all()


# ---------------------------------------------------------------- assignments


def test_teacher_assigns_texts_and_sees_who_read_them(app: FastAPI) -> None:
    owner = teacher(app)
    class_id = make_class(owner)
    pupil, _ = learner(app, name="Noor")
    idle, _ = learner(app, name="Idris")
    for member in (pupil, idle):
        assert join(member, invite_code(owner, class_id)).status_code == 303
    with _session(app) as session:
        imported = reading.add_text(session, EN_GLOSS_TEXT, Language.EN, now=T0, title="Vote")
    # An imported text, chosen from the list ...
    page = owner.get(f"/teacher/classes/{class_id}")
    assert "No text is assigned to this class yet." in page.text
    assert f'<option value="{imported.text_id}">Vote' in page.text
    assigned = owner.post(
        f"/teacher/classes/{class_id}/reading/assign",
        data={"text_id": imported.text_id},
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    # ... and a new one, pasted on the class page.
    pasted = owner.post(
        f"/teacher/classes/{class_id}/reading/paste",
        data={"title": "The bakery", "body": EN_TEXT},
        follow_redirects=False,
    )
    assert pasted.status_code == 303

    listing = pupil.get("/reading").text
    items = re.findall(r"<li>(.*?)</li>", listing, re.S)
    assert len(items) == 2
    assert all("Assigned by your teacher" in item for item in items)
    # A text on its own comes after the assigned ones.
    with _session(app) as session:
        reading.add_text(session, "Plain words are here today. " * 3, Language.EN, now=T0)
    items = re.findall(r"<li>(.*?)</li>", pupil.get("/reading").text, re.S)
    assert len(items) == 3 and "Assigned by your teacher" not in items[-1]

    text_id = re.search(r'href="/reading/([^"]+)">The bakery', listing)
    assert text_id
    with _session(app) as session:
        questions = session.scalars(
            select(ReadingQuestionRow)
            .where(ReadingQuestionRow.text_id == text_id.group(1))
            .order_by(ReadingQuestionRow.position)
        ).all()
        first = session.get(ItemRow, questions[0].item_id)
        assert first is not None
    right = first.answers[0]
    action = f"/reading/{text_id.group(1)}/answer"
    for answer, key in ((right, "a1"), ("zzz", "a2")):  # the first answer counts
        body = {"item_id": first.id, "key": key, "answer": answer}
        assert pupil.post(action, data=body).status_code == 200

    html = owner.get(f"/teacher/classes/{class_id}").text
    section = html[html.index('id="reading"') :]
    bakery = section[section.index("The bakery") : section.index("Stop assigning “The bakery”")]
    rows = dict(re.findall(r"<td>(Noor|Idris)</td>\s*<td>([^<]+)</td>", bakery))
    assert rows == {"Noor": "yes", "Idris": "not yet"}
    n = len(questions)
    assert f"<td>1/{n}</td>" in bakery and f"({1}/{n})" in bakery

    # Stopping the assignment takes it off the learners' lists (the text was the teacher's).
    stopped = owner.post(
        f"/teacher/classes/{class_id}/reading/unassign",
        data={"text_id": text_id.group(1)},
        follow_redirects=False,
    )
    assert stopped.status_code == 303
    assert "The bakery" not in pupil.get("/reading").text
    assert pupil.get(f"/reading/{text_id.group(1)}").status_code == 404


def test_only_the_class_teacher_assigns_and_only_its_learners_see(app: FastAPI) -> None:
    owner = teacher(app)
    class_id = make_class(owner)
    pupil, _ = learner(app, name="Noor")
    assert join(pupil, invite_code(owner, class_id)).status_code == 303
    owner.post(
        f"/teacher/classes/{class_id}/reading/paste",
        data={"title": "Class secret", "body": EN_TEXT},
        follow_redirects=False,
    )
    text_id = re.search(r'href="/reading/([^"]+)">Class secret', pupil.get("/reading").text)
    assert text_id
    tid = text_id.group(1)

    # A learner of another class (and of none) never sees the text or its assignment.
    other_teacher = teacher(app)
    other_class = make_class(other_teacher, name="Other class")
    outsider, _ = learner(app, name="Out")
    assert join(outsider, invite_code(other_teacher, other_class)).status_code == 303
    assert "Class secret" not in outsider.get("/reading").text
    assert "Assigned by your teacher" not in outsider.get("/reading").text
    assert outsider.get(f"/reading/{tid}").status_code == 404
    assert outsider.get(f"/api/reading/texts/{tid}").status_code == 404
    assert "Class secret" not in other_teacher.get(f"/teacher/classes/{other_class}").text

    # Another teacher cannot assign to this class, nor assign this teacher's text to theirs.
    refused = other_teacher.post(
        f"/teacher/classes/{class_id}/reading/assign", data={"text_id": tid}
    )
    assert refused.status_code == 404
    refused = other_teacher.post(
        f"/teacher/classes/{other_class}/reading/assign", data={"text_id": tid}
    )
    assert refused.status_code == 404
    refused = other_teacher.post(
        f"/teacher/classes/{class_id}/reading/paste", data={"title": "x", "body": EN_TEXT}
    )
    assert refused.status_code == 404
    # A learner's own pasted text is theirs: no teacher can assign it.
    private = _paste(pupil, EN_GLOSS_TEXT, "Pupil's own")
    refused = owner.post(f"/teacher/classes/{class_id}/reading/assign", data={"text_id": private})
    assert refused.status_code == 404
    # Learners are not teachers.
    for path in ("assign", "unassign"):
        response = pupil.post(f"/teacher/classes/{class_id}/reading/{path}", data={"text_id": tid})
        assert response.status_code == 403
    # A text in another language than the class's is refused with a reason.
    with _session(app) as session:
        from tests.reading.test_texts_and_questions import RU_TEXT

        russian = reading.add_text(session, RU_TEXT, Language.RU, now=T0)
    response = owner.post(
        f"/teacher/classes/{class_id}/reading/assign", data={"text_id": russian.text_id}
    )
    assert response.status_code == 422 and "not in the class&#39;s language" in response.text
    bad = owner.post(f"/teacher/classes/{class_id}/reading/paste", data={"title": "", "body": " "})
    assert bad.status_code == 422
