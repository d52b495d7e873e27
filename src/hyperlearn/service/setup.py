"""Creating the database and loading the shipped content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from hyperlearn.content.bank import Bank, load_bank
from hyperlearn.store import repository
from hyperlearn.store.engine import migrate, session_factory


def init_database(engine: Engine, now: datetime, bank: Bank | None = None) -> repository.SyncCounts:
    """Migrate to the newest schema and load the starter content. Safe to run again."""
    migrate(engine)
    bank = bank or load_bank()
    with session_factory(engine).begin() as session:
        return repository.sync_content(
            session, bank.topics.values(), bank.graphs.values(), bank.all_items(), now
        )
