"""A CEFR level for each imported item: how hard its sentence reads, never below its skill.

`sentence_level` scores a sentence from its words and its length:

- word levels: `cefrpy`'s CEFR level of each English word (its own form, else a lemma from
  lemminflect), and `wordfreq` Zipf frequencies for both languages (Russian words through their
  pymorphy3 lemma, so rare inflected forms of common words do not count as rare);
- sentence length in words and commas (clauses).

The features are combined linearly and the score is cut into A1..C2 by five thresholds. Weights
and thresholds are fitted on the CEFR-SP Wiki-Auto training split (English sentences rated by
two teachers) and evaluated on its test split by

    .venv/bin/python benchmarks/cefr_eval.py --fit

which prints the constants below (paste them back here) and writes the evaluation to
bench-results/cefr/results.json. English uses every feature (`EN_MODEL`); Russian has no CEFR
word list, so it uses the model fitted on the frequency and length features only
(`FREQUENCY_MODEL`), trained on English sentences: a transfer that CEFR-SP cannot check, so
Russian levels are rougher than English ones.

`estimate_level` is what the importers call: the sentence level, raised to the skill's own level
(an exercise on a B1 skill is at least B1, however simple its sentence).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import CEFRLevel, Language

_WORDLIKE = re.compile(r"[^\W\d_]")
# wordfreq's lowest Zipf value for words it has never seen.
_UNSEEN_ZIPF = 1.0
# A word form at least this frequent counts as common without looking at its lemma.
_COMMON_ZIPF = 4.0


@dataclass(frozen=True, slots=True)
class Model:
    """A linear score over `features()` (same order as `names`) and the cut points between
    A1|A2, A2|B1, B1|B2, B2|C1, C1|C2."""

    names: tuple[str, ...]
    intercept: float
    weights: tuple[float, ...]
    thresholds: tuple[float, float, float, float, float]

    def score(self, values: Sequence[float]) -> float:
        return self.intercept + sum(w * v for w, v in zip(self.weights, values, strict=True))

    def level(self, values: Sequence[float]) -> CEFRLevel:
        score = self.score(values)
        return CEFRLevel.from_rank(sum(score >= t for t in self.thresholds))


FREQUENCY_FEATURES = (
    "words",
    "log_words",
    "commas",
    "mean_zipf",
    "min_zipf",
    "low3_zipf",
    "share_zipf_below_4",
    "share_zipf_below_3",
)
EN_FEATURES = (
    *FREQUENCY_FEATURES,
    "mean_cefr",
    "max_cefr",
    "top3_cefr",
    "share_cefr_b2_up",
)

# Fitted by `.venv/bin/python benchmarks/cefr_eval.py --fit` on CEFR-SP Wiki-Auto train.
EN_MODEL = Model(
    names=EN_FEATURES,
    intercept=1.24301,
    weights=(
        -0.01575,
        0.92362,
        -0.06985,
        0.05542,
        0.09211,
        -0.49131,
        0.82587,
        -0.24337,
        0.58929,
        0.00207,
        0.03155,
        -0.25889,
    ),
    thresholds=(-0.5292, 2.2056, 3.3049, 4.1815, 7.0072),
)
FREQUENCY_MODEL = Model(
    names=FREQUENCY_FEATURES,
    intercept=4.4167,
    weights=(-0.01103, 0.86271, -0.07274, -0.23104, 0.10711, -0.57244, 1.40837, 0.01832),
    thresholds=(-0.6978, 2.2856, 3.1911, 4.1357, 6.9452),
)


def model_for(language: Language) -> Model:
    return EN_MODEL if language is Language.EN else FREQUENCY_MODEL


def estimate_level(
    text: str, tokens: Sequence[str], language: Language, skill_level: CEFRLevel
) -> CEFRLevel:
    """The item's CEFR level: its sentence's level, never below the skill's own."""
    level = sentence_level(text, tokens, language)
    return level if level.rank >= skill_level.rank else skill_level


def sentence_level(text: str, tokens: Sequence[str], language: Language) -> CEFRLevel:
    """How hard the sentence reads, from word levels, word frequencies and length."""
    model = model_for(language)
    return model.level(features(tokens, language, model.names))


def features(
    tokens: Sequence[str], language: Language, names: Sequence[str] = EN_FEATURES
) -> list[float]:
    """The named features of a tokenised sentence (see FREQUENCY_FEATURES, EN_FEATURES)."""
    words = [t for t in tokens if _WORDLIKE.search(t)]
    # A capitalised word inside the sentence that the word lists do not know is a name: it
    # says nothing about how hard the sentence is.
    common = [
        w
        for i, w in enumerate(words)
        if i == 0 or not w[:1].isupper() or _known_word(w.casefold(), language)
    ]
    zipfs = sorted(zipf(w.casefold(), language) for w in common) or [7.0]
    values: dict[str, float] = {
        "words": float(len(words)),
        "log_words": math.log1p(len(words)),
        "commas": float(sum(t == "," for t in tokens)),
        "mean_zipf": sum(zipfs) / len(zipfs),
        "min_zipf": zipfs[0],
        "low3_zipf": sum(zipfs[:3]) / len(zipfs[:3]),
        "share_zipf_below_4": sum(z < 4 for z in zipfs) / len(zipfs),
        "share_zipf_below_3": sum(z < 3 for z in zipfs) / len(zipfs),
    }
    if language is Language.EN:
        levels = sorted((cefr_level(w.casefold()) for w in common), reverse=True) or [1.0]
        values |= {
            "mean_cefr": sum(levels) / len(levels),
            "max_cefr": levels[0],
            "top3_cefr": sum(levels[:3]) / len(levels[:3]),
            "share_cefr_b2_up": sum(lv >= 4 for lv in levels) / len(levels),
        }
    return [values[name] for name in names]


@cache
def zipf(word: str, language: Language) -> float:
    """wordfreq's Zipf frequency (0..8; 3 is once per million words) of the word, or of its
    lemma when that is more frequent (Russian: pymorphy3's normal form)."""
    value = _zipf(word, language)
    if language is Language.RU and value < _COMMON_ZIPF:
        # Only a rare form needs its lemma looked up (pymorphy3 is the slow part here).
        parses = russian_analyzer().parse(word)
        if parses:
            value = max(value, _zipf(parses[0].normal_form, language))
    return max(value, _UNSEEN_ZIPF)


def _zipf(word: str, language: Language) -> float:
    """wordfreq's `zipf_frequency`, read straight from its table for plain lower-case words
    (the same number, some fifty times faster than the function, which tokenises first)."""
    if word.isalpha() and word.islower():
        frequency = _frequencies(language).get(word, 0.0)
        return round(math.log10(frequency) + 9, 2) if frequency > 0 else 0.0
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, str(language)))


def _frequencies(language: Language) -> dict[str, float]:
    """wordfreq's own table (it caches it; Russian's is the big one, ~140 MB in memory)."""
    from wordfreq import get_frequency_dict

    table: dict[str, float] = get_frequency_dict(str(language))
    return table


@cache
def cefr_level(word: str) -> float:
    """cefrpy's CEFR level of an English word (1.0 = A1 .. 6.0 = C2): of the form itself, else
    of its lowest-level lemma; words it does not know get a level from their frequency."""
    analyzer = _cefr_analyzer()
    if analyzer.is_word_in_database(word):
        return float(analyzer.get_average_word_level_float(word))
    from lemminflect import getAllLemmas

    known = [
        float(analyzer.get_average_word_level_float(lemma))
        for lemmas in getAllLemmas(word).values()
        for lemma in lemmas
        if analyzer.is_word_in_database(lemma.casefold())
    ]
    if known:
        return min(known)
    return _level_from_zipf(zipf(word, Language.EN))


def _level_from_zipf(value: float) -> float:
    """A rough CEFR level for a word the CEFR lists lack: common words are easy."""
    return min(6.0, max(1.0, 8.0 - value))


def _known_word(word: str, language: Language) -> bool:
    if language is Language.EN and _cefr_analyzer().is_word_in_database(word):
        return True
    from wordfreq import zipf_frequency

    return zipf_frequency(word, str(language)) >= 3.0


@cache
def _cefr_analyzer() -> Any:
    from cefrpy import CEFRAnalyzer  # type: ignore[import-untyped]

    return CEFRAnalyzer()
