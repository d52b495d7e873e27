"""Any OpenAI-compatible server: Ollama, vLLM, llama.cpp's server, hosted APIs.

Servers differ in how they constrain output to a JSON schema:
- `json_schema`: OpenAI's `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`;
- `json_object`: llama.cpp's server refuses the above with a 400 but takes
  `{"type": "json_object", "schema": ...}` (servers that ignore `schema` still return JSON, and
  the schema is in the prompt as well);
- `prompt`: no `response_format` at all; the schema goes into the prompt and the first JSON
  document of the answer is taken.
`auto` tries them in that order, falling back on a 400 that names the response format, and keeps
what worked for the backend's lifetime. Whatever the mode, the answer is parsed and validated
here: a server's promise is not trusted.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import httpx2 as httpx

from hyperlearn.llm.backend import (
    Completion,
    CompletionRequest,
    LLMError,
    LLMInvalidOutput,
    LLMTimeout,
    LLMUnavailable,
)
from hyperlearn.llm.structured import (
    chat_completion,
    check_schema,
    plain,
    schema_instruction,
)

JsonMode = Literal["auto", "json_schema", "json_object", "prompt"]
RANK: dict[JsonMode, int] = {"auto": 0, "json_schema": 1, "json_object": 2, "prompt": 3}
# Words in a 400's message that say the server refused the response format, not the prompt.
FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar")
MAX_MESSAGE_CHARS = 300


class OpenAIBackend:
    """`/chat/completions` and `/embeddings` of one server, with bounded retries.

    Timeouts are not retried (a slow server stays slow; the caller's wait stays bounded by
    `timeout_s`); refused connections and 5xx answers are, `retries` times, after
    `backoff_s * 2**n` seconds. `sleep` and `clock` are injectable for tests.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str = "",
        *,
        api_key: str = "",
        json_mode: JsonMode = "auto",
        timeout_s: float = 30.0,
        retries: int = 2,
        backoff_s: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.perf_counter,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the LLM base URL must start with http:// or https://: {base_url!r}")
        if retries < 0 or timeout_s <= 0:
            raise ValueError("retries must be >= 0 and timeout_s > 0")
        self._model = model
        self._api_key = api_key
        self._configured: JsonMode = json_mode
        self._mode: JsonMode = json_mode
        self._timeout_s = timeout_s
        self._mode_lock = threading.Lock()
        self.retries = retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._clock = clock
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def json_mode(self) -> JsonMode:
        """The configured mode, or the one `auto` settled on ("auto" until the first JSON call)."""
        return self._mode

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:  # never the API key
        return f"OpenAIBackend({str(self._client.base_url)!r}, {self._model!r})"

    def complete(self, request: CompletionRequest) -> Completion:
        if request.schema is not None:
            check_schema(request.schema)
        start = self._clock()
        mode = self._mode
        while True:
            try:
                body = self._post("/chat/completions", self._chat_body(request, mode))
                break
            except _FormatRefused as refused:
                if self._configured != "auto" or mode == "prompt":
                    raise LLMError(refused.message) from None
                mode = "json_object" if mode in ("auto", "json_schema") else "prompt"
        latency_ms = (self._clock() - start) * 1000
        if request.schema is not None and self._configured == "auto":
            settled: JsonMode = "json_schema" if mode == "auto" else mode
            with self._mode_lock:
                # Concurrent first calls may settle differently; the most careful mode wins.
                if RANK[settled] > RANK[self._mode]:
                    self._mode = settled
        text = _message_text(body)
        return chat_completion(
            text,
            body,
            request,
            backend=self.name,
            model=self._model or str(body.get("model") or ""),
            latency_ms=latency_ms,
        )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        payload: dict[str, Any] = {"input": list(texts)}
        if self._model:
            payload["model"] = self._model
        body = self._post("/embeddings", payload)
        try:
            rows = sorted(body["data"], key=lambda row: int(row.get("index", 0)))
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LLMInvalidOutput(f"malformed embeddings answer: {exc!r}") from None
        if len(vectors) != len(texts):
            raise LLMInvalidOutput(f"{len(vectors)} embeddings for {len(texts)} texts")
        return vectors

    def _chat_body(self, request: CompletionRequest, mode: JsonMode) -> dict[str, Any]:
        system = request.system
        body: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if self._model:
            body["model"] = self._model
        if request.seed is not None:
            body["seed"] = request.seed
        if request.schema is not None:
            schema = plain(request.schema)
            if mode in ("auto", "json_schema"):
                # OpenAI's strict mode refuses a schema without additionalProperties: false;
                # its 400 names json_schema, so `auto` then settles on json_object.
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": schema, "strict": True},
                }
            else:
                # Servers that take json_object without a schema (OpenAI, Ollama, vLLM) need
                # the shape in the prompt; llama.cpp uses the schema as a grammar as well.
                system = f"{system}\n\n{schema_instruction(schema)}".strip()
                if mode == "json_object":
                    body["response_format"] = {"type": "json_object", "schema": schema}
        messages = [{"role": "system", "content": system}] if system else []
        body["messages"] = [*messages, {"role": "user", "content": request.prompt}]
        return body

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One request with bounded retries; the answer's JSON body, or an LLMError."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.post(path, json=payload)
            except httpx.TimeoutException:
                raise LLMTimeout(
                    f"the model server did not answer within {self._timeout_s:g} s"
                ) from None
            except httpx.TransportError as exc:
                if last:
                    raise LLMUnavailable(
                        f"cannot reach the model server at {self._client.base_url} after "
                        f"{attempt + 1} attempts: {type(exc).__name__}"
                    ) from None
            else:
                if response.status_code < 400:
                    try:
                        body = response.json()
                    except ValueError:
                        raise LLMInvalidOutput("the model server's answer is not JSON") from None
                    if not isinstance(body, dict):
                        raise LLMInvalidOutput("the model server's answer is not a JSON object")
                    return body
                message = self._message(response)
                if response.status_code >= 500:
                    if last:
                        raise LLMUnavailable(
                            f"the model server failed {attempt + 1} times "
                            f"(HTTP {response.status_code}): {message}"
                        )
                elif (
                    response.status_code == 400
                    and "response_format" in payload
                    and any(word in message.lower() for word in FORMAT_WORDS)
                ):
                    raise _FormatRefused(f"HTTP 400: {message}")
                else:
                    raise LLMError(
                        f"the model server refused (HTTP {response.status_code}): {message}"
                    )
            self._sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")  # the last attempt always returns or raises

    def _message(self, response: httpx.Response) -> str:
        """The server's error message, short, with the API key blanked should it echo it."""
        try:
            body = response.json()
        except ValueError:
            text = response.text
        else:
            error = body.get("error", body) if isinstance(body, dict) else body
            message = error.get("message") if isinstance(error, dict) else None
            text = str(message) if message else json.dumps(error, ensure_ascii=False)
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return text.strip()[:MAX_MESSAGE_CHARS]


class _FormatRefused(Exception):
    """A 400 about the response format: the next JSON mode may work."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _message_text(body: dict[str, Any]) -> str:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMInvalidOutput("the answer has no choices[0].message.content") from None
    if not isinstance(content, str):
        raise LLMInvalidOutput("the answer's message content is not text")
    return content
