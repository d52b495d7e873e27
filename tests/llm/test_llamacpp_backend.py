"""The embedded llama.cpp backend on the real SmolLM2-135M GGUF of the [llm] extra."""

from __future__ import annotations

import math
import sys
import threading
from pathlib import Path

import pytest

from hyperlearn.llm.backend import CompletionRequest, LLMUnavailable
from hyperlearn.llm.llamacpp import LlamaCppBackend
from hyperlearn.llm.structured import errors

WORD = {
    "type": "object",
    "properties": {
        "word": {"type": "string"},
        "level": {"type": "string", "enum": ["A1", "A2", "B1"]},
    },
    "required": ["word", "level"],
}


def test_a_missing_model_file_is_unavailable(tmp_path: Path) -> None:
    backend = LlamaCppBackend(tmp_path / "missing.gguf")
    with pytest.raises(LLMUnavailable, match=r"missing\.gguf does not exist.*MODEL_PATH"):
        backend.complete(CompletionRequest(prompt="hi"))
    with pytest.raises(LLMUnavailable, match="does not exist"):
        backend.embed(["hi"])


def test_a_missing_extra_is_unavailable_with_an_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails
    with pytest.raises(LLMUnavailable, match=r"llama-cpp-python is not installed.*llm-extras"):
        LlamaCppBackend(path).complete(CompletionRequest(prompt="hi"))


@pytest.mark.llm
def test_a_file_that_is_not_a_model_is_unavailable(smollm2_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(LLMUnavailable, match="cannot load"):
        LlamaCppBackend(path).load()


@pytest.mark.llm
def test_a_json_schema_request_returns_valid_data(smollm2_backend: LlamaCppBackend) -> None:
    request = CompletionRequest(
        prompt="Give one easy English word and its CEFR level.", schema=WORD, max_tokens=48
    )
    completion = smollm2_backend.complete(request)
    assert errors(completion.data, WORD) == []
    assert completion.data["level"] in ("A1", "A2", "B1")
    assert (completion.backend, completion.model) == ("llamacpp", smollm2_backend.model)
    assert completion.prompt_tokens > 10 and 0 < completion.completion_tokens <= 48
    assert completion.latency_ms > 0
    # Deterministic: the same request gives the same answer.
    assert smollm2_backend.complete(request).text == completion.text


@pytest.mark.llm
def test_a_plain_completion_returns_text(smollm2_backend: LlamaCppBackend) -> None:
    completion = smollm2_backend.complete(
        CompletionRequest(prompt="Say hello to a language learner.", max_tokens=16)
    )
    assert completion.text.strip() and completion.data is None
    assert 0 < completion.completion_tokens <= 16 and completion.latency_ms > 0


@pytest.mark.llm
def test_concurrent_calls_queue_on_one_context(smollm2_backend: LlamaCppBackend) -> None:
    request = CompletionRequest(prompt="Name a colour.", max_tokens=8)
    expected = smollm2_backend.complete(request).text
    answers: list[str] = []

    def call() -> None:
        answers.append(smollm2_backend.complete(request).text)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [expected] * 3


@pytest.mark.llm
def test_embeddings_are_normalised_and_stable(smollm2_backend: LlamaCppBackend) -> None:
    vectors = smollm2_backend.embed(["football", "football", "the past continuous tense"])
    assert len(vectors) == 3 and len({len(v) for v in vectors}) == 1 and len(vectors[0]) > 100
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-3) for v in vectors)
    assert vectors[0] == vectors[1] and vectors[0] != vectors[2]
