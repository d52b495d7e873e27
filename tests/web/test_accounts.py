"""Accounts: registration, login, sessions, CSRF, API tokens, rate limiting, the secret key."""

from __future__ import annotations

import random
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from hyperlearn.service import accounts
from hyperlearn.settings import InsecureSettings, Settings
from hyperlearn.store.models import ApiTokenRow, UserRow
from hyperlearn.web.app import create_app
from tests.conftest import Clock
from tests.signin import PASSWORD, AppClient, form_csrf, register, sign_up, signed_in


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(database_url: str, clock: Clock) -> Iterator[FastAPI]:
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=database_url),
        clock=clock,
        rng_factory=lambda: random.Random(next(seeds)),
    )
    yield app
    app.state.engine.dispose()


def login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_csrf(page.text)},
        follow_redirects=False,
    )


def test_register_onboard_logout_and_login_again(app: FastAPI) -> None:
    client = TestClient(app)
    assert client.get("/practice", follow_redirects=False).headers["location"] == (
        "/login?next=/practice"
    )
    response = register(client, "Ada.Lovelace")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "hl_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http in tests; https below
    home = client.get("/")
    assert 'action="/onboard"' in home.text  # registered, no learner profile yet
    csrf = form_csrf(home.text)
    onboarded = client.post(
        "/onboard",
        data={"name": "Ada", "language": "en", "level": "A2", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert onboarded.headers["location"] == "/placement"  # the placement test is offered
    assert client.get("/practice").status_code == 200

    with app.state.sessions() as session:
        row = session.scalar(select(UserRow).where(UserRow.username == "ada.lovelace"))
        assert row is not None and row.role == "learner" and row.learner_id
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash

    old_cookie = client.cookies.get("hl_session")
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/practice", follow_redirects=False).status_code == 303
    # The old cookie is dead on the server too, not only forgotten by this browser.
    replay = TestClient(app, cookies={"hl_session": str(old_cookie)})
    assert replay.get("/practice", follow_redirects=False).headers["location"].startswith("/login")

    again = login(client, "ADA.LOVELACE")  # usernames are case-insensitive
    assert again.status_code == 303
    assert again.headers["location"] == "/practice"


def test_cookies_are_secure_over_https(app: FastAPI) -> None:
    client = TestClient(app, base_url="https://testserver")
    response = register(client, "https-user")
    assert "secure" in response.headers["set-cookie"].lower()


def test_registration_refuses_bad_input(app: FastAPI) -> None:
    client = TestClient(app)
    assert register(client, "x").status_code == 422  # too short a username
    assert register(client, "okname", password="short").status_code == 422
    assert register(client, "okname2", password="okname2okname2"[:7]).status_code == 422
    assert register(client, "taken1").status_code == 303
    other = TestClient(app)
    clash = register(other, "Taken1")
    assert clash.status_code == 409 and "taken" in clash.text
    page = other.get("/register")
    mismatch = other.post(
        "/register",
        data={
            "username": "mismatch",
            "password": PASSWORD,
            "password_again": PASSWORD + "!",
            "csrf_token": form_csrf(page.text),
        },
    )
    assert mismatch.status_code == 422 and "differ" in mismatch.text


def test_every_form_needs_its_csrf_token(app: FastAPI) -> None:
    client = signed_in(app)
    client.post(
        "/api/learners", json={"name": "C", "language": "en", "level": "A1", "interests": []}
    )
    for path, form in [
        (
            "/settings",
            {"policy": "random", "band_low": "60", "band_high": "80", "goal_level": "B1"},
        ),
        ("/practice/signal", {"item_id": "x", "signal": "like"}),
        ("/logout", {}),
        ("/account/tokens", {"name": "t"}),
        ("/onboard", {"name": "X", "language": "en", "level": "A1"}),
    ]:
        for token in (None, "forged", form_csrf(TestClient(app).get("/login").text)):
            data = dict(form) if token is None else {**form, "csrf_token": token}
            response = TestClient.post(client, path, data=data, follow_redirects=False)
            assert response.status_code == 403, (path, token, response.status_code)
    # Login CSRF: a login form posted from elsewhere (no token bound to this browser).
    stranger = TestClient(app)
    forged = stranger.post("/login", data={"username": client.username, "password": PASSWORD})
    assert forged.status_code == 403
    assert client.get("/settings").status_code == 200, "still signed in"


def test_sessions_expire(app: FastAPI, clock: Clock) -> None:
    client = signed_in(app)
    assert client.get("/account").status_code == 200
    clock.now += timedelta(hours=Settings().session_hours + 1)
    assert client.get("/account", follow_redirects=False).headers["location"].startswith("/login")


def test_a_tampered_session_cookie_is_ignored(app: FastAPI) -> None:
    client = signed_in(app)
    cookie = str(client.cookies.get("hl_session"))
    token, _, signature = cookie.rpartition(".")
    forged = TestClient(app, cookies={"hl_session": f"{token}.{signature[::-1]}"})
    assert forged.get("/account", follow_redirects=False).status_code == 303
    unsigned = TestClient(app, cookies={"hl_session": token})
    assert unsigned.get("/account", follow_redirects=False).status_code == 303


def test_login_rate_limit_per_account_and_address(app: FastAPI, clock: Clock) -> None:
    sign_up(AppClient(app), "limited")
    client = TestClient(app)
    for _ in range(5):
        wrong = login(client, "limited", "not the password")
        assert wrong.status_code == 401
        assert "wrong username or password" in wrong.text
    blocked = login(client, "limited")  # even the right password: the account is cooling off
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    # Unknown accounts get the same answer as wrong passwords, and their own budget.
    assert login(client, "nobody-here", "whatever").status_code == 401
    clock.now += timedelta(seconds=retry_after)
    assert login(client, "limited").status_code == 303


def test_api_tokens_authenticate_and_can_be_revoked(app: FastAPI) -> None:
    client = signed_in(app)
    anonymous = TestClient(app)
    learner = client.post(
        "/api/learners", json={"name": "T", "language": "en", "level": "A1", "interests": []}
    ).json()
    url = f"/api/learners/{learner['id']}/progress"
    missing = anonymous.get(url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert anonymous.get(url, headers={"Authorization": "Bearer hl_nope"}).status_code == 401
    # The session cookie does not authenticate the API (so the API needs no CSRF token).
    assert TestClient(app, cookies=dict(client.cookies.items())).get(url).status_code == 401
    assert client.get(url).status_code == 200
    assert client.get("/api/me").json()["learner_id"] == learner["id"]
    assert (
        client.post(
            "/api/learners", json={"name": "T2", "language": "en", "level": "A1"}
        ).status_code
        == 409
    )
    with app.state.sessions() as session:
        stored = session.scalars(select(ApiTokenRow.token_hash)).all()
        assert client.api_token not in stored and accounts.sha256(client.api_token) in stored
    page = client.get("/account").text
    token_id = page.split('action="/account/tokens/')[1].split("/")[0]
    revoked = client.post(f"/account/tokens/{token_id}/revoke", data={}, follow_redirects=False)
    assert revoked.status_code == 303
    assert client.get(url).status_code == 401
    assert "revoked" in client.get("/account").text


def test_login_next_stays_on_this_site(app: FastAPI) -> None:
    sign_up(AppClient(app), "nexter")
    client = TestClient(app)
    for target, expected in [("/progress", "/progress"), ("//evil.example", "/")]:
        page = client.get("/login", params={"next": target})
        response = client.post(
            "/login",
            data={
                "username": "nexter",
                "password": PASSWORD,
                "next": target,
                "csrf_token": form_csrf(page.text),
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected, target
        client.post("/logout", data={"csrf_token": form_csrf(client.get("/account").text)})


def test_the_production_password_hash_is_argon2id() -> None:
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    assert hasher.type.name == "ID" and hasher.memory_cost >= 19 * 1024


def test_weak_secret_keys_are_refused_outside_development(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    for weak in ("change-me", "short"):
        with pytest.raises(InsecureSettings):
            create_app(Settings(database_url=url, secret_key=weak, env="production"))
    dev = create_app(Settings(database_url=url, secret_key="change-me", env="development"))
    assert dev.state.secret_key == b"change-me"


def test_a_missing_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'k.sqlite3'}", data_dir=tmp_path)
    settings.secret_key = ""
    first = settings.effective_secret_key()
    assert len(first) >= 32 and first == settings.effective_secret_key()
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_cli_creates_an_admin_and_tokens(database_url: str, app: FastAPI) -> None:
    from hyperlearn.cli import app as cli

    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["--db", database_url, "user", "create", "Head", "--role", "admin", "--password-stdin"],
        input="an admin password\n",
    )
    assert made.exit_code == 0, made.output
    again = runner.invoke(
        cli, ["--db", database_url, "user", "create", "head", "--password-stdin"], input="x" * 9
    )
    assert again.exit_code == 1 and "taken" in again.output
    created = runner.invoke(cli, ["--db", database_url, "token", "create", "head"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("hl_")
    me = TestClient(app).get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "admin"
    listed = runner.invoke(cli, ["--db", database_url, "user", "list", "--json"])
    assert '"username": "head"' in listed.output
    admin_login = login(TestClient(app), "head", "an admin password")
    assert admin_login.status_code == 303
