"""Alembic environment: the engine comes from HyperLearn (store.engine), never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from hyperlearn.store.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through hyperlearn.store.engine.migrate(engine)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
