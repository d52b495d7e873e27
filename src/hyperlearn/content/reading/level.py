"""A text's CEFR level, from the sentence difficulty model the importers use.

Each usable sentence is scored by `difficulty.model_for(language)` (word levels, word
frequencies, length); the text's score is the mean sentence score, cut into A1..C2 by the same
thresholds as a single sentence. The mean keeps a text of short sentences with a few hard words
below one with long, dense sentences, which is what graded readers change between levels.
"""

from __future__ import annotations

from collections.abc import Sequence

from hyperlearn.content.importing.difficulty import features, model_for
from hyperlearn.content.reading.texts import Sentence, tokens
from hyperlearn.core import CEFRLevel, Language


def sentence_score(sentence: str, language: Language) -> float:
    model = model_for(language)
    return model.score(features(tokens(sentence), language, model.names))


def text_score(sentences: Sequence[Sentence], language: Language) -> float | None:
    """The mean sentence score, or None when no sentence is usable."""
    usable = [s for s in sentences if s.usable] or list(sentences)
    if not usable:
        return None
    return sum(sentence_score(s.text, language) for s in usable) / len(usable)


def level_of_score(score: float, language: Language) -> CEFRLevel:
    thresholds = model_for(language).thresholds
    return CEFRLevel.from_rank(sum(score >= t for t in thresholds))


def text_level(sentences: Sequence[Sentence], language: Language) -> CEFRLevel | None:
    score = text_score(sentences, language)
    return None if score is None else level_of_score(score, language)
