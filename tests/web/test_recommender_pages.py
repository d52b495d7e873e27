"""The recommender in the pages: reasons, like/skip, reports, settings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hyperlearn.service import accounts
from hyperlearn.settings import Settings
from hyperlearn.web.app import create_app
from tests.conftest import Clock
from tests.signin import AppClient, sign_up
from tests.web.test_pages import start


@pytest.fixture
def fresh_client(fresh_database_url: str, clock: Clock) -> Iterator[TestClient]:
    """A database of its own: reports withhold items from everyone."""
    app = create_app(Settings(database_url=fresh_database_url), clock=clock)
    with AppClient(app) as test_client:
        yield sign_up(test_client)
    app.state.engine.dispose()


def current_item(client: TestClient) -> str:
    page = client.get("/practice")
    assert page.status_code == 200
    found = re.search(r'name="item_id" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_the_practice_page_says_why_and_offers_feedback_buttons(client: TestClient) -> None:
    start(client)
    page = client.get("/practice")
    assert "Why this exercise?" in page.text
    assert re.search(r'<li data-factor="need">[^<]+</li>', page.text)
    assert "Chosen by the hybrid policy." in page.text
    for value in ("like", "dislike", "skip"):
        assert f'name="signal" value="{value}"' in page.text
    assert 'action="/practice/report"' in page.text


def test_like_and_skip_go_on_and_teach_the_profile(client: TestClient) -> None:
    start(client)
    item_id = current_item(client)
    liked = client.post(
        "/practice/signal", data={"item_id": item_id, "signal": "like"}, follow_redirects=False
    )
    assert liked.status_code == 303 and liked.headers["location"] == "/practice"
    bad = client.post("/practice/signal", data={"item_id": item_id, "signal": "love"})
    assert bad.status_code == 422 and "unknown signal" in bad.text


def test_a_report_withholds_the_item(fresh_client: TestClient) -> None:
    start(fresh_client)
    item_id = current_item(fresh_client)
    sent = fresh_client.post(
        "/practice/report",
        data={"item_id": item_id, "reason": "<b>two</b> answers fit"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    page = fresh_client.get(sent.headers["location"])
    assert "withheld until a teacher has checked it" in page.text
    for _ in range(15):
        assert current_item(fresh_client) != item_id


def test_settings_change_the_policy_and_refuse_bad_bands(client: TestClient) -> None:
    start(client)
    page = client.get("/settings")
    assert 'value="hybrid" checked' in page.text
    form = {"policy": "mastery", "band_low": "60", "band_high": "80", "goal_level": "B1"}
    saved = client.post("/settings", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert 'value="mastery" checked' in client.get("/settings").text
    assert "Chosen by the mastery policy." in client.get("/practice").text
    wrong = client.post("/settings", data={**form, "band_low": "90", "band_high": "50"})
    assert wrong.status_code == 422 and "band" in wrong.text
    assert 'value="mastery" checked' in client.get("/settings").text


def test_settings_keep_interests_in_the_learners_words(client: TestClient) -> None:
    start(client)
    page = client.get("/settings")
    # Model-based policies are offered only when the server has a model.
    assert 'value="llm"' not in page.text and 'value="tallrec"' not in page.text
    form = {
        "policy": "hybrid",
        "band_low": "70",
        "band_high": "85",
        "goal_level": "B1",
        "interests_text": "  football,\n cooking <b>and</b> 80s music ",
    }
    assert client.post("/settings", data=form, follow_redirects=False).status_code == 303
    saved = client.get("/settings").text
    # Whitespace is tidied; the text is escaped, never rendered as markup.
    assert "football, cooking &lt;b&gt;and&lt;/b&gt; 80s music</textarea>" in saved
    too_long = client.post("/settings", data={**form, "interests_text": "x" * 501})
    assert too_long.status_code == 422
    assert "football, cooking" in client.get("/settings").text  # nothing changed


def test_the_settings_api_reads_and_writes_interests_text(client: AppClient) -> None:
    start(client)
    app: Any = client.app
    with app.state.sessions() as session:
        learner_id = accounts.find_user(session, client.username).learner_id
    assert learner_id is not None
    url = f"/api/learners/{learner_id}/settings"
    changed = client.patch(url, json={"interests_text": "chess and  jazz"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["interests_text"] == "chess and jazz"
    assert client.get(url).json()["interests_text"] == "chess and jazz"
    assert client.patch(url, json={"interests_text": "y" * 501}).status_code == 422
    assert client.patch(url, json={"policy": "llm"}).json()["policy"] == "llm"
    assert client.patch(url, json={"policy": "oracle"}).status_code == 422
    # With no model configured, the llm policy serves the personalised choice, not an error.
    assert client.get("/practice").status_code == 200
    assert 'value="llm" checked' in client.get("/settings").text


def test_onboarding_takes_interests_in_the_learners_own_words(client: AppClient) -> None:
    response = client.post(
        "/onboard",
        data={
            "name": "Kim",
            "language": "en",
            "level": "A2",
            "interests": ["music"],
            "interests_text": " K-pop   and basketball ",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "K-pop and basketball</textarea>" in client.get("/settings").text
    app: Any = client.app
    with app.state.sessions() as session:
        learner_id = accounts.find_user(session, client.username).learner_id
    assert client.get(f"/api/learners/{learner_id}/settings").json()["interests_text"] == (
        "K-pop and basketball"
    )


def test_the_api_refuses_an_overlong_interests_text(client: AppClient) -> None:
    body = {"name": "Kim", "language": "en", "level": "A2", "interests_text": "z" * 501}
    assert client.post("/api/learners", json=body).status_code == 422
    body["interests_text"] = "cycling"
    created = client.post("/api/learners", json=body)
    assert created.status_code == 201, created.text
    settings = client.get(f"/api/learners/{created.json()['id']}/settings").json()
    assert settings["interests_text"] == "cycling"
