"""Topic tagging of imported sentences from a hand-written keyword lexicon.

`data/topic_keywords.yaml` lists, per language and topic of `data/topics.yaml`, dictionary
forms (lemmas) of words that say what a sentence is about. A sentence's words are reduced to
lemmas (English: lemminflect, every lemma a word can have; Russian: pymorphy3's normal forms
of the most likely part of speech), each keyword found counts one vote for its topics, and the
(at most) two topics with most votes are the item's topics. Embeddings may replace this later;
the interface stays.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hyperlearn.content.bank import DATA_DIR
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import Language

KEYWORDS_FILE = DATA_DIR / "topic_keywords.yaml"
MAX_TOPICS = 2
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Keywords of one language, canonicalised: a tuple of lemmas -> the topics it votes for."""

    phrases: Mapping[tuple[str, ...], tuple[str, ...]]
    longest: int


def _yo(text: str) -> str:
    return text.replace("ё", "е").replace("Ё", "Е")


@cache
def word_forms(word: str, language: Language) -> frozenset[str]:
    """The keys a word can match a keyword under: itself (lower-cased) and its lemmas."""
    lower = _yo(word.casefold())
    forms = {lower}
    if language is Language.EN:
        from lemminflect import getAllLemmas

        for lemmas in getAllLemmas(lower).values():
            forms.update(lemma.casefold() for lemma in lemmas)
        if word[:1].isupper():
            for lemmas in getAllLemmas(word).values():
                forms.update(lemma.casefold() for lemma in lemmas)
    elif lower in russian_keyword_forms():
        # Russian: the normal forms of the most likely parse's part of speech ("математики"
        # -> математика; "мой" stays a pronoun, not a form of мыть). Only words that are a
        # form of some keyword are parsed: pymorphy3 is the slow part.
        parses = russian_analyzer().parse(lower)
        if parses:
            pos = parses[0].tag.POS
            forms.update(_yo(p.normal_form) for p in parses if pos == p.tag.POS)
    return frozenset(forms)


@cache
def russian_keyword_forms() -> frozenset[str]:
    """Every inflected form (pymorphy3 lexeme) of every Russian keyword word."""
    analyzer = russian_analyzer()
    forms: set[str] = set()
    for key in lexicon(Language.RU).phrases:
        for word in key:
            forms.add(word)
            for parse in analyzer.parse(word):
                if _yo(parse.normal_form) == word:
                    forms.update(_yo(f.word) for f in parse.lexeme)
    return frozenset(forms)


def canonical(word: str) -> str:
    """How a keyword's word is stored and compared: lower-cased, ё as е (the lexicon lists
    dictionary forms, so nothing else is done to it)."""
    return _yo(word.casefold())


def read_lexicon_file(path: Path = KEYWORDS_FILE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


@cache
def lexicon(language: Language, path: Path = KEYWORDS_FILE) -> Lexicon:
    data = read_lexicon_file(path)
    votes: dict[tuple[str, ...], set[str]] = {}

    def add(keyword: str, topics: list[str]) -> None:
        key = tuple(canonical(w) for w in str(keyword).split())
        votes.setdefault(key, set()).update(topics)

    for topic, keywords in (data.get(str(language)) or {}).items():
        for keyword in keywords or []:
            add(str(keyword), [str(topic)])
    for keyword, topics in ((data.get("shared") or {}).get(str(language)) or {}).items():
        add(str(keyword), [str(t) for t in topics])
    phrases = {key: tuple(sorted(topics)) for key, topics in votes.items()}
    return Lexicon(phrases, max((len(k) for k in phrases), default=1))


def tag_topics(text: str, language: Language) -> tuple[str, ...]:
    """Sorted topic ids of the sentence, at most two, from the keywords it contains.

    Each keyword found (longest first, not overlapping) is one vote for its topics; ties go to
    the topic mentioned first."""
    lex = lexicon(language)
    words = [word_forms(w, language) for w in _WORD.findall(text)]
    score: Counter[str] = Counter()
    first: dict[str, int] = {}
    start = 0
    while start < len(words):
        step = 1
        # Longest keyword first: "домашнее задание" is school, not home.
        for size in range(min(lex.longest, len(words) - start), 0, -1):
            topics = _topics_of(words[start : start + size], lex)
            if topics:
                for topic in topics:
                    score[topic] += 1
                    first.setdefault(topic, start)
                step = size
                break
        start += step
    ranked = sorted(score, key=lambda t: (-score[t], first[t], t))
    return tuple(sorted(ranked[:MAX_TOPICS]))


def _topics_of(window: list[frozenset[str]], lex: Lexicon) -> tuple[str, ...]:
    """The topics of the keyword that the words of the window spell, if any."""
    keys: list[tuple[str, ...]] = [()]
    for forms in window:
        keys = [(*key, form) for key in keys for form in sorted(forms)]
    for key in keys:
        if key in lex.phrases:
            return lex.phrases[key]
    return ()
