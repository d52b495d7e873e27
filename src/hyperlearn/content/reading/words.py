"""Word facts the question builders need, from the morphology engines the project already uses:
lemminflect (English) and pymorphy3 (Russian) for part of speech, lemma and forms, wordfreq (via
the difficulty module) for frequency, cefrpy for English word levels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hyperlearn.content.importing.difficulty import cefr_level, zipf
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import CEFRLevel, Language

EN_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "me",
        "him",
        "us",
        "them",
        "who",
        "whom",
        "whose",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "and",
        "or",
        "but",
        "nor",
        "so",
        "yet",
        "for",
        "of",
        "in",
        "on",
        "at",
        "by",
        "to",
        "from",
        "with",
        "about",
        "into",
        "onto",
        "over",
        "under",
        "after",
        "before",
        "since",
        "until",
        "than",
        "as",
        "if",
        "because",
        "while",
        "although",
        "though",
        "not",
        "no",
        "yes",
        "do",
        "does",
        "did",
        "done",
        "doing",
        "be",
        "is",
        "are",
        "was",
        "were",
        "been",
        "being",
        "am",
        "have",
        "has",
        "had",
        "having",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "also",
        "just",
        "only",
        "very",
        "there",
        "here",
        "then",
        "now",
        "some",
        "any",
        "all",
        "each",
        "every",
        "both",
        "either",
        "neither",
        "such",
        "more",
        "most",
        "much",
        "many",
        "few",
        "little",
        "other",
        "another",
        "own",
        "same",
        "one",
        "ones",
        "s",
        "t",
    ]
)
EN_AUXILIARIES = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "must",
        "should",
        "shall",
        "does",
        "do",
        "did",
    ]
)
RU_CONTENT_POS = frozenset({"NOUN", "ADJF", "VERB", "INFN", "ADVB"})


@dataclass(frozen=True, slots=True)
class WordInfo:
    pos: str  # NOUN, VERB, ADJ, ADV (English) or pymorphy3's POS (Russian); "" if unknown
    lemma: str
    form: str  # Penn tag (English) or pymorphy3 grammemes of the form (Russian)
    zipf: float
    proper: bool


@cache
def english_info(word: str) -> WordInfo:
    from lemminflect import getAllLemmas, getInflection

    lower = word.casefold()
    lemmas = getAllLemmas(lower)
    for pos in ("NOUN", "VERB", "ADJ", "ADV"):
        if pos not in lemmas:
            continue
        lemma = lemmas[pos][0]
        for tag in _EN_TAGS[pos]:
            if lower in getInflection(lemma, tag):
                return WordInfo(pos, lemma, tag, zipf(lower, Language.EN), "PROPN" in lemmas)
    return WordInfo("", lower, "", zipf(lower, Language.EN), "PROPN" in lemmas)


_EN_TAGS = {
    "NOUN": ("NN", "NNS"),
    "VERB": ("VB", "VBD", "VBZ", "VBG", "VBN", "VBP"),
    "ADJ": ("JJ", "JJR", "JJS"),
    "ADV": ("RB", "RBR", "RBS"),
}


def english_inflect(lemma: str, tag: str) -> str | None:
    from lemminflect import getInflection

    forms = getInflection(lemma, tag)
    return str(forms[0]) if forms else None


@cache
def russian_info(word: str) -> WordInfo:
    parses = russian_analyzer().parse(word.casefold())
    if not parses:
        return WordInfo("", word.casefold(), "", 1.0, False)
    best = parses[0]
    grammemes = {str(g) for g in best.tag.grammemes}
    proper = bool(grammemes & {"Name", "Surn", "Patr", "Geox", "Orgn"})
    return WordInfo(
        str(best.tag.POS or ""),
        str(best.normal_form),
        ",".join(sorted(grammemes)),
        zipf(word.casefold(), Language.RU),
        proper,
    )


def russian_can_be_nominative(word: str) -> bool:
    return any(p.tag.case == "nomn" for p in russian_analyzer().parse(word.casefold()))


def russian_inflect(lemma_word: str, grammemes: frozenset[str]) -> str | None:
    """The form of the word with these grammemes (case, number, gender, person...), or None."""
    parses = russian_analyzer().parse(lemma_word)
    if not parses:
        return None
    inflected = parses[0].inflect(set(grammemes))
    return None if inflected is None else str(inflected.word)


def russian_lemmas(word: str) -> set[str]:
    return {str(p.normal_form) for p in russian_analyzer().parse(word.casefold())}


def english_lemmas(word: str) -> set[str]:
    from lemminflect import getAllLemmas

    return {lemma for lemmas in getAllLemmas(word.casefold()).values() for lemma in lemmas}


def is_form_of(answer: str, lemma: str, language: Language) -> bool:
    """Whether the morphology engine analyses `answer` as a form of `lemma`."""
    lemma = lemma.casefold()
    if language is Language.RU:
        return lemma.replace("ё", "е") in {x.replace("ё", "е") for x in russian_lemmas(answer)}
    return lemma in english_lemmas(answer)


def word_level(word: str, language: Language) -> CEFRLevel:
    """A word's CEFR level: cefrpy's for English, from its frequency for Russian."""
    if language is Language.EN:
        value = cefr_level(word.casefold())
    else:
        value = min(6.0, max(1.0, 8.0 - zipf(word.casefold(), Language.RU)))
    return CEFRLevel.from_rank(max(0, min(5, round(value) - 1)))


def is_content_word(word: str, language: Language, sentence_initial: bool) -> bool:
    if not word.isalpha() or len(word) < 3:
        return False
    if word[:1].isupper() and not sentence_initial:
        return False  # a name: its meaning does not come from the sentence
    if language is Language.EN:
        if word.casefold() in EN_FUNCTION_WORDS:
            return False
        info = english_info(word)
        return bool(info.pos) and not (info.proper and word[:1].isupper())
    info = russian_info(word)
    return info.pos in RU_CONTENT_POS and not info.proper
