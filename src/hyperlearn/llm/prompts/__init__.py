"""Prompt files: one YAML file per task and language (`<task>.<language>.yaml`), each with a
`system` and a `prompt` Jinja template. They ship as package data and load through
importlib.resources, so an installed wheel finds them too.

Learner-supplied text enters a prompt only through the `quoted` filter: a JSON string literal,
so quotes and line breaks in it cannot end the field or start an instruction of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml

TASKS = ("explain", "themed", "reading_questions")
LANGUAGES = ("en", "ru")


class PromptError(ValueError):
    """A prompt file that is missing or malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    system: str
    prompt: str
    max_tokens: int


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    system: jinja2.Template
    prompt: jinja2.Template
    max_tokens: int
    # Per-skill extra instructions (themed prompts); absent skills get the generic text.
    skills: dict[str, str]

    def render(self, **values: Any) -> RenderedPrompt:
        try:
            return RenderedPrompt(
                system=self.system.render(**values).strip(),
                prompt=self.prompt.render(**values).strip(),
                max_tokens=self.max_tokens,
            )
        except jinja2.UndefinedError as error:
            raise PromptError(f"{self.name}: {error}") from None


def _quoted(value: object) -> str:
    return json.dumps(str(value), ensure_ascii=False)


_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # noqa: S701 (plain text for a model, never HTML)
    keep_trailing_newline=False,
)
_ENV.filters["quoted"] = _quoted


@cache
def load_prompt(task: str, language: str) -> PromptTemplate:
    """The prompt of `task` (explain, themed, reading_questions) for `language` (en, ru)."""
    if task not in TASKS or language not in LANGUAGES:
        raise PromptError(f"no prompt for task {task!r} and language {language!r}")
    name = f"{task}.{language}.yaml"
    try:
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"{name}: prompt file is missing") from None
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not all(
        isinstance(raw.get(k), str) for k in ("system", "prompt")
    ):
        raise PromptError(f"{name}: expected a mapping with 'system' and 'prompt' texts")
    if raw.get("task") != task or raw.get("language") != language:
        raise PromptError(f"{name}: 'task' and 'language' must be {task!r} and {language!r}")
    max_tokens = raw.get("max_tokens", 200)
    skills = raw.get("skills") or {}
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise PromptError(f"{name}: 'max_tokens' must be a positive integer")
    if not isinstance(skills, dict) or not all(isinstance(v, str) for v in skills.values()):
        raise PromptError(f"{name}: 'skills' maps skill ids to instruction texts")
    try:
        return PromptTemplate(
            name=name,
            system=_ENV.from_string(raw["system"]),
            prompt=_ENV.from_string(raw["prompt"]),
            max_tokens=max_tokens,
            skills={str(k): str(v) for k, v in skills.items()},
        )
    except jinja2.TemplateSyntaxError as error:
        raise PromptError(f"{name}: line {error.lineno}: {error.message}") from None
