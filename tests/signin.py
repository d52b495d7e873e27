"""Test clients that are signed in, the way a person or a program would be.

`signed_in(app)` registers a fresh learner account through the pages (/register with its
CSRF token), then creates an API token on /account. The client sends the session cookie to
pages, adds the session's CSRF token to every form it posts (tests of CSRF itself post with a
plain TestClient or pass their own `csrf_token`), and sends the API token to /api.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


class AppClient(TestClient):
    csrf_token: str = ""
    username: str = ""
    api_token: str = ""

    def post(self, url: Any, **kwargs: Any) -> httpx.Response:
        data = kwargs.get("data")
        if (
            self.csrf_token
            and isinstance(data, dict)
            and "csrf_token" not in data
            and not str(url).startswith("/api/")
        ):
            kwargs["data"] = {**data, "csrf_token": self.csrf_token}
        return super().post(url, **kwargs)


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def register(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Register through the page, as a browser would (anonymous CSRF token included)."""
    page = client.get("/register")
    assert page.status_code == 200, page.text
    return client.post(
        "/register",
        data={
            "username": username,
            "password": password,
            "password_again": password,
            "csrf_token": form_csrf(page.text),
        },
        follow_redirects=False,
    )


def create_api_token(client: TestClient, csrf_token: str, name: str = "tests") -> str:
    page = client.post("/account/tokens", data={"name": name, "csrf_token": csrf_token})
    assert page.status_code == 200, page.text
    found = re.search(r'<code class="token">(hl_[^<]+)</code>', page.text)
    assert found
    return found.group(1)


def sign_up(client: AppClient, username: str | None = None) -> AppClient:
    """Make `client` a new learner account (without a learner profile yet)."""
    username = username or f"learner{next(_numbers)}"
    response = register(client, username)
    assert response.status_code == 303, response.text
    client.username = username
    client.csrf_token = form_csrf(client.get("/account").text)
    client.api_token = create_api_token(client, client.csrf_token)
    client.headers["Authorization"] = f"Bearer {client.api_token}"
    return client


def signed_in(app: ASGIApp, username: str | None = None) -> AppClient:
    return sign_up(AppClient(app), username)


def sign_in_again(client: AppClient, password: str = PASSWORD) -> AppClient:
    """Log `client`'s account in through /login, as after its browser session has ended
    (logout, idle timeout): a new session cookie and CSRF token; the API token is unchanged."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    response = client.post(
        "/login",
        data={
            "username": client.username,
            "password": password,
            "csrf_token": form_csrf(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.csrf_token = form_csrf(client.get("/account").text)
    return client
