"""Glosses for the reading view: which words of a text to mark for a learner, and what tapping
one shows.

A word is marked when it is a content word (the question builders' test: no names, no
function words) whose CEFR level (cefrpy for English, word frequency for Russian, as the level
estimator uses) is at or above the learner's level. Its gloss is built from the morphology
engines the project already ships, so it works offline and is right by construction:

- English: the lemma and part of speech from lemminflect, the form of the word in the text
  ("past tense of ...") and the lemma's other forms;
- Russian: the pymorphy3 lemma and grammatical form ("genitive plural of ...");
- both: the word's level and the other sentences of the text that use the same lemma.

There are no definitions: no package on PyPI ships an English WordNet (or another openly
licensed dictionary) inside its wheel for offline use, so meanings are left to the in-text
examples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.content.reading import words
from hyperlearn.content.reading.texts import ReadingText, Sentence
from hyperlearn.core import CEFRLevel, Language

# Words as the reading view shows them: letters, with inner apostrophes and hyphens.
WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
MAX_EXAMPLES = 5

_EN_POS = {"NOUN": "noun", "VERB": "verb", "ADJ": "adjective", "ADV": "adverb"}
_EN_FORMS = {
    "NN": "singular",
    "NNS": "plural",
    "VB": "base form",
    "VBP": "present tense",
    "VBZ": "present tense, third person singular",
    "VBD": "past tense",
    "VBN": "past participle",
    "VBG": "-ing form",
    "JJ": "base form",
    "JJR": "comparative",
    "JJS": "superlative",
    "RB": "base form",
    "RBR": "comparative",
    "RBS": "superlative",
}
_RU_POS = {
    "NOUN": "noun",
    "ADJF": "adjective",
    "ADJS": "short adjective",
    "COMP": "comparative",
    "VERB": "verb",
    "INFN": "verb",
    "PRTF": "participle",
    "PRTS": "short participle",
    "GRND": "adverbial participle",
    "NUMR": "numeral",
    "ADVB": "adverb",
    "NPRO": "pronoun",
    "PRED": "predicative",
}
# pymorphy3 grammemes in the order a form is named: "past tense, feminine singular".
_RU_GRAMMEMES = (
    ("INFN", "infinitive"),
    ("impr", "imperative"),
    ("past", "past tense"),
    ("pres", "present tense"),
    ("futr", "future tense"),
    ("1per", "first person"),
    ("2per", "second person"),
    ("3per", "third person"),
    ("masc", "masculine"),
    ("femn", "feminine"),
    ("neut", "neuter"),
    ("nomn", "nominative"),
    ("gent", "genitive"),
    ("gen2", "partitive genitive"),
    ("datv", "dative"),
    ("accs", "accusative"),
    ("acc2", "accusative"),
    ("ablt", "instrumental"),
    ("loct", "prepositional"),
    ("loc2", "locative"),
    ("voct", "vocative"),
    ("sing", "singular"),
    ("plur", "plural"),
    ("actv", "active"),
    ("pssv", "passive"),
)
_RU_ASPECT = {"perf": "perfective", "impf": "imperfective"}
_RU_GENDER = {"masc": "masculine", "femn": "feminine", "neut": "neuter"}


@dataclass(frozen=True, slots=True)
class Mark:
    """A marked word: its offsets in ReadingText.body and its level."""

    start: int
    end: int
    word: str
    level: CEFRLevel


@dataclass(frozen=True, slots=True)
class Gloss:
    word: str  # as written in the text
    start: int  # offsets in the body
    end: int
    lemma: str
    pos: str  # "noun", "verb" ...
    level: CEFRLevel
    form: str  # "genitive plural of «книга»", "past tense of “decide”"
    forms: tuple[str, ...]  # English: the lemma's forms; Russian: empty
    sentence: str  # the sentence the word is in
    examples: tuple[str, ...]  # other sentences of the text with the same lemma

    def summary(self) -> str:
        """One line for an item explanation: “word”: form (pos, level)."""
        return f"“{self.word}”: {self.form} ({self.pos}, {self.level})"


def marks(text: ReadingText, level: CEFRLevel) -> list[Mark]:
    """The words of the text a learner at `level` may want glossed, in text order."""
    found = []
    for sentence in text.sentences:
        for n, match in enumerate(WORD.finditer(sentence.text)):
            word = match.group()
            if not words.is_content_word(word, text.language, sentence_initial=n == 0):
                continue
            word_level = words.word_level(word, text.language)
            if word_level.rank >= level.rank:
                start = sentence.start + match.start()
                found.append(Mark(start, start + len(word), word, word_level))
    return found


def word_at(text: ReadingText, offset: int) -> tuple[Sentence, str] | None:
    """The sentence and word of the text that starts at `offset`, if it is a content word."""
    for sentence in text.sentences:
        if not sentence.start <= offset < sentence.end:
            continue
        for n, match in enumerate(WORD.finditer(sentence.text)):
            if sentence.start + match.start() == offset:
                word = match.group()
                if words.is_content_word(word, text.language, sentence_initial=n == 0):
                    return sentence, word
                return None
    return None


def gloss(text: ReadingText, offset: int) -> Gloss | None:
    """The gloss of the content word starting at `offset` in the body, or None."""
    found = word_at(text, offset)
    if found is None:
        return None
    sentence, word = found
    language = text.language
    if language is Language.EN:
        info = words.english_info(word)
        pos = _EN_POS.get(info.pos, info.pos.lower())
        described = _EN_FORMS.get(info.form, "")
        lemma = info.lemma
        form = f"{described} of “{lemma}”" if described else f"“{lemma}”"
        forms = _english_forms(lemma, info.pos)
    else:
        parse = russian_analyzer().parse(word.casefold())[0]
        tag = parse.tag
        lemma = str(parse.normal_form)
        pos = _RU_POS.get(str(tag.POS), str(tag.POS or "").lower())
        if tag.aspect in _RU_ASPECT and pos == "verb":
            pos = f"{_RU_ASPECT[str(tag.aspect)]} verb"
        grammemes = {str(g) for g in tag.grammemes}
        if pos == "noun" and tag.gender in _RU_GENDER:
            # A noun's gender is a property of the word, not of this form.
            pos = f"{_RU_GENDER[str(tag.gender)]} noun"
            grammemes -= set(_RU_GENDER)
        head = ", ".join(name for g, name in _RU_GRAMMEMES[:5] if g in grammemes)
        rest = " ".join(name for g, name in _RU_GRAMMEMES[5:] if g in grammemes)
        described = ", ".join(part for part in (head, rest) if part)
        form = f"{described} of «{lemma}»" if described else f"«{lemma}»"
        forms = ()
    examples = tuple(
        s.text
        for s in text.sentences
        if s.index != sentence.index and _uses(s.text, lemma, language)
    )[:MAX_EXAMPLES]
    return Gloss(
        word=word,
        start=offset,
        end=offset + len(word),
        lemma=lemma,
        pos=pos,
        level=words.word_level(word, language),
        form=form,
        forms=forms,
        sentence=sentence.text,
        examples=examples,
    )


def _english_forms(lemma: str, pos: str) -> tuple[str, ...]:
    from lemminflect import getAllInflections

    if not pos:
        return ()
    found: list[str] = []
    for forms in getAllInflections(lemma, upos=pos).values():
        found += [f for f in forms if f not in found]
    return tuple(f for f in found if f != lemma) if lemma in found else tuple(found)


def _uses(sentence: str, lemma: str, language: Language) -> bool:
    return any(words.is_form_of(w, lemma, language) for w in WORD.findall(sentence))


def marked_segments(
    body: str, spans: Sequence[tuple[int, int]], found: Sequence[Mark]
) -> list[list[tuple[str, Mark | None]]]:
    """Each paragraph (by its span in the body) as text runs, each a marked word or not."""
    out = []
    ordered = sorted(found, key=lambda m: m.start)
    for start, end in spans:
        runs: list[tuple[str, Mark | None]] = []
        at = start
        for mark in ordered:
            if mark.start < start or mark.end > end:
                continue
            if mark.start > at:
                runs.append((body[at : mark.start], None))
            runs.append((body[mark.start : mark.end], mark))
            at = mark.end
        if at < end:
            runs.append((body[at:end], None))
        out.append(runs)
    return out
