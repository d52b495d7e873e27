"""Morphology-engine checks that an answer has the form its skill demands.

English uses lemminflect, Russian pymorphy3. Both load dictionaries once, lazily.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from hyperlearn.core import Item, ItemType, Language, Skill
from hyperlearn.core.grading import clean_text

PENN_TAGS = frozenset(
    {"VB", "VBD", "VBG", "VBN", "VBZ", "VBP", "NN", "NNS", "JJ", "JJR", "JJS", "RB", "RBR", "RBS"}
)


def form_problem(item: Item, skill: Skill) -> str | None:
    """Why the item's first answer lacks the skill's form, or None when it has it or the
    check does not apply (no hint, not a cloze, no pattern, a word the engine does not know)."""
    if item.type is not ItemType.CLOZE or not item.hint:
        return None
    answer = item.answers[0]
    if item.language is Language.EN and skill.answer_forms:
        return _english_problem(answer, item.hint, skill)
    if item.language is Language.RU and skill.answer_grammemes:
        return _russian_problem(answer, item.hint, skill)
    return None


def _english_problem(answer: str, hint: str, skill: Skill) -> str | None:
    tokens = clean_text(answer).casefold().split()
    for pattern in skill.answer_forms:
        if len(pattern) == len(tokens) and all(
            _english_token_matches(spec, token, hint.casefold())
            for spec, token in zip(pattern, tokens, strict=True)
        ):
            return None
    shown = " or ".join(" ".join(p) for p in skill.answer_forms)
    return f"answer {answer!r} is not {shown} of {hint!r} (lemminflect)"


def _english_token_matches(spec: str, token: str, lemma: str) -> bool:
    if spec in PENN_TAGS:
        return token in english_inflections(lemma, spec)
    return token in spec.casefold().split("|")


@cache
def english_inflections(lemma: str, tag: str) -> frozenset[str]:
    from lemminflect import getInflection

    forms = {f.casefold() for f in getInflection(lemma, tag=tag)}
    if tag in ("VB", "NN", "JJ", "RB"):
        forms.add(lemma)
    return frozenset(forms)


def _russian_problem(answer: str, hint: str, skill: Skill) -> str | None:
    analyzer = russian_analyzer()
    lemma = _yo(hint.casefold())
    words = [w for w in clean_text(answer).casefold().split() if w.isalpha()]
    if any(not analyzer.word_is_known(w) for w in words):
        return None  # the dictionary cannot vouch for it either way
    forms = {
        word: [p for p in analyzer.parse(word) if _yo(p.normal_form) == lemma] for word in words
    }
    targets = {word: parses for word, parses in forms.items() if parses}
    if not targets:
        return f"no word of answer {answer!r} is a form of {hint!r} (pymorphy3)"
    for word, parses in targets.items():
        if not any(
            set(alternative) <= p.tag.grammemes
            for p in parses
            for alternative in skill.answer_grammemes
        ):
            wanted = " or ".join(",".join(sorted(a)) for a in skill.answer_grammemes)
            found = "; ".join(str(p.tag) for p in parses)
            return f"{word!r} is {found}, not {wanted} (pymorphy3)"
    return None


def _yo(text: str) -> str:
    return text.replace("ё", "е")


@cache
def russian_analyzer() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")
