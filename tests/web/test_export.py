"""Export and account deletion through the JSON API and the /export page, as the signed-in
owner; nobody else can export or delete a learner."""

from __future__ import annotations

import csv
import io
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hyperlearn.settings import Settings
from hyperlearn.web.app import create_app
from tests.conftest import Clock
from tests.signin import AppClient, sign_up, signed_in
from tests.web.test_api import onboard


@pytest.fixture
def fresh_client(fresh_database_url: str) -> Iterator[AppClient]:
    """A signed-in client on a database of its own: reporting an item withholds it from
    everyone, which would change what other tests are shown."""
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=fresh_database_url),
        clock=Clock(),
        rng_factory=lambda: random.Random(next(seeds)),
    )
    with AppClient(app) as test_client:
        yield sign_up(test_client)
    app.state.engine.dispose()


def _practise(client: TestClient, learner_id: str, answers: int) -> list[str]:
    items = []
    for _ in range(answers):
        exercise = client.get(f"/api/learners/{learner_id}/next").json()
        response = client.post(
            f"/api/learners/{learner_id}/attempts",
            json={
                "item_id": exercise["item_id"],
                "answer": "x",
                "idempotency_key": str(uuid.uuid4()),
            },
        )
        assert response.status_code == 200, response.text
        items.append(exercise["item_id"])
    return items


def test_api_export_json_and_csv(client: AppClient) -> None:
    learner = onboard(client)
    items = _practise(client, learner["id"], 3)

    response = client.get(f"/api/learners/{learner['id']}/export.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    data: dict[str, Any] = response.json()
    assert data["learner"]["id"] == learner["id"]
    assert [a["item_id"] for a in data["attempts"]] == items

    response = client.get(f"/api/learners/{learner['id']}/attempts.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["item_id"] for r in rows] == items

    for path in ("export.json", "attempts.csv"):
        missing = client.get(f"/api/learners/nobody/{path}")
        assert missing.status_code == 404
        assert "no learner" in missing.json()["detail"]


def test_nobody_else_can_export_or_delete(client: AppClient) -> None:
    learner = onboard(client)
    assert isinstance(client.app, FastAPI)
    with signed_in(client.app) as other:
        onboard(other)
        for method, path in (
            ("GET", f"/api/learners/{learner['id']}/export.json"),
            ("GET", f"/api/learners/{learner['id']}/attempts.csv"),
            ("DELETE", f"/api/learners/{learner['id']}"),
        ):
            assert other.request(method, path).status_code == 404, path
            anonymous = TestClient(client.app).request(method, path)
            assert anonymous.status_code == 401, path
    assert client.get(f"/api/learners/{learner['id']}").status_code == 200


def test_api_delete_learner(fresh_client: AppClient) -> None:
    client = fresh_client
    learner = onboard(client)
    item_id = _practise(client, learner["id"], 2)[0]
    report = client.post(
        f"/api/items/{item_id}/reports", json={"learner_id": learner["id"], "reason": "typo"}
    )
    assert report.status_code == 201

    response = client.delete(f"/api/learners/{learner['id']}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deleted"]["learners"] == 1
    assert body["deleted"]["attempts"] == 2
    assert body["deleted"]["users"] == 1  # a learner's login is part of their account
    assert body["deleted"]["api_tokens"] == 1
    assert body["unlinked"] == {"item_reports": 1}
    # The account is gone with its token: the same client is now a stranger.
    assert client.get(f"/api/learners/{learner['id']}").status_code == 401


def test_export_page_downloads_and_deletes_after_confirmation(client: AppClient) -> None:
    anonymous = TestClient(client.app).get("/export", follow_redirects=False)
    assert anonymous.headers["location"].startswith("/login")
    assert client.get("/export", follow_redirects=False).headers["location"] == "/"  # no profile
    client.post(
        "/onboard", data={"name": "Bo", "language": "en", "level": "A2", "interests": ["music"]}
    )
    learner_id = client.get("/api/me").json()["learner_id"]
    _practise(client, learner_id, 1)

    page = client.get("/export")
    assert page.status_code == 200
    assert 'href="/export/data.json"' in page.text
    assert 'href="/export/attempts.csv"' in page.text
    assert 'action="/export/delete"' in page.text
    assert 'name="csrf_token"' in page.text
    assert '<a href="/export">' in page.text  # in the navigation
    assert client.get("/export/data.json").json()["learner"]["name"] == "Bo"
    assert len(client.get("/export/attempts.csv").text.splitlines()) == 2

    # Without the confirmation word, or without the CSRF token, nothing is deleted.
    refused = client.post("/export/delete", data={"confirm": "yes"})
    assert refused.status_code == 422
    assert re.search(r'role="alert"[^>]*>Type', refused.text)
    forged = client.post("/export/delete", data={"confirm": "delete", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.get(f"/api/learners/{learner_id}").status_code == 200

    done = client.post("/export/delete", data={"confirm": " Delete "}, follow_redirects=False)
    assert done.status_code == 200
    assert "has been deleted" in done.text
    assert client.get(f"/api/learners/{learner_id}").status_code == 401  # login gone too
    assert client.get("/export", follow_redirects=False).headers["location"].startswith("/login")
