"""Sentence clean-up and filters shared by the importers.

Treebank and M2 text comes tokenised (`do n't`, `word ,`); learners should see it as people
write it. Sentences that would make poor exercises are filtered by explicit, tested rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import yaml

from hyperlearn.content.bank import DATA_DIR
from hyperlearn.core import Language

MIN_TOKENS = 5
MAX_TOKENS = 30

_NO_SPACE_BEFORE = {",", ".", "!", "?", ";", ":", "%", ")", "]", "}", "»", "…", "'s", "'S"}
_NO_SPACE_AFTER = {"(", "[", "{", "«", "$", "#"}
_CLITICS = re.compile(r"^(n't|'s|'re|'ve|'ll|'d|'m|N'T|'S|'RE|'VE|'LL|'D|'M)$")
_URL = re.compile(r"(https?://|www\.|\.(com|org|net|ru|html?)\b)", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_MARKUP = re.compile(r"<[^>]+>|&[a-z]+;|\[\[|\]\]|\{\{|\}\}")
# Letters of the sentence's own script, digits, spaces and ordinary punctuation only.
_ALLOWED = {
    Language.EN: re.compile(r"^[A-Za-z0-9\s.,!?;:'\"()%$&\-–—/]+$"),
    Language.RU: re.compile(r"^[А-Яа-яЁё0-9\s.,!?;:'\"()%«»\-–—/A-Za-z]+$"),
}


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens the way the sentence would be written: `do n't` -> `don't`, `word ,` ->
    `word,`, quotes attached to what they enclose."""
    out = ""
    open_quote = False
    for piece in tokens:
        if not out:
            out = piece
            if piece == '"':
                open_quote = True
            continue
        attach = piece in _NO_SPACE_BEFORE or bool(_CLITICS.match(piece))
        if piece == '"':
            attach = open_quote
            open_quote = not open_quote
        if out.endswith(tuple(_NO_SPACE_AFTER)) or (
            out.endswith('"') and open_quote and piece != '"'
        ):
            attach = True
        out += piece if attach else f" {piece}"
    return out


def truecase(text: str) -> str:
    """For lower-cased sources (UD Atis): a capital at the start and for the pronoun I."""
    text = re.sub(r"\bi\b", "I", text)
    return text[:1].upper() + text[1:]


@cache
def offensive_words(language: Language) -> tuple[frozenset[str], tuple[str, ...]]:
    """(whole words, stems) from data/offensive.yaml."""
    data = yaml.safe_load((DATA_DIR / "offensive.yaml").read_text(encoding="utf-8"))
    entries = [str(w).casefold().replace("ё", "е") for w in data.get(str(language), [])]
    words = frozenset(e for e in entries if not e.endswith("*"))
    stems = tuple(e[:-1] for e in entries if e.endswith("*"))
    return words, stems


def sentence_problem(text: str, tokens: Sequence[str], language: Language) -> str | None:
    """Why a sentence should not become an exercise (a drop reason), or None."""
    if not MIN_TOKENS <= len(tokens) <= MAX_TOKENS:
        return "sentence length"
    if _URL.search(text) or _EMAIL.search(text):
        return "URL or e-mail"
    if _MARKUP.search(text):
        return "markup"
    if not _ALLOWED[language].match(text):
        return "odd symbols"
    bad_words, bad_stems = offensive_words(language)
    for token in tokens:
        word = token.casefold().strip(".,!?;:'\"").replace("ё", "е")
        if word in bad_words or word.startswith(bad_stems):
            return "offensive word"
    return None
