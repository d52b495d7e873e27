"""Answer grading: forgiving about typography, strict about grammar.

Case, runs of spaces, the kind of apostrophe or quote, final sentence punctuation and, in Russian,
ё versus е never make an answer wrong. Any listed alternative is accepted. Corrections are compared
as token sequences, and the first differing token is pointed at.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from typing import Literal

from hyperlearn.core.items import JUDGEMENT_ANSWERS, Item, ItemType
from hyperlearn.core.language import Language

_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u2018\u02bc\u0060\u00b4\u2032"})
_QUOTES = str.maketrans({c: '"' for c in "\u201c\u201d\u201e\u00ab\u00bb\u2033"})
_ASCII_CLEANUP = {**{code: " " for code in (*range(32), 127)}, **{ord("`"): "'"}}
_TOKEN = re.compile(r"\w+(?:['\-]\w+)*|[^\w\s]")
_FINAL_PUNCTUATION = frozenset({".", "!", "?", "\u2026"})

DiffKind = Literal["equal", "replace", "insert", "delete"]


@dataclass(frozen=True, slots=True)
class Token:
    surface: str  # as written (typography unified), for display
    key: str  # what is compared


@dataclass(frozen=True, slots=True)
class DiffOp:
    """One step from the learner's tokens to the expected ones."""

    kind: DiffKind
    given: tuple[str, ...]
    expected: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Grade:
    correct: bool
    expected: str  # the accepted answer closest to what the learner wrote
    diff: tuple[DiffOp, ...]
    # Index (in the learner's tokens) of the first token that differs from `expected`, or None.
    first_error: int | None


def clean_text(text: str) -> str:
    """Unify typography and drop control characters; keeps case and content."""
    if text.isascii():  # the common case: only C0 controls and DEL can be there
        return text.translate(_ASCII_CLEANUP)
    text = unicodedata.normalize("NFC", text)
    return text.translate(_unicode_cleanup())


def _control_to_space() -> dict[int, str]:
    return {
        code: " "
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp")
    }


@cache
def _unicode_cleanup() -> dict[int, str]:
    """Control, format and line/paragraph separators to spaces, typography unified: built once
    (a scan of every code point, about a quarter of a second) on the first non-ASCII text."""
    table = _control_to_space()
    table.update(_APOSTROPHES)
    table.update(_QUOTES)
    return table


def normalize(text: str, language: Language) -> str:
    """The comparison key of a whole answer: the keys of `tokenize`, joined (computed on the
    whole string at once, as importers call this for every gap they verify)."""
    keyed = clean_text(text).casefold()
    if language is Language.RU:
        keyed = keyed.replace("ё", "е")
    keys: list[str] = _TOKEN.findall(keyed)
    while keys and keys[-1] in _FINAL_PUNCTUATION:
        keys.pop()
    return " ".join(keys)


def tokenize(text: str, language: Language) -> list[Token]:
    surfaces: list[str] = _TOKEN.findall(clean_text(text))
    if language is Language.RU:
        tokens = [Token(s, s.casefold().replace("ё", "е")) for s in surfaces]
    else:
        tokens = [Token(s, s.casefold()) for s in surfaces]
    while tokens and tokens[-1].key in _FINAL_PUNCTUATION:
        tokens.pop()
    return tokens


def same_answer(a: str, b: str, language: Language) -> bool:
    return normalize(a, language) == normalize(b, language)


def grade(item: Item, answer: str) -> Grade:
    if item.type is ItemType.JUDGEMENT:
        return _grade_judgement(item, answer)
    given = tokenize(answer, item.language)
    best: tuple[float, str, list[Token]] | None = None
    for accepted in item.answers:
        expected = tokenize(accepted, item.language)
        if [t.key for t in given] == [t.key for t in expected]:
            return Grade(True, accepted, (_equal(given),) if given else (), None)
        ratio = _matcher(given, expected).ratio()
        if best is None or ratio > best[0]:
            best = (ratio, accepted, expected)
    assert best is not None, "an item always has at least one accepted answer"
    _, accepted, expected = best
    diff = token_diff(given, expected)
    return Grade(False, accepted, diff, _first_error(diff))


def _grade_judgement(item: Item, answer: str) -> Grade:
    key = normalize(answer, item.language)
    expected = item.answers[0]
    if key == expected:
        return Grade(True, expected, (), None)
    given = key if key in JUDGEMENT_ANSWERS else answer
    return Grade(False, expected, (DiffOp("replace", (given,), (expected,)),), 0)


def token_diff(given: list[Token], expected: list[Token]) -> tuple[DiffOp, ...]:
    ops: list[DiffOp] = []
    for tag, i1, i2, j1, j2 in _matcher(given, expected).get_opcodes():
        ops.append(
            DiffOp(
                kind=tag,
                given=tuple(t.surface for t in given[i1:i2]),
                expected=tuple(t.surface for t in expected[j1:j2]),
            )
        )
    return tuple(ops)


def error_location(item: Item) -> tuple[int, int] | None:
    """For a correction item: the token span of `text` that its first answer changes."""
    if item.type is not ItemType.CORRECTION:
        return None
    text = tokenize(item.text, item.language)
    fixed = tokenize(item.answers[0], item.language)
    for tag, i1, i2, _, _ in _matcher(text, fixed).get_opcodes():
        if tag != "equal":
            return (i1, i2)
    return None


def _first_error(diff: tuple[DiffOp, ...]) -> int | None:
    position = 0
    for op in diff:
        if op.kind != "equal":
            return position
        position += len(op.given)
    return None


def _equal(tokens: list[Token]) -> DiffOp:
    surfaces = tuple(t.surface for t in tokens)
    return DiffOp("equal", surfaces, surfaces)


def _matcher(a: list[Token], b: list[Token]) -> SequenceMatcher[str]:
    return SequenceMatcher(a=[t.key for t in a], b=[t.key for t in b], autojunk=False)
