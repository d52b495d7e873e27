"""Persistence: SQLAlchemy 2 tables, Alembic migrations, and the queries the services need."""
