"""The store against a real database: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hyperlearn.content.bank import Bank
from hyperlearn.core import HYPERLEARN_STARTER, Language
from hyperlearn.service.setup import init_database
from hyperlearn.store import repository
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.store.models import AttemptRow, Base, ItemRow, LearnerRow, SkillEdgeRow, SkillRow
from tests.conftest import T0


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_init_is_idempotent_and_loads_everything(database_url: str, bank: Bank) -> None:
    engine = make_engine(database_url)
    counts = init_database(engine, T0 + timedelta(days=1), bank)
    assert counts.items_added == 0
    assert counts.items_updated == len(bank.all_items())
    with session_factory(engine)() as session:
        # Other tests share this database and add themed or imported items: count the shipped.
        shipped_count = select(func.count()).where(ItemRow.source == HYPERLEARN_STARTER.source)
        assert session.scalar(shipped_count) == len(bank.all_items())
        skill_total = sum(len(g) for g in bank.graphs.values())
        assert session.scalar(select(func.count()).select_from(SkillRow)) == skill_total
        edges = sum(len(s.prerequisites) for g in bank.graphs.values() for s in g.skills.values())
        assert session.scalar(select(func.count()).select_from(SkillEdgeRow)) == edges
        for language, shipped_graph in bank.graphs.items():
            # Everything importers and form checks need survives the database round trip.
            graph = repository.load_graph(session, language)
            assert graph.topological_order() == shipped_graph.topological_order()
            assert dict(graph.skills) == dict(shipped_graph.skills)
            assert graph.unmapped_errant == shipped_graph.unmapped_errant
        loaded = {i.id: i for i in repository.load_items(session, Language.RU)}
        shipped = {i.id: i for i in bank.items[Language.RU]}
        assert loaded == shipped
    engine.dispose()


def test_times_round_trip_as_utc(database_url: str) -> None:
    engine = make_engine(database_url)
    moscow = timezone(timedelta(hours=3))
    with session_factory(engine).begin() as session:
        session.add(
            LearnerRow(
                id="tz-check",
                name="T",
                language="en",
                level="A1",
                created_at=datetime(2026, 5, 1, 15, 0, tzinfo=moscow),
            )
        )
    with session_factory(engine)() as session:
        row = session.get(LearnerRow, "tz-check")
        assert row is not None
        assert row.created_at == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        assert row.created_at.tzinfo is not None
        session.delete(row)
        session.commit()
    engine.dispose()


def test_idempotency_key_is_unique_per_learner(database_url: str, bank: Bank) -> None:
    engine = make_engine(database_url)
    item_id = bank.items[Language.EN][0].id
    sessions = session_factory(engine)
    with sessions.begin() as session:
        for learner in ("uniq-a", "uniq-b"):
            session.add(LearnerRow(id=learner, name="U", language="en", level="A1", created_at=T0))
        session.flush()
        for learner in ("uniq-a", "uniq-b"):  # the same key for two learners is fine
            session.add(
                AttemptRow(
                    learner_id=learner,
                    item_id=item_id,
                    answer="x",
                    correct=False,
                    answered_at=T0,
                    idempotency_key="same",
                )
            )
    with sessions() as session:
        session.add(
            AttemptRow(
                learner_id="uniq-a",
                item_id=item_id,
                answer="y",
                correct=True,
                answered_at=T0,
                idempotency_key="same",
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()
    engine.dispose()


def test_sqlite_uses_wal(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.sqlite3")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
