"""Who is asking, and may they: one dependency (`guard`) that every route of the app runs.

- The JSON API (`/api/...`) authenticates with personal API tokens (`Authorization: Bearer
  hl_...`); it takes no cookies, so it needs no CSRF token. Anonymous requests get 401,
  except for the public content routes in PUBLIC_API.
- Pages authenticate with a server-side session whose random token travels in a signed,
  HttpOnly, SameSite=Lax cookie (Secure over https); a session ends at its absolute expiry
  or after HYPERLEARN_SESSION_IDLE_MINUTES without a request. Every state-changing page request must
  carry the session's CSRF token in the form field `csrf_token`; before login, forms carry a
  token bound to a random per-browser cookie. Anonymous visitors of any page but PUBLIC_PAGES
  are sent to /login.
- Any route with a `{learner_id}` path parameter, including routes added later, is checked
  with `can_read_learner` (GET, HEAD) or `can_write_learner` (anything else); a learner who is
  not yours is answered exactly like one that does not exist (404).

Templates render the CSRF field with `{{ csrf_field(request) }}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from hyperlearn.service import NotFound, accounts
from hyperlearn.service.accounts import UserView
from hyperlearn.web.deps import NowDep, SessionDep

SESSION_COOKIE = "hl_session"
BROWSER_COOKIE = "hl_browser"  # a random nonce that pre-login CSRF tokens are bound to
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_API = frozenset({"/api/health", "/api/topics", "/api/skills"})
# /language: the footer's interface-language switcher works before login too.
PUBLIC_PAGES = frozenset({"/", "/login", "/register", "/language"})


class LoginRequired(Exception):
    """An anonymous visitor asked for a page that needs an account: off to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfFailed(Exception):
    """A state-changing form without the right CSRF token (403)."""


def _sign(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def session_cookie_value(key: bytes, token: str) -> str:
    return f"{token}.{_sign(key, 'session', token)}"


def _session_token(key: bytes, cookie: str | None) -> str | None:
    """The token of a signed session cookie, or None when it is missing or tampered with."""
    if not cookie or len(cookie) > 200:
        return None
    token, _, signature = cookie.rpartition(".")
    if not token or not hmac.compare_digest(signature, _sign(key, "session", token)):
        return None
    return token


def browser_nonce(request: Request) -> str:
    """This browser's pre-login nonce; the middleware in app.py sets the cookie when new."""
    nonce = request.cookies.get(BROWSER_COOKIE)
    if nonce and 16 <= len(nonce) <= 100:
        return nonce
    fresh: str | None = getattr(request.state, "new_browser_nonce", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(24)
        request.state.new_browser_nonce = fresh
    return fresh


def _anonymous_csrf(request: Request) -> str:
    key: bytes = request.app.state.secret_key
    return _sign(key, "csrf", browser_nonce(request))


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def current_user(request: Request) -> UserView | None:
    user: UserView | None = getattr(request.state, "user", None)
    return user


def csrf_token(request: Request) -> str:
    token: str | None = getattr(request.state, "csrf_token", None)
    if token is None:  # a page rendered outside the guard (an error page): bind to the browser
        token = _anonymous_csrf(request)
    return token


def csrf_field(request: Request) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, escape(csrf_token(request))
    )


def _resolve(request: Request, session: Session, now: datetime, api: bool) -> UserView | None:
    if api:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if not secret or scheme.lower() != "bearer":
            return None
        user = accounts.user_for_token(session, secret.strip(), now)
        if user is None:
            raise HTTPException(
                status_code=401,
                detail="invalid or revoked API token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return user
    key: bytes = request.app.state.secret_key
    token = _session_token(key, request.cookies.get(SESSION_COOKIE))
    idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
    browser = accounts.resume_session(session, token, now, idle) if token else None
    if browser is None:
        request.state.csrf_token = _anonymous_csrf(request)
        return None
    request.state.csrf_token = browser.csrf_token
    request.state.session_token = browser.token
    return browser.user


async def guard(request: Request, session: SessionDep, now: NowDep) -> None:
    """Runs before every route (an app-wide dependency)."""
    path = request.url.path
    api = path.startswith("/api/")
    user = await run_in_threadpool(_resolve, request, session, now, api)
    request.state.user = user
    if not api and request.method not in SAFE_METHODS:
        form: FormData = await request.form()
        sent = form.get(CSRF_FIELD)
        expected: str = request.state.csrf_token
        if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
            raise CsrfFailed()
    if user is None and path not in (PUBLIC_API if api else PUBLIC_PAGES):
        if api:
            raise HTTPException(
                status_code=401,
                detail="authentication required: send Authorization: Bearer <API token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise LoginRequired(path if request.method in SAFE_METHODS else "/")
    learner_id = request.path_params.get("learner_id")
    if learner_id is not None:
        if request.method in SAFE_METHODS:
            # Teachers read the learners of their classes: a database lookup.
            allowed = await run_in_threadpool(
                accounts.can_read_learner, user, str(learner_id), session
            )
        else:
            allowed = accounts.can_write_learner(user, str(learner_id))
        if not allowed:
            raise NotFound(f"no learner with id {learner_id!r}")


def login_url(next_path: str) -> str:
    if next_path in ("", "/") or not safe_next(next_path):
        return "/login"
    return f"/login?next={quote(next_path, safe='/')}"


def safe_next(target: str | None) -> bool:
    """Only paths of this site: no scheme, no host, no backslash tricks."""
    return bool(
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and len(target) <= 500
    )


CurrentUser = Annotated[UserView | None, Depends(current_user)]
