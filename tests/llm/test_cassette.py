"""Record and replay: the inner backend is the real OpenAIBackend on a stand-in server (a
canned model reply), or SmolLM2 itself where the [llm] extra is installed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hyperlearn.llm.backend import CompletionRequest, LLMUnavailable, NoneBackend
from hyperlearn.llm.cassette import CassetteBackend
from hyperlearn.llm.llamacpp import LlamaCppBackend
from hyperlearn.llm.openai import OpenAIBackend
from tests.llm.conftest import Received, Reply, StandIn, chat_reply

StartStandIn = Callable[[Callable[[Received], Reply]], StandIn]

SCHEMA = {
    "type": "object",
    "properties": {"sentence": {"type": "string"}},
    "required": ["sentence"],
}
REQUESTS = [
    CompletionRequest(prompt="Theme 'I have been waiting' around football.", schema=SCHEMA),
    CompletionRequest(prompt="Explain the present perfect.", system="Be brief.", max_tokens=40),
]


def echo(received: Received) -> Reply:
    """A deterministic stand-in model: its answer depends only on the prompt."""
    prompt = received.body["messages"][-1]["content"]
    if "response_format" in received.body:
        return chat_reply(json.dumps({"sentence": f"echo: {prompt}"}), len(prompt), 7)
    return chat_reply(f"echo: {prompt}", len(prompt), 3)


def test_record_then_replay_without_the_inner_backend(
    stand_in: StartStandIn, tmp_path: Path
) -> None:
    server = stand_in(echo)
    path = tmp_path / "answers.json"
    recorder = CassetteBackend(OpenAIBackend(server.url, "m"), path, mode="record")
    recorded = [recorder.complete(request) for request in REQUESTS]
    assert len(server.received) == 2 and len(recorder) == 2

    replayer = CassetteBackend(None, path, mode="replay")
    assert (replayer.name, replayer.model) == ("openai", "m")
    replayed = [replayer.complete(request) for request in REQUESTS]
    # Identical answers; a replay waited for no model, so its latency is 0.
    assert replayed == [dataclasses.replace(c, latency_ms=0.0) for c in recorded]
    assert replayed[0].data == {"sentence": f"echo: {REQUESTS[0].prompt}"}
    assert len(server.received) == 2  # nothing reached the server


def test_an_unknown_request_on_replay_is_unavailable(
    stand_in: StartStandIn, tmp_path: Path
) -> None:
    server = stand_in(echo)
    path = tmp_path / "answers.json"
    CassetteBackend(OpenAIBackend(server.url, "m"), path, mode="record").complete(REQUESTS[0])
    replayer = CassetteBackend(OpenAIBackend(server.url, "m"), path, mode="replay")
    changed = dataclasses.replace(REQUESTS[0], temperature=0.7)
    with pytest.raises(LLMUnavailable, match="not in cassette") as raised:
        replayer.complete(changed)
    assert REQUESTS[0].prompt not in str(raised.value)
    assert len(server.received) == 1  # replay never asks the inner backend
    missing = CassetteBackend(None, tmp_path / "none.json", mode="replay")
    with pytest.raises(LLMUnavailable, match="does not exist"):
        missing.complete(REQUESTS[0])


def test_auto_replays_what_it_has_and_records_the_rest(
    stand_in: StartStandIn, tmp_path: Path
) -> None:
    server = stand_in(echo)
    path = tmp_path / "answers.json"
    CassetteBackend(OpenAIBackend(server.url, "m"), path).complete(REQUESTS[0])
    cassette = CassetteBackend(OpenAIBackend(server.url, "m"), path, mode="auto")
    cassette.complete(REQUESTS[0])
    cassette.complete(REQUESTS[1])
    assert len(server.received) == 2 and len(cassette) == 2
    assert len(CassetteBackend(None, path, mode="replay")) == 2


def test_the_file_is_readable_and_stable(stand_in: StartStandIn, tmp_path: Path) -> None:
    server = stand_in(echo)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    for path in (first, second):
        cassette = CassetteBackend(OpenAIBackend(server.url, "m"), path, mode="record")
        for request in REQUESTS:
            cassette.complete(request)
    assert first.read_bytes() == second.read_bytes()

    # Re-recording into the same file changes nothing either.
    before = first.read_bytes()
    again = CassetteBackend(OpenAIBackend(server.url, "m"), first, mode="record")
    for request in reversed(REQUESTS):
        again.complete(request)
    assert first.read_bytes() == before

    stored = json.loads(before)
    assert (stored["backend"], stored["model"]) == ("openai", "m")
    prompts = sorted(entry["request"]["prompt"] for entry in stored["entries"].values())
    assert prompts == sorted(request.prompt for request in REQUESTS)
    assert before.decode().splitlines()[1].startswith('  "backend"')  # indented, sorted keys


def test_embeddings_are_recorded_too(stand_in: StartStandIn, tmp_path: Path) -> None:
    server = stand_in(lambda received: (200, {"data": [{"index": 0, "embedding": [0.125, -2.5]}]}))
    path = tmp_path / "vectors.json"
    assert CassetteBackend(OpenAIBackend(server.url, "m"), path).embed(["hi"]) == [[0.125, -2.5]]
    assert CassetteBackend(None, path, mode="replay").embed(["hi"]) == [[0.125, -2.5]]
    with pytest.raises(LLMUnavailable):
        CassetteBackend(None, path, mode="replay").embed(["bye"])


def test_misuse_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    with pytest.raises(ValueError, match="inner backend"):
        CassetteBackend(None, path, mode="record")
    with pytest.raises(ValueError, match="mode"):
        CassetteBackend(NoneBackend(), path, mode="rewind")  # type: ignore[arg-type]
    path.write_text(json.dumps({"backend": "openai", "model": "m", "entries": {}}))
    with pytest.raises(ValueError, match="not of none/"):
        CassetteBackend(NoneBackend(), path, mode="auto")
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a cassette"):
        CassetteBackend(None, path, mode="replay")


@pytest.mark.llm
def test_a_smollm2_cassette_replays_identically(
    smollm2_backend: LlamaCppBackend, tmp_path: Path
) -> None:
    path = tmp_path / "smollm2.json"
    recorded = CassetteBackend(smollm2_backend, path, mode="record").complete(REQUESTS[0])
    first = path.read_bytes()
    CassetteBackend(smollm2_backend, path, mode="record").complete(REQUESTS[0])
    assert path.read_bytes() == first  # the model is deterministic at temperature 0
    replayed = CassetteBackend(None, path, mode="replay").complete(REQUESTS[0])
    assert replayed == dataclasses.replace(recorded, latency_ms=0.0)
    assert replayed.backend == "llamacpp" and isinstance(replayed.data["sentence"], str)
