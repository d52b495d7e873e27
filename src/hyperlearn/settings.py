"""Settings from the environment (HYPERLEARN_*) with safe embedded defaults."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYPERLEARN_", env_file=".env", extra="ignore")

    # Where the embedded SQLite database lives when no database URL is given.
    data_dir: Path = Path("data")
    # Any SQLAlchemy URL: sqlite:///path/to/file.sqlite3 or postgresql+psycopg://user@host/db.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hyperlearn.sqlite3').resolve()}"
