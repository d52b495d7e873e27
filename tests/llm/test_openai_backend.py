"""OpenAIBackend against stand-in OpenAI-compatible servers on loopback ports: JSON-mode
detection, validation, timeouts, retries, usage and the API key's discretion."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from hyperlearn.llm.backend import (
    CompletionRequest,
    LLMError,
    LLMInvalidOutput,
    LLMTimeout,
    LLMUnavailable,
    Usage,
)
from hyperlearn.llm.factory import MeteredBackend
from hyperlearn.llm.openai import OpenAIBackend
from tests.llm.conftest import Received, Reply, StandIn, chat_reply

StartStandIn = Callable[[Callable[[Received], Reply]], StandIn]

LEVEL = {
    "type": "object",
    "properties": {
        "level": {"type": "string", "enum": ["A1", "A2", "B1", "B2"]},
        "topics": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["level", "topics"],
}
ASK = CompletionRequest(prompt="Which level is 'I have been waiting'?", schema=LEVEL)
GOOD = '{"level": "B1", "topics": ["grammar"]}'
# What llama.cpp's server says to an OpenAI-style json_schema response_format.
LLAMACPP_REFUSAL = {
    "error": {
        "code": 400,
        "message": 'response_format type must be one of "text" or "json_object", but got: '
        "json_schema",
        "type": "invalid_request_error",
    }
}


def format_type(received: Received) -> str | None:
    response_format = received.body.get("response_format")
    return None if response_format is None else str(response_format["type"])


class Sleeps:
    """An injected sleep that only counts: retry tests take no wall time."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def backend(url: str, **options: Any) -> OpenAIBackend:
    options.setdefault("sleep", Sleeps())
    return OpenAIBackend(url, "test-model", **options)


def test_server_with_json_schema(stand_in: StartStandIn) -> None:
    def answer(received: Received) -> Reply:
        assert format_type(received) == "json_schema"
        return chat_reply(GOOD, prompt_tokens=31, completion_tokens=9)

    server = stand_in(answer)
    model = backend(server.url)
    completion = model.complete(ASK)

    assert completion.data == {"level": "B1", "topics": ["grammar"]}
    assert completion.text == GOOD
    assert (completion.prompt_tokens, completion.completion_tokens) == (31, 9)
    assert (completion.backend, completion.model) == ("openai", "test-model")
    assert model.json_mode == "json_schema"
    sent = server.received[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["response_format"]["json_schema"]["schema"] == LEVEL
    assert sent.body["response_format"]["json_schema"]["strict"] is True
    assert sent.body["model"] == "test-model"
    assert sent.body["temperature"] == 0.0 and sent.body["seed"] == 0
    assert sent.body["messages"] == [{"role": "user", "content": ASK.prompt}]


def test_auto_lands_on_json_object_where_json_schema_is_refused(stand_in: StartStandIn) -> None:
    def answer(received: Received) -> Reply:
        if format_type(received) == "json_schema":
            return 400, LLAMACPP_REFUSAL
        assert received.body["response_format"] == {"type": "json_object", "schema": LEVEL}
        return chat_reply(GOOD)

    server = stand_in(answer)
    model = backend(server.url)
    modes = [model.json_mode]
    assert model.complete(ASK).data["level"] == "B1"
    modes.append(model.json_mode)
    assert modes == ["auto", "json_object"]
    # The second call goes straight to json_object: the mode is remembered.
    model.complete(ASK)
    assert [format_type(r) for r in server.received] == [
        "json_schema",
        "json_object",
        "json_object",
    ]
    # Servers that ignore `schema` in json_object still get the shape, in the system prompt.
    assert '"enum": ["A1", "A2", "B1", "B2"]' in server.received[1].body["messages"][0]["content"]


def test_auto_lands_on_prompt_mode_for_a_plain_text_server(stand_in: StartStandIn) -> None:
    def answer(received: Received) -> Reply:
        if "response_format" in received.body:
            return 400, {"error": {"message": "Unrecognized request argument: response_format"}}
        return chat_reply(f"Sure! Here it is:\n```json\n{GOOD}\n```\nHope that helps {{:-)")

    server = stand_in(answer)
    model = backend(server.url)
    completion = model.complete(ASK)

    assert completion.data == {"level": "B1", "topics": ["grammar"]}
    assert model.json_mode == "prompt"
    assert [format_type(r) for r in server.received] == ["json_schema", "json_object", None]
    system = server.received[2].body["messages"][0]
    assert system["role"] == "system" and "JSON schema" in system["content"]
    model.complete(ASK)
    assert len(server.received) == 4  # straight to prompt mode the second time


def test_a_fixed_mode_the_server_refuses_is_an_error_not_a_fallback(
    stand_in: StartStandIn,
) -> None:
    server = stand_in(lambda received: (400, LLAMACPP_REFUSAL))
    model = backend(server.url, json_mode="json_schema")
    with pytest.raises(LLMError, match="json_object") as raised:
        model.complete(ASK)
    assert type(raised.value) is LLMError
    assert len(server.received) == 1 and model.json_mode == "json_schema"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("I think it is B1.", "no JSON document"),
        ('{"level": "C2", "topics": ["grammar"]}', "is not one of"),
        ('{"level": "B1"}', "missing 'topics'"),
        ('{"level": "B1", "topics": []}', "fewer than 1 items"),
        ('{"level": "B1", "topics": [3]}', r"\$\.topics\[0\]: expected string"),
    ],
)
def test_invalid_answers_are_invalid_output(
    stand_in: StartStandIn, content: str, problem: str
) -> None:
    server = stand_in(lambda received: chat_reply(content))
    with pytest.raises(LLMInvalidOutput, match=problem):
        backend(server.url).complete(ASK)


def test_a_malformed_server_answer_is_invalid_output(stand_in: StartStandIn) -> None:
    server = stand_in(lambda received: (200, {"choices": []}))
    with pytest.raises(LLMInvalidOutput, match="choices"):
        backend(server.url).complete(CompletionRequest(prompt="hi"))
    server = stand_in(lambda received: (200, "<html>not json</html>"))
    with pytest.raises(LLMInvalidOutput, match="not JSON"):
        backend(server.url).complete(CompletionRequest(prompt="hi"))


def test_a_plain_completion_sends_no_response_format(stand_in: StartStandIn) -> None:
    server = stand_in(lambda received: chat_reply("Past simple: I went."))
    model = backend(server.url)
    completion = model.complete(CompletionRequest(prompt="Explain", system="Be brief."))
    assert completion.text == "Past simple: I went." and completion.data is None
    assert "response_format" not in server.received[0].body
    assert server.received[0].body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert model.json_mode == "auto"  # nothing learnt about JSON from a plain call


def test_a_slow_server_times_out_within_the_timeout(stand_in: StartStandIn) -> None:
    server = stand_in(lambda received: chat_reply(GOOD))
    server.delay = 5.0
    model = backend(server.url, timeout_s=0.3, retries=2)
    start = time.perf_counter()
    with pytest.raises(LLMTimeout, match=r"within 0\.3 s"):
        model.complete(ASK)
    elapsed = time.perf_counter() - start
    assert 0.25 < elapsed < 2.0
    assert len(server.received) == 1  # a timeout is not retried


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_closed_port_is_unavailable_after_the_configured_retries() -> None:
    sleeps = Sleeps()
    model = backend(f"http://127.0.0.1:{free_port()}/v1", retries=3, sleep=sleeps)
    with pytest.raises(LLMUnavailable, match="after 4 attempts"):
        model.complete(ASK)
    assert sleeps.calls == [0.25, 0.5, 1.0]  # three retries, exponential backoff


def test_server_errors_are_retried_then_succeed(stand_in: StartStandIn) -> None:
    def answer(received: Received) -> Reply:
        if len(server.received) <= 2:
            return 503, {"error": {"message": "model is loading"}}
        return chat_reply(GOOD)

    server = stand_in(answer)
    sleeps = Sleeps()
    completion = backend(server.url, retries=2, sleep=sleeps).complete(ASK)
    assert completion.data["level"] == "B1"
    assert len(server.received) == 3 and len(sleeps.calls) == 2


def test_server_errors_past_the_retries_are_unavailable(stand_in: StartStandIn) -> None:
    server = stand_in(lambda received: (500, {"error": {"message": "out of memory"}}))
    with pytest.raises(LLMUnavailable, match=r"failed 2 times.*out of memory"):
        backend(server.url, retries=1).complete(ASK)
    assert len(server.received) == 2


def test_latency_comes_from_the_injected_clock(stand_in: StartStandIn) -> None:
    server = stand_in(lambda received: chat_reply(GOOD))
    readings = iter([100.0, 100.25])
    completion = backend(server.url, clock=lambda: next(readings)).complete(ASK)
    assert completion.latency_ms == 250.0


def test_missing_usage_counts_zero_tokens(stand_in: StartStandIn) -> None:
    def answer(received: Received) -> Reply:
        reply = chat_reply(GOOD)[1]
        del reply["usage"]
        return 200, reply

    completion = backend(stand_in(answer).url).complete(ASK)
    assert (completion.prompt_tokens, completion.completion_tokens) == (0, 0)


def test_usage_adds_up_completions_and_failures(stand_in: StartStandIn) -> None:
    good = stand_in(lambda received: chat_reply(GOOD, prompt_tokens=20, completion_tokens=7))
    bad = stand_in(lambda received: chat_reply("no idea"))
    usage = Usage()
    metered = MeteredBackend(backend(good.url), usage)
    metered.complete(ASK)
    metered.complete(ASK)
    with pytest.raises(LLMInvalidOutput):
        MeteredBackend(backend(bad.url), usage).complete(ASK)
    assert usage.calls == 3
    assert (usage.prompt_tokens, usage.completion_tokens) == (40, 14)
    assert usage.failures == {"invalid_output": 1}
    assert len(usage.latencies_ms) == 2


def test_the_api_key_is_a_bearer_header_and_never_shown(
    stand_in: StartStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    key = "sk-test-0123456789abcdef"
    server = stand_in(
        # A server that echoes the key in its refusal, as some hosted APIs do.
        lambda received: (401, {"error": {"message": f"Incorrect API key provided: {key}"}})
    )
    model = backend(server.url, api_key=key)
    metered = MeteredBackend(model)
    with caplog.at_level(logging.WARNING), pytest.raises(LLMError) as raised:
        metered.complete(ASK)

    assert server.received[0].headers["Authorization"] == f"Bearer {key}"
    assert type(raised.value) is LLMError and raised.value.reason == "error"
    assert "HTTP 401" in str(raised.value) and "Incorrect API key provided: ***" in str(
        raised.value
    )
    assert key not in str(raised.value) and key not in repr(model)
    assert "reason=error" in caplog.text and key not in caplog.text
    assert ASK.prompt not in caplog.text
    assert metered.usage.failures == {"error": 1}


def test_no_key_sends_no_authorization_header(stand_in: StartStandIn) -> None:
    server = stand_in(lambda received: chat_reply("ok"))
    OpenAIBackend(server.url).complete(CompletionRequest(prompt="hi"))
    assert "Authorization" not in server.received[0].headers
    assert "model" not in server.received[0].body  # no model configured: the server's default


def test_embeddings_in_input_order(stand_in: StartStandIn) -> None:
    def answer(received: Received) -> Reply:
        assert received.path == "/v1/embeddings"
        assert received.body == {"input": ["a", "b"], "model": "test-model"}
        rows = [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]
        return 200, {"data": rows}

    assert backend(stand_in(answer).url).embed(["a", "b"]) == [[1.0, 0.0], [0.0, 1.0]]


def test_a_schema_with_unsupported_keywords_is_refused_before_any_request(
    stand_in: StartStandIn,
) -> None:
    server = stand_in(lambda received: chat_reply(GOOD))
    schema = {"type": "object", "properties": {"word": {"type": "string", "pattern": "^a"}}}
    with pytest.raises(ValueError, match="unsupported keywords: \\['pattern'\\]"):
        backend(server.url).complete(CompletionRequest(prompt="x", schema=schema))
    assert server.received == []


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        OpenAIBackend("127.0.0.1:8080/v1")
    with pytest.raises(ValueError, match="retries"):
        OpenAIBackend("http://127.0.0.1:8080/v1", retries=-1)
