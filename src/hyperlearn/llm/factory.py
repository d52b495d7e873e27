"""The backend the settings name, one per process, and the accounting around it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hyperlearn.llm.backend import (
    Completion,
    CompletionRequest,
    LLMBackend,
    LLMError,
    NoneBackend,
    Usage,
)

if TYPE_CHECKING:
    from hyperlearn.settings import Settings

log = logging.getLogger(__name__)


def backend_from_settings(settings: Settings) -> LLMBackend:
    """A new backend as configured; ValueError naming the setting when the combination is
    unusable. Nothing is loaded or contacted here: the first call does that."""
    if settings.llm_backend == "none":
        return NoneBackend()
    if settings.llm_backend == "openai":
        from hyperlearn.llm.openai import OpenAIBackend

        if not settings.llm_base_url:
            raise ValueError(
                "HYPERLEARN_LLM_BASE_URL must be set when HYPERLEARN_LLM_BACKEND=openai "
                "(e.g. http://127.0.0.1:8080/v1)"
            )
        return OpenAIBackend(
            settings.llm_base_url,
            settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            json_mode=settings.llm_json_mode,
            timeout_s=settings.llm_timeout_s,
            retries=settings.llm_retries,
        )
    if settings.llm_backend == "llamacpp":
        from hyperlearn.llm.llamacpp import LlamaCppBackend

        if settings.llm_model_path is None or not str(settings.llm_model_path).strip():
            raise ValueError(
                "HYPERLEARN_LLM_MODEL_PATH must name a GGUF file when "
                "HYPERLEARN_LLM_BACKEND=llamacpp"
            )
        return LlamaCppBackend(
            settings.llm_model_path, n_ctx=settings.llm_context, model=settings.llm_model
        )
    raise ValueError(f"unknown HYPERLEARN_LLM_BACKEND {settings.llm_backend!r}")


class MeteredBackend:
    """Counts every completion and every failure (by reason) in `usage`, and logs failures
    at WARNING with the backend, model and reason: never the prompt or the API key."""

    def __init__(self, inner: LLMBackend, usage: Usage | None = None) -> None:
        self.inner = inner
        self.usage = usage if usage is not None else Usage()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    def complete(self, request: CompletionRequest) -> Completion:
        try:
            completion = self.inner.complete(request)
        except LLMError as exc:
            self._failed("complete", exc)
            raise
        self.usage.record(completion)
        return completion

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        try:
            return self.inner.embed(texts)
        except LLMError as exc:
            self._failed("embed", exc)
            raise

    def _failed(self, call: str, exc: LLMError) -> None:
        self.usage.fail(exc.reason)
        # Backends' messages carry no prompt text and blank the API key (see their modules).
        log.warning(
            "LLM %s failed: backend=%s model=%s reason=%s: %s",
            call,
            self.name,
            self.model,
            exc.reason,
            exc,
        )


_shared: dict[tuple[object, ...], MeteredBackend] = {}
_shared_lock = threading.Lock()


def _config_key(settings: Settings) -> tuple[object, ...]:
    return (
        settings.llm_backend,
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key.get_secret_value(),
        settings.llm_json_mode,
        str(settings.llm_model_path),
        settings.llm_timeout_s,
        settings.llm_retries,
        settings.llm_context,
    )


def shared_backend(settings: Settings) -> MeteredBackend:
    """The process-wide backend for these settings, made on first use: a llama.cpp model
    loads once, an HTTP client keeps its connections, and `.usage` adds up every caller."""
    key = _config_key(settings)
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = MeteredBackend(backend_from_settings(settings))
        return found


def clear_shared_backends() -> None:
    """Forget the shared backends (tests; a settings reload)."""
    with _shared_lock:
        _shared.clear()
