"""Sessions on the shared test database and on a database of a test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from hyperlearn.store.engine import make_engine, session_factory


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with session_factory(engine)() as db_session:
        yield db_session
    engine.dispose()


@pytest.fixture
def fresh_session(fresh_database_url: str) -> Iterator[Session]:
    """A database of its own, for tests that add items or withhold them from everyone."""
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as db_session:
        yield db_session
    engine.dispose()
