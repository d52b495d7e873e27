"""Shared fixtures: the starter bank, databases (SQLite always, PostgreSQL when configured),
and API clients with a fixed clock and seeded randomness."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text

from hyperlearn.content.bank import Bank, load_bank
from hyperlearn.service import accounts
from hyperlearn.service.setup import init_database
from hyperlearn.settings import Settings
from hyperlearn.store.engine import make_engine
from hyperlearn.store.models import Base
from hyperlearn.web.app import create_app
from tests.signin import AppClient, sign_up

# Apps made by tests sign cookies with this key (Settings() reads it from the environment), so
# no test writes a generated key file into the working directory.
os.environ.setdefault("HYPERLEARN_SECRET_KEY", "tests-only-secret-key-0123456789abcdefghijklmnop")

POSTGRES_ENV = "HYPERLEARN_TEST_POSTGRES_URL"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def require_shared_data(relative: str) -> Path:
    """A path under ../shared/data; on CI its absence is a failure, elsewhere a visible skip."""
    path = SHARED_DATA / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {path}, which is missing")
        pytest.skip(f"{path} is not available on this machine")
    return path


class Clock:
    """A clock the tests move by hand; each reading is one second after the last."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """argon2id with the smallest cost: the production profile takes about 0.3 s a hash, and
    the suite registers hundreds of accounts (tests/web/test_accounts.py checks the real one)."""
    production = accounts.password_hasher()
    accounts.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    accounts.use_password_hasher(production)


@pytest.fixture(scope="session")
def bank() -> Bank:
    return load_bank()


def _reset_postgres(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    return engine


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database with the starter content, once per backend per test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hyperlearn.sqlite3'}"
        engine = make_engine(url)
    else:
        url = os.environ.get(POSTGRES_ENV, "")
        if not url:
            pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (CI sets it)")
        engine = _reset_postgres(url)
    init_database(engine, T0)
    engine.dispose()
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(database_url: str, clock: Clock) -> Iterator[AppClient]:
    """A client signed in as a new learner account (no learner profile yet: POST /api/learners
    or the onboarding form makes it): session cookie and CSRF token for pages, API token for
    /api. `tests.signin.signed_in(client.app)` makes another account on the same app."""
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=database_url),
        clock=clock,
        rng_factory=lambda: random.Random(next(seeds)),
    )
    with AppClient(app) as test_client:
        yield sign_up(test_client)
    app.state.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of its own (migrated, starter content loaded), for tests that change
    database-wide state such as the fitted knowledge-tracing model."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        engine = make_engine(url)
    else:
        base = os.environ.get(POSTGRES_ENV, "")
        if not base:
            pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (CI sets it)")
        url = _separate_postgres_database(base, "hyperlearn_fresh")
        engine = _reset_postgres(url)
    init_database(engine, T0)
    engine.dispose()
    return url


def _separate_postgres_database(base_url: str, name: str) -> str:
    """A sibling database on the same server, created when missing."""
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    admin = make_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)
