"""Account security beyond login: changing the password, signing out everywhere, the idle
timeout of browser sessions, and the rate limit on invite codes."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hyperlearn.service import accounts, classes
from hyperlearn.settings import Settings
from hyperlearn.web.app import create_app
from tests.conftest import T0, Clock
from tests.signin import PASSWORD, AppClient, sign_in_again, signed_in

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _app(database_url: str, clock: Clock, **settings: object) -> FastAPI:
    seeds = iter(range(1_000_000))
    return create_app(
        Settings(database_url=database_url, **settings),  # type: ignore[arg-type]
        clock=clock,
        rng_factory=lambda: random.Random(next(seeds)),
    )


@pytest.fixture
def app(fresh_database_url: str, clock: Clock) -> Iterator[FastAPI]:
    app = _app(fresh_database_url, clock)
    yield app
    app.state.engine.dispose()


def _signed_in_elsewhere(app: FastAPI, client: AppClient) -> AppClient:
    """The same account in a second browser."""
    other = AppClient(app)
    other.username = client.username
    other.api_token = client.api_token
    return sign_in_again(other)


def _signed_out(client: TestClient) -> bool:
    response = client.get("/account", follow_redirects=False)
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def _can_log_in(app: FastAPI, username: str, password: str) -> bool:
    client = AppClient(app)
    client.username = username
    try:
        sign_in_again(client, password)
    except AssertionError:
        return False
    return True


def _change(client: AppClient, current: str, new: str, again: str | None = None) -> httpx.Response:
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
        follow_redirects=False,
    )


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    app: FastAPI,
) -> None:
    client = signed_in(app)
    other = _signed_in_elsewhere(app, client)
    wrong = _change(client, "not my password", NEW_PASSWORD)
    assert wrong.status_code == 403
    assert "the current password is wrong" in wrong.text
    differ = _change(client, PASSWORD, NEW_PASSWORD, again="something else entirely")
    assert differ.status_code == 422
    short = _change(client, PASSWORD, "short")
    assert short.status_code == 422
    assert not _signed_out(other), "a refused change ends nothing"
    assert _can_log_in(app, client.username, PASSWORD)

    done = _change(client, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/account?saved=password"
    assert "Your password was changed." in client.get("/account?saved=password").text
    assert _signed_out(other), "the other browser's session ended"
    assert not _signed_out(client), "this browser stays signed in"
    assert client.get("/api/me").status_code == 200, "API tokens are not touched"
    assert _can_log_in(app, client.username, NEW_PASSWORD)
    assert not _can_log_in(app, client.username, PASSWORD)


def test_guessing_the_current_password_is_rate_limited(app: FastAPI) -> None:
    client = signed_in(app)
    for _ in range(5):
        assert _change(client, "a wrong guess", NEW_PASSWORD).status_code == 403
    blocked = _change(client, PASSWORD, NEW_PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert _can_log_in(app, client.username, PASSWORD) is False  # the login shares the limit


def test_sign_out_everywhere_ends_every_session_and_keeps_tokens(app: FastAPI) -> None:
    client = signed_in(app)
    other = _signed_in_elsewhere(app, client)
    page = client.get("/account")
    assert "This account is signed in on 2 browsers." in page.text
    assert "revokes nothing else" in page.text
    ended = client.post("/account/sessions/end", data={}, follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"] == "/login?ended=all"
    assert "You have been signed out on every device." in client.get("/login?ended=all").text
    assert _signed_out(client) and _signed_out(other)
    assert client.get("/api/me").status_code == 200, "API tokens keep working"
    assert _can_log_in(app, client.username, PASSWORD), "the password is unchanged"


def test_an_idle_session_ends_and_an_active_one_lives_on(app: FastAPI, clock: Clock) -> None:
    idle = Settings().session_idle_minutes
    assert idle == 120
    client = signed_in(app)
    for _ in range(4):  # active every 100 minutes: 400 minutes, well past one idle period
        clock.now += timedelta(minutes=idle - 20)
        assert not _signed_out(client)
    clock.now += timedelta(minutes=idle + 1)
    assert _signed_out(client)
    # The ended session is gone for good: coming back sooner does not revive it.
    clock.now -= timedelta(minutes=idle)
    assert _signed_out(client)


def test_the_idle_timeout_is_a_setting(fresh_database_url: str, clock: Clock) -> None:
    app = _app(fresh_database_url, clock, session_idle_minutes=5)
    try:
        client = signed_in(app)
        clock.now += timedelta(minutes=4)
        assert not _signed_out(client)
        clock.now += timedelta(minutes=6)
        assert _signed_out(client)
    finally:
        app.state.engine.dispose()


def test_the_absolute_expiry_still_applies_to_active_sessions(
    fresh_database_url: str, clock: Clock
) -> None:
    app = _app(fresh_database_url, clock, session_hours=3)
    try:
        client = signed_in(app)
        start = clock.now
        lived = 0
        while not _signed_out(client):  # a request every hour: never idle
            lived += 1
            assert lived <= 3
            clock.now += timedelta(hours=1)
        assert lived == 3 and clock.now - start >= timedelta(hours=3)
    finally:
        app.state.engine.dispose()


def _teacher_code(app: FastAPI) -> str:
    with app.state.sessions() as session:
        teacher = accounts.create_user(
            session,
            username=f"teacher{uuid.uuid4().hex[:8]}",
            password=PASSWORD,
            role="teacher",
            now=T0,
        )
        return classes.create_class(session, teacher, name="7B", language="en", now=T0).invite_code


def _learner(app: FastAPI) -> AppClient:
    client = signed_in(app)
    made = client.post("/api/learners", json={"name": "Noor", "language": "en", "level": "A2"})
    assert made.status_code == 201
    return client


def _join(client: AppClient, code: str) -> httpx.Response:
    return client.post("/classes/join", data={"code": code}, follow_redirects=False)


def test_invite_codes_cannot_be_guessed(app: FastAPI, clock: Clock) -> None:
    code = _teacher_code(app)
    learner = _learner(app)
    for n in range(5):
        wrong = _join(learner, f"WRONG{n:03d}")
        assert wrong.status_code == 404
    blocked = _join(learner, code)  # even the right code waits: guesses must not continue
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    assert "too many wrong invite codes" in blocked.text
    assert "You are not in a class yet." in learner.get("/classes").text
    clock.now += timedelta(seconds=retry_after)
    sign_in_again(learner)
    joined = _join(learner, code)
    assert joined.status_code == 303
    assert "7B" in learner.get("/classes").text


def test_many_accounts_from_one_address_share_a_larger_budget(
    fresh_database_url: str, clock: Clock
) -> None:
    app = _app(fresh_database_url, clock, login_max_failures=2)
    try:
        code = _teacher_code(app)
        # Five accounts with two wrong codes each use up the address's 2 x 5 guesses.
        for n in range(5):
            learner = _learner(app)
            for m in range(2):
                assert _join(learner, f"GUESS{n}{m}XX").status_code == 404
        fresh = _learner(app)
        assert _join(fresh, code).status_code == 429
    finally:
        app.state.engine.dispose()
