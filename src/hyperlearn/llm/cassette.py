"""Record and replay model answers, so tests and benchmarks with a model are deterministic.

A cassette is one readable JSON file for one backend and model: a map from a stable request
key (a hash of backend name, model and every request field) to the request (prompt text
included, for review) and what came back. Modes:
- `replay`: answers only from the file; an unknown request raises LLMUnavailable;
- `record`: every request goes to the inner backend and its answer is written (replacing an
  entry with the same key; other entries stay);
- `auto`: replay what is in the file, record what is not.
The file is rewritten whole after each new entry (sorted keys, indented), and latency is not
stored, so re-recording the same requests against the same deterministic model gives the same
bytes. A replayed completion is the recorded one with latency_ms 0.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from hyperlearn.llm.backend import Completion, CompletionRequest, LLMBackend, LLMUnavailable
from hyperlearn.llm.structured import plain

CassetteMode = Literal["record", "replay", "auto"]
FORMAT = 1


def request_key(backend: str, model: str, kind: str, fields: dict[str, Any]) -> str:
    """A hash that is the same in every process and Python version for the same request."""
    canonical = json.dumps(
        {"backend": backend, "model": model, "kind": kind, "request": plain(fields)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _request_fields(request: CompletionRequest) -> dict[str, Any]:
    return {
        "prompt": request.prompt,
        "system": request.system,
        "schema": plain(request.schema) if request.schema is not None else None,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "seed": request.seed,
    }


class CassetteBackend:
    def __init__(
        self, inner: LLMBackend | None, path: Path | str, mode: CassetteMode = "auto"
    ) -> None:
        if mode not in ("record", "replay", "auto"):
            raise ValueError(f"cassette mode must be record, replay or auto, not {mode!r}")
        if mode == "record" and inner is None:
            raise ValueError("a cassette can only record with an inner backend")
        self.inner = inner
        self.path = Path(path)
        self.mode: CassetteMode = mode
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._name = inner.name if inner is not None else ""
        self._model = inner.model if inner is not None else ""
        # A missing file is an empty cassette: replaying from it raises LLMUnavailable per call.
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            backend, model = str(stored["backend"]), str(stored["model"])
            entries = dict(stored["entries"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.path} is not a cassette: {exc!r}") from None
        if self.inner is not None and (backend, model) != (self._name, self._model):
            raise ValueError(
                f"{self.path} holds answers of {backend}/{model}, "
                f"not of {self._name}/{self._model}: use another file"
            )
        self._name, self._model, self._entries = backend, model, entries

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._model

    def __len__(self) -> int:
        return len(self._entries)

    def complete(self, request: CompletionRequest) -> Completion:
        fields = _request_fields(request)
        key = request_key(self._name, self._model, "complete", fields)
        entry = self._replay(key)
        if entry is None:
            assert self.inner is not None  # _replay raised otherwise
            completion = self.inner.complete(request)
            # No latency: it belongs to the run, not the answer, and would make every
            # re-recording differ. A replayed answer took no model time: latency_ms 0.
            answer = {
                "text": completion.text,
                "data": completion.data,
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
            }
            self._store(key, {"kind": "complete", "request": fields, "answer": answer})
            return completion
        answer = entry["answer"]
        return Completion(
            text=answer["text"],
            data=answer["data"],
            backend=self._name,
            model=self._model,
            prompt_tokens=answer["prompt_tokens"],
            completion_tokens=answer["completion_tokens"],
            latency_ms=0.0,
        )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        fields = {"texts": list(texts)}
        key = request_key(self._name, self._model, "embed", fields)
        entry = self._replay(key)
        if entry is None:
            assert self.inner is not None
            vectors = self.inner.embed(texts)
            self._store(key, {"kind": "embed", "request": fields, "answer": vectors})
            return vectors
        return [list(vector) for vector in entry["answer"]]

    def _replay(self, key: str) -> dict[str, Any] | None:
        """The recorded entry to answer with, None to record, or LLMUnavailable (whose
        message has no prompt text: failures are logged)."""
        if self.mode != "record":
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None:
                return entry
        if self.mode == "replay" or self.inner is None:
            missing = "" if self.path.exists() else " (the file does not exist)"
            raise LLMUnavailable(
                f"not in cassette {self.path}{missing} (key {key}); "
                "record it with mode='record' or 'auto' and a real backend"
            )
        return None

    def _store(self, key: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = entry
            document = {
                "format": FORMAT,
                "backend": self._name,
                "model": self._model,
                "entries": self._entries,
            }
            text = json.dumps(document, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a crash mid-write never leaves half a cassette.
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, self.path)
