"""One small interface for every language model HyperLearn can talk to.

Backends: `none` (the default: every call fails with `LLMUnavailable`, so callers take their
deterministic path), `openai` (any OpenAI-compatible server) and `llamacpp` (a local GGUF file,
the `[llm]` extra). Callers never catch more than `LLMError`: whatever goes wrong with a model
(down, slow, invalid JSON, wrong language) is one of its subclasses, logged and counted in
`Usage`, and the learner sees the deterministic path.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

JSONSchema = Mapping[str, Any]


class LLMError(RuntimeError):
    """A model call that gave nothing usable. `reason` is a short stable key for counting."""

    reason = "error"


class LLMUnavailable(LLMError):
    """No model is configured, or the endpoint cannot be reached."""

    reason = "unavailable"


class LLMTimeout(LLMError):
    reason = "timeout"


class LLMInvalidOutput(LLMError):
    """The model answered, but not with what was asked (invalid JSON, schema mismatch)."""

    reason = "invalid_output"


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One prompt. With `schema`, the answer must be a JSON document matching it."""

    prompt: str
    system: str = ""
    schema: JSONSchema | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = 0


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    # The parsed JSON document when the request had a schema, else None.
    data: Any
    backend: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


@runtime_checkable
class LLMBackend(Protocol):
    """What every backend offers. `embed` raises LLMUnavailable where a backend has none."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    def complete(self, request: CompletionRequest) -> Completion: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class NoneBackend:
    """The embedded default: no model. Every feature falls back to its deterministic path."""

    name = "none"
    model = ""

    def complete(self, request: CompletionRequest) -> Completion:
        raise LLMUnavailable("no language model is configured (HYPERLEARN_LLM_BACKEND=none)")

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise LLMUnavailable("no embedding model is configured")


@dataclass
class Usage:
    """Token, latency and failure accounting shared by the callers of one backend."""

    calls: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, completion: Completion) -> None:
        with self._lock:
            self.calls += 1
            self.prompt_tokens += completion.prompt_tokens
            self.completion_tokens += completion.completion_tokens
            self.latencies_ms.append(completion.latency_ms)

    def fail(self, reason: str) -> None:
        with self._lock:
            self.calls += 1
            self.failures[reason] += 1
