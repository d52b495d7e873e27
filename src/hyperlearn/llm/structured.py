"""JSON answers: the schema subset HyperLearn uses, its checker, and parsing of model text.

A small checker instead of the `jsonschema` package: prompts here use a handful of keywords
(listed in SUPPORTED), and a schema that uses any other keyword is refused up front, so no
caller believes that a keyword is enforced when it is not. It gives one short message per
mismatch, with a JSON path, and adds no dependency to the core install.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from hyperlearn.llm.backend import Completion, CompletionRequest, JSONSchema, LLMInvalidOutput

SUPPORTED = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
    }
)
# Keywords that carry no constraint: accepted and ignored.
ANNOTATIONS = frozenset({"title", "description", "$schema", "examples", "default"})
TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})


def check_schema(schema: JSONSchema, path: str = "$") -> None:
    """Raise ValueError when `schema` uses a keyword or type this checker does not enforce."""
    if not isinstance(schema, Mapping):
        raise ValueError(f"schema at {path} is not an object")
    unknown = set(schema) - SUPPORTED - ANNOTATIONS
    if unknown:
        raise ValueError(f"schema at {path} uses unsupported keywords: {sorted(unknown)}")
    types = schema.get("type")
    for name in [types] if isinstance(types, str) else list(types or []):
        if name not in TYPES:
            raise ValueError(f"schema at {path} has unknown type {name!r}")
    for key, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{path}.{key}")
    if "items" in schema:
        check_schema(schema["items"], f"{path}[]")
    extra = schema.get("additionalProperties", False)
    if not isinstance(extra, bool):
        raise ValueError(f"schema at {path}: additionalProperties must be true or false")


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):  # a bool is an int in Python, never a number in JSON
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, int | float) and math.isfinite(value)


def errors(value: Any, schema: JSONSchema, path: str = "$") -> list[str]:
    """Every way `value` fails `schema` (empty when it matches)."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, n) for n in names):
            return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]
    found: list[str] = []
    if "enum" in schema and value not in list(schema["enum"]):
        found.append(f"{path}: {value!r} is not one of {list(schema['enum'])}")
    if isinstance(value, dict):
        properties: Mapping[str, JSONSchema] = schema.get("properties") or {}
        found += [f"{path}: missing {k!r}" for k in schema.get("required", ()) if k not in value]
        for key, sub in value.items():
            if key in properties:
                found += errors(sub, properties[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}: unexpected property {key!r}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for n, item in enumerate(value):
                found += errors(item, schema["items"], f"{path}[{n}]")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            found.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: longer than {schema['maxLength']} characters")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: {value} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: {value} is above {schema['maximum']}")
    return found


def first_json(text: str) -> Any:
    """The whole text as JSON, else the first JSON object or array inside it (models wrap
    answers in prose or code fences). Raises LLMInvalidOutput when there is none."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for start, char in enumerate(stripped):
        if char in "{[":
            try:
                return decoder.raw_decode(stripped, start)[0]
            except ValueError:
                continue
    raise LLMInvalidOutput(f"the answer holds no JSON document ({len(text)} characters)")


def parse_answer(text: str, schema: JSONSchema) -> Any:
    """The model's JSON answer, validated against `schema`; LLMInvalidOutput otherwise."""
    data = first_json(text)
    found = errors(data, schema)
    if found:
        shown = "; ".join(found[:3]) + (f" (and {len(found) - 3} more)" if len(found) > 3 else "")
        raise LLMInvalidOutput(f"the answer does not match the schema: {shown}")
    return data


def schema_instruction(schema: JSONSchema) -> str:
    """The schema spelled out for a prompt, for servers that cannot constrain their output."""
    return (
        "Answer with one JSON document only, no other text. It must match this JSON schema:\n"
        + json.dumps(plain(schema), ensure_ascii=False, sort_keys=True)
    )


def plain(value: Any) -> Any:
    """Mappings and sequences as dicts and lists, so json.dumps takes any schema."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in value]
    return value


def chat_completion(
    text: str,
    body: Mapping[str, Any],
    request: CompletionRequest,
    *,
    backend: str,
    model: str,
    latency_ms: float,
) -> Completion:
    """A `Completion` from an OpenAI-shaped chat answer (the servers' and llama-cpp-python's):
    the text parsed against the request's schema, token counts from `usage` (0 if absent)."""
    data = parse_answer(text, request.schema) if request.schema is not None else None
    usage = body.get("usage") or {}
    return Completion(
        text=text,
        data=data,
        backend=backend,
        model=model,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        latency_ms=latency_ms,
    )
