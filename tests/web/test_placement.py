"""The placement test through the pages, on a real database: offer, questions, placing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hyperlearn.core import CEFRLevel, Language
from hyperlearn.core import learner as learner_model
from hyperlearn.service import placement as placement_service
from hyperlearn.service import practice
from hyperlearn.store import memory_repo, repository
from hyperlearn.store.models import AttemptRow
from tests.signin import AppClient

# A fixed run id (the prior centred on the self-assessed A2) makes the questions deterministic.
RUN = "0123456789abcdef0123456789abcdef-A2"


def make_learner(client: TestClient, level: str = "A2") -> dict[str, Any]:
    body = {"name": "Pia", "language": "en", "level": level, "interests": ["music"]}
    response = client.post("/api/learners", json=body)
    assert response.status_code == 201, response.text
    learner: dict[str, Any] = response.json()
    return learner


def session_of(client: TestClient) -> Session:
    session: Session = client.app.state.sessions()  # type: ignore[attr-defined]
    return session


def current_question(client: TestClient, run: str = RUN) -> str | None:
    page = client.get(f"/placement?run={run}")
    assert page.status_code == 200, page.text
    found = re.search(r'name="item_id" value="([^"]+)"', page.text)
    return found.group(1) if found else None


def answer_as(client: TestClient, level: CEFRLevel, run: str = RUN) -> tuple[int, str]:
    """Answer every question as a learner who knows everything up to `level` and nothing
    above it; returns how many questions there were and the final page."""
    asked = 0
    while (item_id := current_question(client, run)) is not None:
        with session_of(client) as session:
            item = repository.load_items(session, ids=[item_id])[0]
        text = item.answers[0] if item.level.rank <= level.rank else "no idea"
        sent = client.post(
            "/placement",
            data={"run": run, "item_id": item_id, "answer": text},
            follow_redirects=False,
        )
        assert sent.status_code == 303 and sent.headers["location"] == f"/placement?run={run}"
        asked += 1
        assert asked <= 15
    return asked, client.get(f"/placement?run={run}").text


def test_the_offer_links_to_a_fresh_test_and_to_skipping_it(client: AppClient) -> None:
    make_learner(client)
    page = client.get("/placement")
    assert page.status_code == 200
    assert "Find your level first?" in page.text
    start = re.search(r'href="/placement\?run=([0-9a-f]{32}-A2)"', page.text)
    assert start, page.text
    assert 'href="/practice"' in page.text
    first = client.get(f"/placement?run={start.group(1)}")
    assert "question 1 of at most 15" in first.text
    assert 'name="csrf_token"' in first.text
    assert "<script>" not in first.text  # CSP: no inline scripts


def test_placement_without_a_learner_profile_goes_to_onboarding(client: AppClient) -> None:
    response = client.get("/placement", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_b1_learner_is_placed_at_b1_and_skill_states_are_reseeded(client: AppClient) -> None:
    learner = make_learner(client, level="A2")
    asked, page = answer_as(client, CEFRLevel.B1)
    assert 6 <= asked <= 15
    assert "You are around B1" in page
    assert 'href="/practice"' in page
    assert client.get(f"/api/learners/{learner['id']}").json()["level"] == "B1"

    with session_of(client) as session:
        keys = session.scalars(
            select(AttemptRow.idempotency_key).where(AttemptRow.learner_id == learner["id"])
        ).all()
        assert len(keys) == asked
        assert all(k.startswith(f"placement:{RUN}:") for k in keys)
        stored = repository.skill_states(session, learner["id"])
        graph = repository.load_graph(session, Language.EN)
        for skill_id, state in stored.items():
            if state.attempts == 0:
                # Never answered: the prior of the placed level, not of the self-assessed A2.
                assert state == learner_model.initial_state(graph[skill_id], CEFRLevel.B1)
        # Answered skills keep their evidence: the log replayed on the B1 prior is the state.
        assert practice.rebuild_skill_states(session, learner["id"]) == stored
        assert sum(s.attempts for s in stored.values()) >= asked

        # The memory model saw the answers too: each answered item has a review scheduled.
        assert len(memory_repo.review_states(session, learner["id"])) == asked


def test_answers_are_stored_once_and_stale_questions_are_refused(client: AppClient) -> None:
    learner = make_learner(client)
    item_id = current_question(client)
    assert item_id
    form = {"run": RUN, "item_id": item_id, "answer": "whatever"}
    assert client.post("/placement", data=form, follow_redirects=False).status_code == 303
    # A double click or the back button re-sends the answer: nothing new is stored.
    assert client.post("/placement", data=form, follow_redirects=False).status_code == 303
    with session_of(client) as session:
        count = session.scalar(select(func.count()).where(AttemptRow.learner_id == learner["id"]))
    assert count == 1
    second = current_question(client)
    assert second and second != item_id
    # An item that is not the current question (a forged or outdated form) is refused.
    other = {"run": RUN, "item_id": "en-0000000000000000", "answer": "x"}
    refused = client.post("/placement", data=other)
    assert refused.status_code == 409
    assert "no longer the current placement question" in refused.text


def test_a_forged_run_id_is_refused(client: AppClient) -> None:
    make_learner(client)
    for bad in ("x", "0123456789abcdef0123456789abcdef-Z9", "%25-A1"):
        page = client.get("/placement", params={"run": bad})
        assert page.status_code == 422
        assert "not a placement test id" in page.text


def test_a_finished_test_shows_its_result_and_ignores_more_answers(client: AppClient) -> None:
    learner = make_learner(client, level="B2")
    asked, page = answer_as(client, CEFRLevel.A1)
    assert "You are around A1" in page
    assert client.get(f"/api/learners/{learner['id']}").json()["level"] == "A1"
    with session_of(client) as session:
        view = placement_service.view(session, learner["id"], RUN)
    assert view.question is None and view.outcome is not None
    assert view.answered == asked
    assert sum(row.probability for row in view.outcome.levels) == pytest.approx(1.0)
    late = {"run": RUN, "item_id": "en-0000000000000000", "answer": "x"}
    assert client.post("/placement", data=late, follow_redirects=False).status_code == 303
    with session_of(client) as session:
        count = session.scalar(select(func.count()).where(AttemptRow.learner_id == learner["id"]))
    assert count == asked
