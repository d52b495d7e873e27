"""Accounts: users and roles, argon2id passwords, browser sessions, API tokens, login rate
limiting, and the one place that decides who may read or change a learner's data.

Secrets (session and API tokens) are random 256-bit values; only their SHA-256 is stored, so a
copy of the database lets nobody in. Time is always an argument (`now`), never read here.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hyperlearn.core import require_utc
from hyperlearn.service.errors import N_, Conflict, InvalidInput, NotFound, ServiceError
from hyperlearn.store.models import (
    ApiTokenRow,
    ClassMemberRow,
    ClassRow,
    LearnerRow,
    LoginFailureRow,
    UserRow,
    UserSessionRow,
)

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # argon2 takes any length; this bounds the work one request can ask
MAX_TOKEN_NAME_CHARS = 100
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{1,99}$")
TOKEN_PREFIX = "hl_"  # noqa: S105 (a prefix, not a secret)
UI_LANGUAGES = ("en", "ru")  # the interface languages (web/i18n.py has their catalogues)


class Role(StrEnum):
    LEARNER = "learner"
    TEACHER = "teacher"
    ADMIN = "admin"


class BadCredentials(ServiceError):
    """401: unknown user or wrong password (the same answer for both)."""


class TooManyAttempts(ServiceError):
    """429: too many failed attempts (logins, invite codes) in the limiter's window."""

    def __init__(self, reason: str, retry_after: int, /, **params: object) -> None:
        super().__init__(reason, **params)
        self.retry_after = retry_after


# argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile). Tests swap in a cheaper
# argon2id profile with `use_password_hasher`, as Django's test settings do.
_hasher = PasswordHasher()
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> None:
    global _hasher, _dummy_hash
    _hasher = hasher
    _dummy_hash = None


def password_hasher() -> PasswordHasher:
    return _hasher


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    username: str
    role: Role
    learner_id: str | None
    created_at: datetime
    ui_language: str = "en"


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created API token: `secret` is shown once and never stored."""

    view: TokenView
    secret: str


@dataclass(frozen=True, slots=True)
class BrowserSession:
    user: UserView
    token: str  # goes into the cookie; only its hash is stored
    csrf_token: str
    expires_at: datetime


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- access rules -------------------------------------------------------------------------


def can_read_learner(
    user: UserView | None, learner_id: str, session: Session | None = None
) -> bool:
    """Whether `user` may see this learner's data. Learners see their own; admins see all;
    teachers see the learners of their classes, which needs `session` to look up (without
    one, a teacher sees only their own learner profile). Nobody but the learner may change
    it (`can_write_learner`)."""
    if user is None:
        return False
    if user.learner_id is not None and user.learner_id == learner_id:
        return True
    if user.role is Role.ADMIN:
        return True
    if user.role is Role.TEACHER and session is not None:
        query = (
            select(ClassMemberRow.learner_id)
            .join(ClassRow, ClassRow.id == ClassMemberRow.class_id)
            .where(ClassRow.teacher_id == user.id, ClassMemberRow.learner_id == learner_id)
            .limit(1)
        )
        return session.scalar(query) is not None
    return False


def can_write_learner(user: UserView | None, learner_id: str) -> bool:
    """Whether `user` may change this learner's data (answer, settings, signals): only the
    learner themselves."""
    return user is not None and user.learner_id is not None and user.learner_id == learner_id


# --- users --------------------------------------------------------------------------------


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_password(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            N_("a password needs at least %(count)s characters"), count=MIN_PASSWORD_CHARS
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(
            N_("a password may have at most %(count)s characters"), count=MAX_PASSWORD_CHARS
        )
    if username and password.strip().lower() == normalise_username(username):
        raise InvalidInput(N_("the password must not be the username"))


def check_ui_language(language: str) -> str:
    if language not in UI_LANGUAGES:
        raise InvalidInput(
            N_("unknown interface language %(language)r: use en or ru"), language=language
        )
    return language


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    now: datetime,
    ui_language: str = "en",
) -> UserView:
    require_utc(now)
    name = normalise_username(username)
    if not USERNAME.match(name):
        raise InvalidInput(
            N_(
                "a username has 2 to 100 characters: letters, digits and . _ @ + - "
                "(starting with a letter or digit)"
            )
        )
    try:
        parsed_role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}: use learner, teacher or admin") from None
    check_password(password, name)
    check_ui_language(ui_language)
    if session.scalar(select(UserRow.id).where(UserRow.username == name)) is not None:
        raise Conflict(N_("that username is taken"))
    row = UserRow(
        id=str(uuid.uuid4()),
        username=name,
        password_hash=_hasher.hash(password),
        role=str(parsed_role),
        learner_id=None,
        created_at=now,
        ui_language=ui_language,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(N_("that username is taken")) from None
    return _view(row)


def get_user(session: Session, user_id: str) -> UserView:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id!r}")
    return _view(row)


def find_user(session: Session, username: str) -> UserView:
    row = session.scalar(select(UserRow).where(UserRow.username == normalise_username(username)))
    if row is None:
        raise NotFound(f"no user {normalise_username(username)!r}")
    return _view(row)


def list_users(session: Session) -> list[UserView]:
    return [_view(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]


def set_password(session: Session, user_id: str, password: str) -> None:
    """A new password; every browser session of the user ends."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id!r}")
    check_password(password, row.username)
    row.password_hash = _hasher.hash(password)
    session.execute(delete(UserSessionRow).where(UserSessionRow.user_id == user_id))
    session.commit()


def change_password(
    session: Session,
    user_id: str,
    current_password: str,
    new_password: str,
    *,
    keep_session: str | None,
    address: str,
    now: datetime,
    max_failures: int = 5,
    window: timedelta = timedelta(minutes=15),
) -> None:
    """The user changes their own password: the current one must be right (a wrong one counts
    as a failed login, so a stolen session cannot guess it). Every other browser session of
    the user ends; `keep_session` (the cookie token of the session asking) stays. API tokens
    are not touched."""
    require_utc(now)
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id!r}")
    key = _failure_key(row.username, address)
    _check_limit(session, key, now, max_failures, window, N_LOGIN_LIMIT)
    if len(current_password) > MAX_PASSWORD_CHARS or not _verify(
        row.password_hash, current_password
    ):
        session.add(LoginFailureRow(key=key, failed_at=now))
        session.commit()
        raise BadCredentials(N_("the current password is wrong"))
    check_password(new_password, row.username)
    row.password_hash = _hasher.hash(new_password)
    others = delete(UserSessionRow).where(UserSessionRow.user_id == user_id)
    if keep_session is not None:
        others = others.where(UserSessionRow.token_hash != sha256(keep_session))
    session.execute(others)
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))
    session.commit()


def set_ui_language(session: Session, user_id: str, language: str) -> UserView:
    """The interface language of the user's pages: "en" or "ru"."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id!r}")
    row.ui_language = check_ui_language(language)
    session.commit()
    return _view(row)


def attach_learner(session: Session, user_id: str, learner_id: str) -> UserView:
    """Make `learner_id` the user's learner profile (a user has at most one)."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id!r}")
    if row.learner_id is not None:
        raise Conflict("this account already has a learner profile")
    if session.get(LearnerRow, learner_id) is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    row.learner_id = learner_id
    session.commit()
    return _view(row)


def _view(row: UserRow) -> UserView:
    return UserView(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        learner_id=row.learner_id,
        created_at=row.created_at,
        ui_language=row.ui_language,
    )


# --- login and rate limiting --------------------------------------------------------------


N_LOGIN_LIMIT = N_("too many failed logins; try again in %(seconds)s seconds")


def _failure_key(username: str, address: str) -> str:
    return sha256(f"{normalise_username(username)}\x00{address}")


def _check_limit(
    session: Session,
    key: str,
    now: datetime,
    max_failures: int,
    window: timedelta,
    message: str,
) -> None:
    """The sliding-window limiter shared by logins and invite codes (`limit_key`): failures
    older than the window are forgotten; with `max_failures` left under `key`,
    TooManyAttempts, with the seconds until the oldest one leaves the window."""
    since = now - window
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.failed_at < since))
    failures = session.execute(
        select(func.count(), func.min(LoginFailureRow.failed_at)).where(
            LoginFailureRow.key == key, LoginFailureRow.failed_at >= since
        )
    ).one()
    if failures[0] >= max_failures:
        session.commit()
        oldest: datetime = failures[1]
        retry_after = max(1, math.ceil((oldest + window - now).total_seconds()))
        raise TooManyAttempts(message, retry_after, seconds=retry_after)


def limit_key(purpose: str, *parts: str) -> str:
    """A limiter key for failures other than logins, e.g. ("join", learner id)."""
    return sha256("\x00".join((purpose, *parts)))


def check_limit(
    session: Session,
    key: str,
    now: datetime,
    *,
    max_failures: int,
    window: timedelta,
    message: str,
) -> None:
    require_utc(now)
    _check_limit(session, key, now, max_failures, window, message)


def record_failure(session: Session, key: str, now: datetime) -> None:
    session.add(LoginFailureRow(key=key, failed_at=now))
    session.commit()


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    address: str,
    now: datetime,
    max_failures: int = 5,
    window: timedelta = timedelta(minutes=15),
) -> UserView:
    """The user with this username and password, or BadCredentials. After `max_failures`
    failures for one account from one address within `window`, TooManyAttempts (with the
    seconds until the oldest counted failure leaves the window) without checking the
    password. A success clears the account's failures from that address."""
    global _dummy_hash
    require_utc(now)
    key = _failure_key(username, address)
    _check_limit(session, key, now, max_failures, window, N_LOGIN_LIMIT)
    row = None
    if len(password) <= MAX_PASSWORD_CHARS:
        row = session.scalar(
            select(UserRow).where(UserRow.username == normalise_username(username))
        )
    if row is None:
        # The same work as for a real account, so timing does not tell which usernames exist.
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        _verify(_dummy_hash, password[:MAX_PASSWORD_CHARS])
        ok = False
    else:
        ok = _verify(row.password_hash, password)
    if not ok:
        session.add(LoginFailureRow(key=key, failed_at=now))
        session.commit()
        raise BadCredentials(N_("wrong username or password"))
    assert row is not None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))
    session.commit()
    return _view(row)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- browser sessions ---------------------------------------------------------------------


def start_session(
    session: Session, user_id: str, now: datetime, lifetime: timedelta
) -> BrowserSession:
    require_utc(now)
    user = get_user(session, user_id)
    token = secrets.token_urlsafe(32)
    row = UserSessionRow(
        token_hash=sha256(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
    )
    session.add(row)
    session.execute(delete(UserSessionRow).where(UserSessionRow.expires_at <= now))
    session.commit()
    return BrowserSession(user, token, row.csrf_token, row.expires_at)


# How stale a session's last_seen_at may get before a request writes it again: one write a
# minute per session at most, so the idle timeout is exact to within this.
SEEN_PRECISION = timedelta(minutes=1)


def resume_session(
    session: Session, token: str, now: datetime, idle: timedelta | None = None
) -> BrowserSession | None:
    """The live session with this cookie token, or None (unknown, ended or expired). With
    `idle`, a session unused for that long has ended too (and is deleted); a live one is
    marked as seen now."""
    row = session.get(UserSessionRow, sha256(token))
    if row is None or row.expires_at <= now:
        return None
    seen = row.last_seen_at or row.created_at
    if idle is not None and seen + idle <= now:
        session.delete(row)
        session.commit()
        return None
    user = session.get(UserRow, row.user_id)
    if user is None:
        return None
    if now - seen >= SEEN_PRECISION:
        row.last_seen_at = now
        session.commit()
    return BrowserSession(_view(user), token, row.csrf_token, row.expires_at)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSessionRow).where(UserSessionRow.token_hash == sha256(token)))
    session.commit()


def end_all_sessions(session: Session, user_id: str) -> int:
    """Sign the user out everywhere: every browser session ends (API tokens stay valid).
    Returns how many sessions ended."""
    ended = session.execute(delete(UserSessionRow).where(UserSessionRow.user_id == user_id))
    session.commit()
    count: int = getattr(ended, "rowcount", 0) or 0
    return count


def count_sessions(
    session: Session, user_id: str, now: datetime, idle: timedelta | None = None
) -> int:
    """The user's live browser sessions: before their absolute expiry and, with `idle`,
    used within that long."""
    query = select(func.count()).where(
        UserSessionRow.user_id == user_id, UserSessionRow.expires_at > now
    )
    if idle is not None:
        seen = func.coalesce(UserSessionRow.last_seen_at, UserSessionRow.created_at)
        query = query.where(seen > now - idle)
    return int(session.scalar(query) or 0)


# --- API tokens ---------------------------------------------------------------------------


def create_token(session: Session, user_id: str, name: str, now: datetime) -> NewToken:
    require_utc(now)
    get_user(session, user_id)
    name = " ".join(name.split())[:MAX_TOKEN_NAME_CHARS] or "API token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(
        user_id=user_id,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=sha256(secret),
        created_at=now,
    )
    session.add(row)
    session.commit()
    return NewToken(_token_view(row), secret)


def list_tokens(session: Session, user_id: str) -> list[TokenView]:
    rows = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id)
    )
    return [_token_view(r) for r in rows]


def revoke_token(session: Session, user_id: str | None, token_id: int, now: datetime) -> None:
    """Revoke one token. With `user_id`, only a token of that user (else NotFound); None is
    for the command line, which may revoke any."""
    row = session.get(ApiTokenRow, token_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
    session.commit()


def user_for_token(session: Session, secret: str, now: datetime) -> UserView | None:
    """The owner of a live API token, or None. Records when the token was last used."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == sha256(secret)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(UserRow, row.user_id)
    if user is None:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now  # at most one write per token every few minutes
        session.commit()
    return _view(user)


def _token_view(row: ApiTokenRow) -> TokenView:
    return TokenView(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
