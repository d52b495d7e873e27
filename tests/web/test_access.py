"""No route lets anyone read or change another learner's data.

The test walks EVERY route of the app (`app.routes`, so routes added later are walked too)
with every method, filling path parameters with the victim's ids (learner, item, text, API
token) and bodies with plausible values, first anonymously, then as another signed-in learner
(with a valid CSRF token and API token of their own). It expects:

- never the victim's private data (their name, username, pasted text, answers) in a response;
- 401 from every non-public /api route for anonymous requests, /login or 403 from pages;
- 401/403/404 from every route whose path names the victim (learner, text or token) or the
  victim's class (whose teacher assigned it a text of their own);
- the victim's data unchanged at the end (attempts, settings, token, profile).
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from hyperlearn.settings import Settings
from hyperlearn.web.app import create_app
from hyperlearn.web.auth import PUBLIC_API, PUBLIC_PAGES
from tests.conftest import Clock
from tests.reading.test_texts_and_questions import EN_TEXT
from tests.signin import AppClient, signed_in
from tests.web.test_teacher import invite_code, join, make_class, teacher

DENIED = {401, 403, 404}
# Path parameters that name something of the victim's: such routes must refuse outright.
OWNED_PARAMS = {"learner_id", "text_id", "token_id", "class_id"}


@pytest.fixture
def app(fresh_database_url: str) -> Iterator[FastAPI]:
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=fresh_database_url),
        clock=Clock(),
        rng_factory=lambda: random.Random(next(seeds)),
    )
    yield app
    app.state.engine.dispose()


class Victim:
    def __init__(self, app: FastAPI) -> None:
        marker = uuid.uuid4().hex[:12]
        self.name = f"Victim{marker}"
        self.answer = f"victim-answer-{marker}"
        self.title = f"Victim text {marker}"
        self.client = signed_in(app, username=f"victim{marker}")
        learner = self.client.post(
            "/api/learners",
            json={"name": self.name, "language": "en", "level": "A2", "interests": ["food"]},
        )
        assert learner.status_code == 201, learner.text
        self.learner_id: str = learner.json()["id"]
        base = f"/api/learners/{self.learner_id}"
        self.item_id: str = self.client.get(f"{base}/next").json()["item_id"]
        body = {"item_id": self.item_id, "answer": self.answer, "idempotency_key": "v-1"}
        assert self.client.post(f"{base}/attempts", json=body).status_code == 200
        settings = self.client.patch(f"{base}/settings", json={"policy": "mastery"})
        assert settings.status_code == 200
        pasted = self.client.post(
            "/reading", data={"title": self.title, "body": EN_TEXT}, follow_redirects=False
        )
        assert pasted.status_code == 303, pasted.text
        self.text_id = pasted.headers["location"].rsplit("/", 1)[1]
        assert self.title in self.client.get(pasted.headers["location"]).text
        tokens = self.client.get("/account").text
        found = re.search(r'action="/account/tokens/(\d+)/revoke"', tokens)
        assert found
        self.token_id = found.group(1)
        # The victim's class, with a text its teacher pasted and assigned to it.
        self.class_name = f"Victim class {marker}"
        self.assigned_title = f"Victim assigned text {marker}"
        class_teacher = teacher(app)
        self.class_id = make_class(class_teacher, name=self.class_name)
        assert join(self.client, invite_code(class_teacher, self.class_id)).status_code == 303
        assigned = class_teacher.post(
            f"/teacher/classes/{self.class_id}/reading/paste",
            data={"title": self.assigned_title, "body": EN_TEXT},
            follow_redirects=False,
        )
        assert assigned.status_code == 303, assigned.text
        assert self.assigned_title in self.client.get("/reading").text

    def secrets(self) -> list[str]:
        """What nobody else may ever see."""
        return [
            self.name,
            self.answer,
            self.title,
            self.client.username,
            self.client.api_token,
            self.class_name,
            self.assigned_title,
        ]

    def snapshot(self) -> Any:
        base = f"/api/learners/{self.learner_id}"
        return (
            self.client.get(base).json(),
            self.client.get(f"{base}/attempts").json(),
            self.client.get(f"{base}/settings").json(),
            self.client.get(f"{base}/interests").json(),
            self.client.get(f"/api/reading/texts/{self.text_id}").status_code,
            self.client.get("/api/me").json(),  # ui_language included
            self.assigned_title in self.client.get("/reading").text,
        )


def _path(route: RouteContext, victim: Victim) -> str:
    values = {
        "learner_id": victim.learner_id,
        "item_id": victim.item_id,
        "text_id": victim.text_id,
        "token_id": victim.token_id,
        "class_id": victim.class_id,
    }
    path = str(route.path)
    for name, convertor in route.param_convertors.items():
        default = "1" if type(convertor).__name__ == "IntegerConvertor" else "x"
        path = re.sub(r"\{" + name + r"(:[^}]*)?\}", values.get(name, default), path)
    return path


def _values(victim: Victim) -> dict[str, Any]:
    """Plausible values for every field any form or JSON body of the app takes."""
    return {
        "learner_id": victim.learner_id,
        "item_id": victim.item_id,
        "text_id": victim.text_id,
        "answer": "attacker",
        "key": str(uuid.uuid4()),
        "idempotency_key": str(uuid.uuid4()),
        "signal": "dislike",
        "reason": "attacker",
        "name": "Attacker",
        "language": "en",
        "level": "A1",
        "interests": [],
        "policy": "random",
        "band_low": 0.5,
        "band_high": 0.6,
        "goal_level": "C2",
        "title": "attacker",
        "body": EN_TEXT,
        # Account forms: the interface language, a password change, an invite code.
        "lang": "ru",
        "ui_language": "ru",
        "next": "/account",
        "current_password": "attacker password",
        "new_password": "attacker password 2",
        "new_password_again": "attacker password 2",
        "code": "ATTACKER",
        "word": 0,
    }


def _json_body(app: FastAPI, route: RouteContext, method: str, values: dict[str, Any]) -> Any:
    operation = app.openapi()["paths"].get(route.path, {}).get(method.lower(), {})
    schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    )
    ref = schema.get("$ref", "")
    if not ref:
        return None
    component = app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return {k: v for k, v in values.items() if k in component.get("properties", {})}


def _send(
    client: TestClient, app: FastAPI, route: RouteContext, method: str, victim: Victim, csrf: str
) -> Any:
    path = _path(route, victim)
    values = _values(victim)
    if path.startswith("/api/"):
        body = _json_body(app, route, method, values)
        return client.request(method, path, json=body, follow_redirects=False)
    form = {k: str(v) for k, v in values.items() if not isinstance(v, list)}
    if csrf:
        form["csrf_token"] = csrf
    if method in ("GET", "HEAD"):
        return client.request(method, path, follow_redirects=False)
    return client.request(method, path, data=form, follow_redirects=False)


def _routes(app: FastAPI) -> list[tuple[RouteContext, str]]:
    """Every route of the app (included routers flattened), with each of its methods."""
    walked: list[tuple[RouteContext, str]] = []
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, APIRoute):
            walked.extend((route, m) for m in sorted(route.methods or ()))
        elif isinstance(original, Route):
            assert route.path in ("/openapi.json", "/docs", "/docs/oauth2-redirect"), route.path
        else:
            assert isinstance(original, Mount) and route.path == "/static", route
    return walked


def _attacker(app: FastAPI) -> AppClient:
    client = signed_in(app)
    response = client.post(
        "/api/learners", json={"name": "Attacker", "language": "en", "level": "A1"}
    )
    assert response.status_code == 201
    return client


def test_no_route_gives_anyone_else_a_learners_data(app: FastAPI) -> None:
    victim = Victim(app)
    before = victim.snapshot()
    secrets = victim.secrets()
    anonymous = TestClient(app)
    walked = _routes(app)
    assert len(walked) >= 30, "the walk must cover the whole app"
    checked: list[str] = []
    for route, method in walked:
        label = f"{method} {route.path}"
        api = str(route.path).startswith("/api/")
        owned = bool(OWNED_PARAMS & set(route.param_convertors))

        response = _send(anonymous, app, route, method, victim, csrf="")
        assert not any(s in response.text for s in secrets), f"anonymous {label} leaked"
        if api and route.path not in PUBLIC_API:
            assert response.status_code == 401, f"anonymous {label}: {response.status_code}"
        elif not api and route.path not in PUBLIC_PAGES:
            redirected = response.status_code == 303 and response.headers["location"].startswith(
                "/login"
            )
            assert redirected or response.status_code in DENIED, (
                f"anonymous {label}: {response.status_code}"
            )

        # A fresh attacker per route: some routes end the caller's own session or account.
        attacker = _attacker(app)
        response = _send(attacker, app, route, method, victim, attacker.csrf_token)
        assert not any(s in response.text for s in secrets), f"attacker {label} leaked"
        if owned:
            assert response.status_code in DENIED, f"attacker {label}: {response.status_code}"
        checked.append(f"{label} {response.status_code}")

    assert victim.snapshot() == before, "another user changed the victim's data"
    assert any("{learner_id}" in c for c in checked)


def test_admins_read_any_learner_but_change_none(app: FastAPI) -> None:
    from hyperlearn.service import accounts
    from tests.conftest import T0

    victim = Victim(app)
    with app.state.sessions() as session:
        admin = accounts.create_user(
            session, username="root", password="an admin password", role="admin", now=T0
        )
        token = accounts.create_token(session, admin.id, "test", T0).secret
    headers = {"Authorization": f"Bearer {token}"}
    client = TestClient(app)
    base = f"/api/learners/{victim.learner_id}"
    assert client.get(base, headers=headers).json()["name"] == victim.name
    assert victim.answer in client.get(f"{base}/attempts", headers=headers).text
    changed = client.patch(f"{base}/settings", json={"policy": "random"}, headers=headers)
    assert changed.status_code == 404
