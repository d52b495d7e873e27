"""The one check every reading question ends in: its answer must provably come from the text.

It does not trust the builder's offsets or wording. It re-finds the answer in the text, as a
token sequence on token boundaries (case, typography and ё/е ignored, as the grader does):

- an answer that is not in the text is rejected ("answer not in the text");
- an answer that is in several sentences is kept only when the question's own words point at
  exactly one of them, the one the builder used ("answer ambiguous in the text");
- an answer whose words already stand in the question is rejected: it is answerable without
  the text ("answer given away by the question");
- a distractor that also stands in the supporting sentence could be a second right answer
  ("distractor in the supporting sentence");
- gapped sentences must give back the sentence of the text with the answer and must not with a
  distractor; a "vocabulary" answer must be a form of its hint (morphology engine);
- a true statement must be a sentence of the text; a false one must differ from every sentence
  of the text and carry as its correction the sentence that refutes it;
- a "not given" statement must be a sentence of the text with its subject swapped for a name
  of which no word (and, in Russian, no form of a word) occurs anywhere in the text;
- a collocation must stand in its sentence, and no distractor may make a pair the text has.

Then the starter bank's own item checks run (grader, gap count, options, skills).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from hyperlearn.content.bank import check_item
from hyperlearn.content.reading import words
from hyperlearn.content.reading.questions import NOT_GIVEN, Kind, Question
from hyperlearn.content.reading.texts import ReadingText
from hyperlearn.core import GAP, SkillGraph, Topic, normalize

_KEY = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*", re.UNICODE)


def _keys(text: str, language_ru: bool) -> list[str]:
    text = text.casefold().replace("’", "'")
    if language_ru:
        text = text.replace("ё", "е")
    return _KEY.findall(text)


def occurrences(needle: str, haystack: str, language_ru: bool) -> int:
    """How often the token sequence `needle` occurs in `haystack` on token boundaries."""
    want = _keys(needle, language_ru)
    have = _keys(haystack, language_ru)
    if not want:
        return 0
    return sum(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def _content(keys: Sequence[str], language_ru: bool) -> set[str]:
    if language_ru:
        return {k for k in keys if len(k) > 2}
    return {k for k in keys if k not in words.EN_FUNCTION_WORDS}


def check(
    question: Question,
    text: ReadingText,
    graph: SkillGraph | None = None,
    topics: Mapping[str, Topic] | None = None,
) -> str | None:
    """None when the question is grounded and sound, else the reason it is rejected."""
    item = question.item
    ru = text.language.value == "ru"
    if item.language is not text.language:
        return "question not in the text's language"
    if not 0 <= question.sentence < len(text.sentences):
        return "no supporting sentence"
    support = text.sentences[question.sentence]
    if question.kind is Kind.TRUE_FALSE:
        problem = _true_false_problem(question, text, ru)
    else:
        problem = _span_problem(question, text, ru)
        if problem is None and question.kind in (Kind.CLOZE, Kind.VOCABULARY):
            problem = _gap_problem(question, support.text)
        elif problem is None and question.kind is Kind.NOT_GIVEN:
            problem = _not_given_problem(question, text, ru)
        elif problem is None and question.kind is Kind.COLLOCATION:
            problem = _collocation_problem(question, text, ru)
    if problem is None and graph is not None:
        found = check_item(item, graph, topics or {}, require_topics=False)
        if found:
            problem = found[0].split(" (")[0].split(" '")[0][:80]
    return problem


def _span_problem(question: Question, text: ReadingText, ru: bool) -> str | None:
    answer = question.answer
    support = text.sentences[question.sentence]
    if not _keys(answer, ru):
        return "empty answer"
    if occurrences(answer, text.body, ru) == 0:
        return "answer not in the text"
    # The builder's offsets must point at the answer inside its sentence.
    if text.body[question.start : question.end] != answer or not (
        support.start <= question.start and question.end <= support.end
    ):
        return "answer not in the supporting sentence"
    if question.kind is Kind.WH:
        asked = _keys(question.prompt, ru)
        if _content(_keys(answer, ru), ru) & set(asked) or occurrences(answer, question.prompt, ru):
            return "answer given away by the question"
        holders = [s for s in text.sentences if occurrences(answer, s.text, ru)]
        if len(holders) > 1 or occurrences(answer, support.text, ru) > 1:
            wanted = _content(asked, ru)
            overlap = {s.index: len(wanted & set(_keys(s.text, ru))) for s in holders}
            best = max(overlap.values())
            winners = [i for i, v in overlap.items() if v == best]
            if winners != [support.index] or occurrences(answer, support.text, ru) > 1:
                return "answer ambiguous in the text"
        for distractor in question.item.distractors:
            if normalize(distractor, text.language) == normalize(answer, text.language):
                return "a distractor is the answer"
            if occurrences(distractor, support.text, ru):
                return "distractor in the supporting sentence"
    return None


def _gap_problem(question: Question, sentence: str) -> str | None:
    item = question.item
    language = item.language
    if item.text.count(GAP) != 1:
        return "gap count"
    gold = normalize(sentence, language)
    if any(normalize(item.text.replace(GAP, a), language) != gold for a in item.answers):
        return "answer does not restore the sentence"
    if any(normalize(item.text.replace(GAP, d), language) == gold for d in item.distractors):
        return "a distractor restores the sentence"
    if question.kind is Kind.VOCABULARY and not (
        item.hint and words.is_form_of(item.answers[0], item.hint, language)
    ):
        return "answer is not a form of its hint"
    return None


def _true_false_problem(question: Question, text: ReadingText, ru: bool) -> str | None:
    item = question.item
    support = text.sentences[question.sentence]
    language = text.language
    if normalize(question.answer, language) != normalize(support.text, language):
        return "no supporting sentence"
    statement = normalize(item.text, language)
    sentences = {normalize(s.text, language) for s in text.sentences}
    if item.answers == ("correct",):
        if statement != normalize(support.text, language):
            return "true statement is not the sentence of the text"
        return None
    if item.answers != ("incorrect",):
        return "a statement is true or false"
    if statement in sentences:
        return "false statement is a sentence of the text"
    if normalize(item.correction, language) != normalize(support.text, language):
        return "false statement is not corrected by its sentence"
    changed = set(_keys(item.text, ru)) - set(_keys(support.text, ru))
    if not changed:
        return "false statement says what the text says"
    return None


def _not_given_problem(question: Question, text: ReadingText, ru: bool) -> str | None:
    item = question.item
    language = text.language
    support = text.sentences[question.sentence]
    if item.answers != (NOT_GIVEN,) or item.text != f"{question.prompt} {GAP}":
        return "a not-given statement is answered 'not given'"
    absent = question.absent
    if not _keys(absent, ru):
        return "a not-given statement names no one"
    a, b = question.start - support.start, question.end - support.start
    if question.prompt != support.text[:a] + absent + support.text[b:]:
        return "not-given statement is not its sentence with one name swapped"
    sentences = {normalize(s.text, language) for s in text.sentences}
    if normalize(question.prompt, language) in sentences:
        return "not-given statement is a sentence of the text"
    if any(occurrences(key, text.body, ru) for key in _keys(absent, ru)):
        return "not-given statement names what the text names"
    if ru:
        named = set().union(*(words.russian_lemmas(k) for k in _keys(absent, ru)))
        if any(words.russian_lemmas(k) & named for k in set(_keys(text.body, ru))):
            return "not-given statement names what the text names"
    return None


def _collocation_problem(question: Question, text: ReadingText, ru: bool) -> str | None:
    item = question.item
    support = text.sentences[question.sentence]
    if item.text.count(GAP) != 1 or not _keys(item.text.replace(GAP, " "), ru):
        return "a collocation is one gap and the word it goes with"
    if not occurrences(item.text.replace(GAP, question.answer), support.text, ru):
        return "collocation not in the supporting sentence"
    for distractor in item.distractors:
        if normalize(distractor, text.language) == normalize(question.answer, text.language):
            return "a distractor is the answer"
        if occurrences(item.text.replace(GAP, distractor), text.body, ru):
            return "distractor collocation in the text"
    return None


def grounded(question: Question, text: ReadingText) -> bool:
    """The bench's measure: the answer (or deciding sentence) is a span of the text."""
    ru = text.language.value == "ru"
    return occurrences(question.answer, text.body, ru) > 0
