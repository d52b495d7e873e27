"""Registration, login, logout, the interface language, and the account page: password,
signing out everywhere, personal API tokens.

Public registration makes learner accounts; teachers and admins are made on the command line
(`hyperlearn user create --role admin`). After registering, `/` runs the onboarding that
creates the account's learner profile. A new account's interface language is the one the
browser was shown (the footer switcher's cookie, else Accept-Language).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from hyperlearn.service import Conflict, InvalidInput, NotFound, accounts
from hyperlearn.service.accounts import BadCredentials, TooManyAttempts, UserView
from hyperlearn.service.errors import N_
from hyperlearn.settings import Settings
from hyperlearn.web import auth, i18n
from hyperlearn.web.deps import NowDep, SessionDep
from hyperlearn.web.pages import templates

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["accounts"])


class Me(BaseModel):
    id: str
    username: str
    role: str
    learner_id: str | None
    ui_language: str


# Role names as the account page shows them (translated there).
ROLE_NAMES = {"learner": N_("learner"), "teacher": N_("teacher"), "admin": N_("admin")}
LANGUAGE_COOKIE_SECONDS = 3600 * 24 * 365


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("learner", None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _signed_in(
    request: Request, session: SessionDep, now: NowDep, user: UserView, target: str
) -> Response:
    """Start a fresh session (a new token at every login: no session fixation)."""
    old = getattr(request.state, "session_token", None)
    if old:
        accounts.end_session(session, old)
    lifetime = timedelta(hours=_settings(request).session_hours)
    browser = accounts.start_session(session, user.id, now, lifetime)
    response = RedirectResponse(target, status_code=303)
    key: bytes = request.app.state.secret_key
    auth.set_cookie(
        request,
        response,
        auth.SESSION_COOKIE,
        auth.session_cookie_value(key, browser.token),
        int(lifetime.total_seconds()),
    )
    return response


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request) -> Response:
    if auth.current_user(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _page(request, "register.html", error=None, username="")


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request,
    session: SessionDep,
    now: NowDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_CHARS)],
    password_again: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_CHARS)],
) -> Response:
    """A new learner account; then `/` asks for language, level and interests."""
    try:
        if password != password_again:
            raise InvalidInput(N_("the two passwords differ"))
        user = accounts.create_user(
            session,
            username=username,
            password=password,
            role="learner",
            now=now,
            ui_language=i18n.browser_language(request),
        )
    except (InvalidInput, Conflict) as error:
        code = 409 if isinstance(error, Conflict) else 422
        return _page(
            request,
            "register.html",
            status_code=code,
            error=i18n.reason(request, error),
            username=username,
        )
    return _signed_in(request, session, now, user, "/")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    target = request.query_params.get("next", "")
    if auth.current_user(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _page(
        request,
        "login.html",
        error=None,
        username="",
        next=target if auth.safe_next(target) else "",
        signed_out_everywhere=request.query_params.get("ended") == "all",
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    now: NowDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_CHARS)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    settings = _settings(request)
    target = next if auth.safe_next(next) else ""
    address = request.client.host if request.client else "unknown"
    try:
        user = accounts.authenticate(
            session,
            username,
            password,
            address=address,
            now=now,
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
        )
    except TooManyAttempts as error:
        response = _page(
            request,
            "login.html",
            status_code=429,
            error=i18n.reason(request, error),
            username=username,
            next=target,
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except BadCredentials as error:
        return _page(
            request,
            "login.html",
            status_code=401,
            error=i18n.reason(request, error),
            username=username,
            next=target,
        )
    return _signed_in(
        request, session, now, user, target or ("/practice" if user.learner_id else "/")
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = getattr(request.state, "session_token", None)
    if token:
        accounts.end_session(session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def choose_language(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The footer's switcher: remembered in a cookie, and for a signed-in user in their
    account too; then back to the page it was used on."""
    response = RedirectResponse(next if auth.safe_next(next) else "/", status_code=303)
    return _set_language(request, session, lang, response)


def _set_language(request: Request, session: SessionDep, lang: str, response: Response) -> Response:
    language = accounts.check_ui_language(lang)
    user = auth.current_user(request)
    if user is not None:
        accounts.set_ui_language(session, user.id, language)
    auth.set_cookie(request, response, i18n.LANG_COOKIE, language, LANGUAGE_COOKIE_SECONDS)
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, session: SessionDep, now: NowDep) -> Response:
    user = auth.current_user(request)
    assert user is not None
    return _account_page(
        request, session, now, user, new_token=None, saved=request.query_params.get("saved", "")
    )


@router.post("/account/language")
def change_language(
    request: Request, session: SessionDep, ui_language: Annotated[str, Form(max_length=8)]
) -> Response:
    response = RedirectResponse("/account?saved=language", status_code=303)
    return _set_language(request, session, ui_language, response)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: SessionDep,
    now: NowDep,
    current_password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_CHARS)],
    new_password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_CHARS)],
    new_password_again: Annotated[str, Form(max_length=accounts.MAX_PASSWORD_CHARS)],
) -> Response:
    """A new password (the current one is asked for); every other session of the account
    ends, this one stays."""
    user = auth.current_user(request)
    assert user is not None
    settings = _settings(request)
    code, headers = 422, {}
    try:
        if new_password != new_password_again:
            raise InvalidInput(N_("the two new passwords differ"))
        accounts.change_password(
            session,
            user.id,
            current_password,
            new_password,
            keep_session=getattr(request.state, "session_token", None),
            address=request.client.host if request.client else "unknown",
            now=now,
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
        )
    except (InvalidInput, BadCredentials, TooManyAttempts) as error:
        if isinstance(error, BadCredentials):
            code = 403  # signed in, but the current password was wrong
        elif isinstance(error, TooManyAttempts):
            code, headers = 429, {"Retry-After": str(error.retry_after)}
        response = _account_page(
            request,
            session,
            now,
            user,
            new_token=None,
            password_error=i18n.reason(request, error),
            status_code=code,
        )
        response.headers.update(headers)
        return response
    return RedirectResponse("/account?saved=password", status_code=303)


@router.post("/account/sessions/end")
def sign_out_everywhere(request: Request, session: SessionDep) -> Response:
    """End every browser session of the account, this one too. API tokens are not revoked
    (the page says so): they are listed, and revoked, one by one."""
    user = auth.current_user(request)
    assert user is not None
    accounts.end_all_sessions(session, user.id)
    response = RedirectResponse("/login?ended=all", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    session: SessionDep,
    now: NowDep,
    name: Annotated[str, Form(max_length=accounts.MAX_TOKEN_NAME_CHARS)] = "",
) -> Response:
    """A new API token, shown once on the page that answers this form."""
    user = auth.current_user(request)
    assert user is not None
    created = accounts.create_token(session, user.id, name, now)
    response = _account_page(request, session, now, user, new_token=created.secret)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, session: SessionDep, now: NowDep, token_id: int) -> Response:
    user = auth.current_user(request)
    assert user is not None
    accounts.revoke_token(session, user.id, token_id, now)
    return RedirectResponse("/account", status_code=303)


def _account_page(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: UserView,
    new_token: str | None,
    saved: str = "",
    password_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "account.html",
        status_code=status_code,
        user=user,
        role_name=ROLE_NAMES.get(str(user.role), str(user.role)),
        tokens=accounts.list_tokens(session, user.id),
        sessions=accounts.count_sessions(
            session,
            user.id,
            now,
            timedelta(minutes=_settings(request).session_idle_minutes),
        ),
        new_token=new_token,
        saved=saved,
        password_error=password_error,
        languages=i18n.LANGUAGES,
    )


@api_router.get("/me", response_model=Me)
def me(request: Request) -> Me:
    """The account this API token belongs to, with its learner profile's id (or null)."""
    user = auth.current_user(request)
    if user is None:  # the guard answers 401 first; kept for type checkers
        raise NotFound("no account")
    return Me(
        id=user.id,
        username=user.username,
        role=str(user.role),
        learner_id=user.learner_id,
        ui_language=user.ui_language,
    )
