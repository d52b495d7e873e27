"""Embedded llama.cpp on a local GGUF file (the `[llm]` extra: `make llm-extras`).

The model loads once per backend, on first use or `load()`. One llama.cpp context is not
thread-safe, so every call holds the backend's lock: concurrent callers queue. JSON answers
are constrained by a grammar built from the schema (llama-cpp-python's `response_format` with
a schema) and still parsed and validated here.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hyperlearn.llm.backend import (
    Completion,
    CompletionRequest,
    LLMError,
    LLMInvalidOutput,
    LLMUnavailable,
)
from hyperlearn.llm.structured import (
    chat_completion,
    check_schema,
    plain,
    schema_instruction,
)

INSTALL_HINT = "install the [llm] extra: `make llm-extras` (or pip install 'hyperlearn[llm]')"


def _llama_cpp() -> Any:
    """The llama_cpp module, imported on first use (typed Any: the extra may be absent)."""
    try:
        return importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise LLMUnavailable(f"llama-cpp-python is not installed; {INSTALL_HINT}") from exc


class LlamaCppBackend:
    name = "llamacpp"

    def __init__(
        self,
        model_path: Path | str,
        n_ctx: int = 2048,
        seed: int = 0,
        n_threads: int | None = None,
        *,
        model: str = "",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.seed = seed
        self.n_threads = n_threads
        self._model = model or self.model_path.stem
        self._clock = clock
        self._lock = threading.Lock()
        self._llama: Any = None
        self._embedder: Any = None

    @property
    def model(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return f"LlamaCppBackend({str(self.model_path)!r}, n_ctx={self.n_ctx})"

    def load(self) -> None:
        """Load the model now (about a second for a small one) instead of on the first call."""
        with self._lock:
            self._chat_model()

    def _open(self, **options: Any) -> Any:
        if not self.model_path.is_file():
            raise LLMUnavailable(
                f"the GGUF model file {self.model_path} does not exist (HYPERLEARN_LLM_MODEL_PATH)"
            )
        llama_cpp = _llama_cpp()
        # One thread per physical core (half the logical ones), for prompts too: llama.cpp's
        # default batch threads (every logical core) spin in OpenMP, and on a busy 2-core
        # machine a short JSON request then took 4-25 s instead of 0.15-0.4 s (measured).
        threads = self.n_threads or max((os.cpu_count() or 2) // 2, 1)
        try:
            return llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                seed=self.seed,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
                **options,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise LLMUnavailable(f"llama.cpp cannot load {self.model_path}: {exc}") from None

    def _chat_model(self) -> Any:
        if self._llama is None:
            self._llama = self._open()
        return self._llama

    def complete(self, request: CompletionRequest) -> Completion:
        if request.schema is not None:
            check_schema(request.schema)
        system = request.system
        options: dict[str, Any] = {}
        if request.schema is not None:
            schema = plain(request.schema)
            # The grammar forces the shape; the instruction tells the model what to put in it.
            system = f"{system}\n\n{schema_instruction(schema)}".strip()
            options["response_format"] = {"type": "json_object", "schema": schema}
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": request.prompt})
        with self._lock:
            llama = self._chat_model()
            start = self._clock()
            try:
                answer = llama.create_chat_completion(
                    messages=messages,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    seed=self.seed if request.seed is None else request.seed,
                    **options,
                )
            except ValueError as exc:  # e.g. the prompt is longer than the context
                raise LLMError(f"llama.cpp refused the request: {exc}") from None
            latency_ms = (self._clock() - start) * 1000
        try:
            text = answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise LLMInvalidOutput("llama.cpp gave no message content") from None
        return chat_completion(
            text, answer, request, backend=self.name, model=self._model, latency_ms=latency_ms
        )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Mean-pooled, normalised embeddings from a second context on the same file."""
        if not texts:
            return []
        with self._lock:
            if self._embedder is None:
                pooling = _llama_cpp().LLAMA_POOLING_TYPE_MEAN
                self._embedder = self._open(embedding=True, pooling_type=pooling)
            try:
                vectors = [self._embedder.embed(text, normalize=True) for text in texts]
            except (ValueError, RuntimeError) as exc:
                raise LLMError(f"llama.cpp cannot embed: {exc}") from None
        return [[float(x) for x in vector] for vector in vectors]
