"""The factory (each setting combination), the none backend, the accounting wrapper, the JSON
schema checker and `hyperlearn llm check`."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.llm.backend import (
    CompletionRequest,
    LLMBackend,
    LLMInvalidOutput,
    LLMUnavailable,
    NoneBackend,
    Usage,
)
from hyperlearn.llm.factory import (
    MeteredBackend,
    backend_from_settings,
    clear_shared_backends,
    shared_backend,
)
from hyperlearn.llm.llamacpp import LlamaCppBackend
from hyperlearn.llm.openai import OpenAIBackend
from hyperlearn.llm.structured import check_schema, errors, first_json, parse_answer
from hyperlearn.settings import Settings
from tests.llm.conftest import Received, Reply, StandIn, chat_reply

StartStandIn = Callable[[Callable[[Received], Reply]], StandIn]


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No HYPERLEARN_LLM_* variable or .env file of the developer's, no shared backend."""
    for name in list(os.environ):
        if name.startswith("HYPERLEARN_LLM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    clear_shared_backends()
    yield
    clear_shared_backends()


def settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_none_is_the_default_and_always_unavailable() -> None:
    backend = backend_from_settings(settings())
    assert isinstance(backend, NoneBackend) and isinstance(backend, LLMBackend)
    with pytest.raises(LLMUnavailable, match="HYPERLEARN_LLM_BACKEND=none"):
        backend.complete(CompletionRequest(prompt="hi"))
    with pytest.raises(LLMUnavailable):
        backend.embed(["hi"])


def test_openai_settings_make_an_openai_backend() -> None:
    backend = backend_from_settings(
        settings(
            llm_backend="openai",
            llm_base_url="http://127.0.0.1:8080/v1",
            llm_model="qwen",
            llm_json_mode="json_object",
            llm_api_key="sk-abc",
            llm_timeout_s=5,
            llm_retries=1,
        )
    )
    assert isinstance(backend, OpenAIBackend) and isinstance(backend, LLMBackend)
    assert (backend.name, backend.model, backend.json_mode) == ("openai", "qwen", "json_object")
    assert backend.retries == 1
    assert "sk-abc" not in repr(backend)


def test_openai_without_a_base_url_names_the_setting() -> None:
    with pytest.raises(ValueError, match="HYPERLEARN_LLM_BASE_URL"):
        backend_from_settings(settings(llm_backend="openai"))


def test_llamacpp_settings_make_a_llamacpp_backend(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    backend = backend_from_settings(
        settings(llm_backend="llamacpp", llm_model_path=path, llm_context=4096)
    )
    assert isinstance(backend, LlamaCppBackend) and isinstance(backend, LLMBackend)
    assert (backend.name, backend.model, backend.n_ctx) == ("llamacpp", "model", 4096)
    # Nothing is loaded until the first call, which then fails with a clear reason.
    with pytest.raises(LLMUnavailable, match=r"model\.gguf does not exist"):
        backend.complete(CompletionRequest(prompt="hi"))


def test_llamacpp_without_a_model_path_names_the_setting() -> None:
    with pytest.raises(ValueError, match="HYPERLEARN_LLM_MODEL_PATH"):
        backend_from_settings(settings(llm_backend="llamacpp"))


def test_settings_refuse_bad_values() -> None:
    for bad in (
        {"llm_backend": "gpt"},
        {"llm_json_mode": "xml"},
        {"llm_timeout_s": 0},
        {"llm_retries": -1},
    ):
        with pytest.raises(ValueError):
            settings(**bad)
    assert "sk-secret" not in repr(settings(llm_api_key="sk-secret"))


def test_the_shared_backend_is_one_per_configuration() -> None:
    first = shared_backend(settings(llm_backend="openai", llm_base_url="http://127.0.0.1:1/v1"))
    again = shared_backend(settings(llm_backend="openai", llm_base_url="http://127.0.0.1:1/v1"))
    other = shared_backend(settings())
    assert first is again and isinstance(first.inner, OpenAIBackend)
    assert other is not first and isinstance(other.inner, NoneBackend)
    assert isinstance(first, LLMBackend)


def test_metered_backend_counts_failures_and_logs_without_the_prompt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    usage = Usage()
    metered = MeteredBackend(NoneBackend(), usage)
    with caplog.at_level(logging.WARNING), pytest.raises(LLMUnavailable):
        metered.complete(CompletionRequest(prompt="my secret essay"))
    with pytest.raises(LLMUnavailable):
        metered.embed(["my secret essay"])
    assert usage.calls == 2 and usage.failures == {"unavailable": 2}
    assert "reason=unavailable" in caplog.text and "my secret essay" not in caplog.text
    assert caplog.records[0].levelno == logging.WARNING


SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "minLength": 1, "maxLength": 5},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "count": {"type": "integer"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
        "note": {"type": ["string", "null"]},
    },
    "required": ["answer"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"answer": "went", "score": 0.5, "count": 2, "ok": True, "tags": ["a"]}, []),
        ({"answer": "went", "count": 2.0, "note": None}, []),
        ({}, ["$: missing 'answer'"]),
        ({"answer": ""}, ["$.answer: shorter than 1 characters"]),
        ({"answer": "too long"}, ["$.answer: longer than 5 characters"]),
        ({"answer": "x", "score": 1.5}, ["$.score: 1.5 is above 1"]),
        ({"answer": "x", "score": True}, ["$.score: expected number, got bool"]),
        ({"answer": "x", "count": 1.5}, ["$.count: expected integer, got float"]),
        ({"answer": "x", "tags": ["a", "c"]}, ["$.tags[1]: 'c' is not one of ['a', 'b']"]),
        ({"answer": "x", "tags": ["a", "a", "b"]}, ["$.tags: more than 2 items"]),
        ({"answer": "x", "extra": 1}, ["$: unexpected property 'extra'"]),
        (["answer"], ["$: expected object, got list"]),
    ],
)
def test_schema_checker(value: object, expected: list[str]) -> None:
    check_schema(SCHEMA)
    assert errors(value, SCHEMA) == expected


def test_schema_checker_refuses_what_it_does_not_enforce() -> None:
    for bad in (
        {"type": "object", "oneOf": []},
        {"type": "decimal"},
        {"type": "array", "items": {"type": "string", "format": "email"}},
        {"type": "object", "additionalProperties": {"type": "string"}},
    ):
        with pytest.raises(ValueError, match="schema at"):
            check_schema(bad)


def test_first_json_finds_the_document_in_prose() -> None:
    assert first_json('{"a": 1}') == {"a": 1}
    assert first_json('Here: {"a": {"b": [1, 2]}} and {"c": 3}') == {"a": {"b": [1, 2]}}
    assert first_json('a {broken then {"a": 2}') == {"a": 2}
    with pytest.raises(LLMInvalidOutput, match="no JSON document"):
        first_json("no json here {")
    with pytest.raises(LLMInvalidOutput, match="does not match the schema"):
        parse_answer('{"answer": 3}', SCHEMA)


def test_llm_check_reports_backend_mode_latency_and_tokens(
    stand_in: StartStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = stand_in(lambda received: chat_reply('{"ok": true}', 17, 4))
    monkeypatch.setenv("HYPERLEARN_LLM_BACKEND", "openai")
    monkeypatch.setenv("HYPERLEARN_LLM_BASE_URL", server.url)
    monkeypatch.setenv("HYPERLEARN_LLM_MODEL", "stand-in-7b")
    result = CliRunner().invoke(app, ["llm", "check", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["answer"] == {"ok": True}
    assert (report["backend"], report["model"], report["json_mode"]) == (
        "openai",
        "stand-in-7b",
        "json_schema",
    )
    assert (report["prompt_tokens"], report["completion_tokens"]) == (17, 4)
    assert report["latency_ms"] >= 0
    assert server.received[0].body["max_tokens"] == 32

    result = CliRunner().invoke(app, ["llm", "check"])
    assert result.exit_code == 0
    assert "json_mode:   json_schema" in result.stdout
    assert "tokens:      17 prompt, 4 completion" in result.stdout


def test_llm_check_exits_1_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYPERLEARN_LLM_BACKEND", "none")
    result = CliRunner().invoke(app, ["llm", "check", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == "unavailable"
    monkeypatch.setenv("HYPERLEARN_LLM_BACKEND", "llamacpp")
    monkeypatch.delenv("HYPERLEARN_LLM_MODEL_PATH", raising=False)
    result = CliRunner().invoke(app, ["llm", "check"])
    assert result.exit_code == 1
    assert "configuration" in result.stderr and "HYPERLEARN_LLM_MODEL_PATH" in result.stderr
