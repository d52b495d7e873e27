"""Glosses (which words are marked, what a gloss says) and the newer question kinds: "not
given" statements and collocations, with the checker's rejections, in English and Russian."""

from __future__ import annotations

import dataclasses

import pytest

from hyperlearn.content.bank import Bank
from hyperlearn.content.reading import gloss
from hyperlearn.content.reading.grounding import check
from hyperlearn.content.reading.questions import NOT_GIVEN, Kind, Question, generate
from hyperlearn.content.reading.texts import ReadingText, build_text
from hyperlearn.core import GAP, CEFRLevel, Item, ItemType, Language
from tests.reading.test_texts_and_questions import EN_TEXT, RU_TEXT

EN_GLOSS_TEXT = (
    "The committee decided to postpone the referendum. Several members opposed the decision "
    "because the referendum was costly. Nobody expected such a delay."
)
RU_GLOSS_TEXT = (
    "Учёные изучили несколько старых книг о древних городах. В книгах описаны города Сибири. "
    "Эти книги были написаны очень давно."
)


def _at(text: ReadingText, word: str, nth: int = 0) -> int:
    """The offset of the nth occurrence of `word` in the body."""
    start = -1
    for _ in range(nth + 1):
        start = text.body.index(word, start + 1)
    return start


def _kept(raw: str, language: Language, bank: Bank, kind: Kind) -> list[Question]:
    text = build_text(raw, language)
    return [
        q
        for q in generate(text)
        if q.kind is kind and check(q, text, bank.graphs[language], bank.topics) is None
    ]


# ---------------------------------------------------------------- glosses


def test_marks_are_content_words_at_or_above_the_level() -> None:
    text = build_text(EN_GLOSS_TEXT, Language.EN)
    b2 = {m.word for m in gloss.marks(text, CEFRLevel.B2)}
    assert {"postpone", "referendum", "costly"} <= b2
    assert not b2 & {"committee", "the", "decided", "Several"}  # below B2, or function words
    a1 = {m.word for m in gloss.marks(text, CEFRLevel.A1)}
    assert b2 < a1 and "decided" in a1 and "the" not in a1
    for mark in gloss.marks(text, CEFRLevel.A1):
        assert text.body[mark.start : mark.end] == mark.word
        assert mark.level.rank >= CEFRLevel.A1.rank


def test_english_gloss_gives_lemma_form_forms_and_other_sentences() -> None:
    text = build_text(EN_GLOSS_TEXT, Language.EN)
    found = gloss.gloss(text, _at(text, "referendum"))
    assert found is not None
    assert (found.word, found.lemma, found.pos) == ("referendum", "referendum", "noun")
    assert found.form == "singular of “referendum”"
    assert "referendums" in found.forms
    assert found.sentence == "The committee decided to postpone the referendum."
    assert found.examples == (
        "Several members opposed the decision because the referendum was costly.",
    )
    decided = gloss.gloss(text, _at(text, "decided"))
    assert decided is not None
    assert (decided.lemma, decided.pos, decided.form) == (
        "decide",
        "verb",
        "past tense of “decide”",
    )
    assert {"decides", "deciding"} <= set(decided.forms)
    assert decided.examples == ()  # "decision" is another word, not a form of "decide"


def test_russian_gloss_names_the_grammatical_form() -> None:
    text = build_text(RU_GLOSS_TEXT, Language.RU)
    books = gloss.gloss(text, _at(text, "книг"))
    assert books is not None
    assert books.lemma == "книга" and books.pos == "feminine noun"
    assert books.form == "genitive plural of «книга»"
    assert books.forms == ()
    # Both other sentences use a form of "книга" (книгах, книги).
    assert books.examples == (
        "В книгах описаны города Сибири.",
        "Эти книги были написаны очень давно.",
    )
    studied = gloss.gloss(text, _at(text, "изучили"))
    assert studied is not None
    assert studied.lemma == "изучить" and studied.pos == "perfective verb"
    assert studied.form == "past tense, plural of «изучить»"


def test_no_gloss_where_no_content_word_starts() -> None:
    text = build_text(EN_GLOSS_TEXT, Language.EN)
    assert gloss.gloss(text, _at(text, "the")) is None  # a function word
    assert gloss.gloss(text, _at(text, "referendum") + 2) is None  # inside a word
    assert gloss.gloss(text, len(text.body) + 10) is None


def test_segments_rebuild_the_paragraphs() -> None:
    text = build_text(EN_TEXT, Language.EN)
    marks = gloss.marks(text, CEFRLevel.B1)
    runs = gloss.marked_segments(text.body, text.paragraphs, marks)
    assert ["".join(run for run, _ in paragraph) for paragraph in runs] == text.paragraph_texts()
    assert sum(mark is not None for p in runs for _, mark in p) == len(marks) > 0


# ---------------------------------------------------------------- "not given"


@pytest.mark.parametrize(
    ("raw", "language", "name"),
    [
        (EN_TEXT, Language.EN, "Oliver Hartley"),
        (RU_TEXT, Language.RU, "Ольга Лебедева"),  # the verb is feminine: so is the name
    ],
)
def test_not_given_statements_are_about_someone_the_text_never_names(
    raw: str, language: Language, name: str, bank: Bank
) -> None:
    [question] = _kept(raw, language, bank, Kind.NOT_GIVEN)
    text = build_text(raw, language)
    assert question.absent == name and question.prompt.startswith(name)
    assert question.item.answers == (NOT_GIVEN,)
    assert question.answer in ("Anna Wilson", "Анна Вильсон")
    assert all(word not in text.body for word in name.split())
    # No true/false statement is made of the same sentence.
    others = [q for q in generate(text) if q.kind is Kind.TRUE_FALSE]
    assert others and question.sentence not in {q.sentence for q in others}


def _not_given_variant(question: Question, text: ReadingText, name: str) -> Question:
    support = text.sentences[question.sentence]
    a, b = question.start - support.start, question.end - support.start
    statement = support.text[:a] + name + support.text[b:]
    item = dataclasses.replace(question.item, text=f"{statement} {GAP}")
    return dataclasses.replace(question, item=item, prompt=statement, absent=name)


def test_checker_rejects_a_not_given_statement_the_text_does_say(bank: Bank) -> None:
    text = build_text(EN_TEXT, Language.EN)
    [question] = _kept(EN_TEXT, Language.EN, bank, Kind.NOT_GIVEN)
    # Swapping the original name back in gives the text's own sentence.
    same = _not_given_variant(question, text, "Anna Wilson")
    assert check(same, text) == "not-given statement is a sentence of the text"
    # A name the text has elsewhere: the text does say something about them.
    named = _not_given_variant(question, text, "Tom Brown")
    assert check(named, text) == "not-given statement names what the text names"
    half = _not_given_variant(question, text, "Oliver Wilson")
    assert check(half, text) == "not-given statement names what the text names"
    # The statement must be the sentence with only the name swapped.
    edited = dataclasses.replace(question, prompt=question.prompt.replace("small", "big"))
    edited = dataclasses.replace(
        edited, item=dataclasses.replace(question.item, text=f"{edited.prompt} {GAP}")
    )
    assert check(edited, text) == "not-given statement is not its sentence with one name swapped"
    assert check(question, text) is None


def test_checker_rejects_a_russian_name_the_text_has_in_another_form(bank: Bank) -> None:
    text = build_text(RU_TEXT, Language.RU)
    [question] = _kept(RU_TEXT, Language.RU, bank, Kind.NOT_GIVEN)
    # "Лондона" is in the text: "Лондон" is the same name in another case.
    moved = _not_given_variant(question, text, "Ольга Лондон")
    assert check(moved, text) == "not-given statement names what the text names"


def test_exclusive_sentences_get_no_not_given_statement() -> None:
    # "the first woman to ...": about someone else, the statement would be false.
    raw = (
        "Marie Curie was the first woman to win a Nobel Prize in physics. "
        "Pierre Curie worked with her in a small laboratory in Paris for many years."
    )
    text = build_text(raw, Language.EN)
    questions = [q for q in generate(text) if q.kind is Kind.NOT_GIVEN]
    assert [q.answer for q in questions] == ["Pierre Curie"]
    assert questions[0].absent == "Nina Kowalczyk"  # "her" later in the sentence
    assert check(questions[0], text) is None


# ---------------------------------------------------------------- collocations


@pytest.mark.parametrize(("raw", "language"), [(EN_TEXT, Language.EN), (RU_TEXT, Language.RU)])
def test_collocations_come_from_the_text(raw: str, language: Language, bank: Bank) -> None:
    kept = _kept(raw, language, bank, Kind.COLLOCATION)
    assert kept
    text = build_text(raw, language)
    body = text.body.casefold()
    for question in kept:
        item = question.item
        assert item.type is ItemType.CHOICE and len(item.distractors) == 3
        assert item.text.replace(GAP, question.answer).casefold() in body
        for distractor in item.distractors:
            assert item.text.replace(GAP, distractor).casefold() not in body


def test_checker_rejects_a_collocation_the_text_does_not_have(bank: Bank) -> None:
    raw = (
        "Anna Wilson opened a small bakery near the station. "
        "Later she opened a small cafe in the old town."
    )
    text = build_text(raw, Language.EN)
    start = text.body.index("bakery")

    def question(gapped: str, distractors: tuple[str, ...]) -> Question:
        item = Item.create(
            language=Language.EN,
            type=ItemType.CHOICE,
            text=gapped,
            answers=("bakery",),
            distractors=distractors,
            skills=("en.reading_vocabulary",),
            level=CEFRLevel.B1,
        )
        return Question(Kind.COLLOCATION, item, gapped, "bakery", start, start + 6, 0)

    assert check(question("small ___", ("hotel", "shop")), text) is None
    assert check(question("huge ___", ("hotel", "shop")), text) == (
        "collocation not in the supporting sentence"
    )
    # "small cafe" is in the text too: a second right answer.
    assert check(question("small ___", ("cafe", "hotel")), text) == (
        "distractor collocation in the text"
    )
    assert check(question("___", ("cafe", "hotel")), text) == (
        "a collocation is one gap and the word it goes with"
    )
    kept = _kept(EN_TEXT, Language.EN, bank, Kind.COLLOCATION)
    assert ("small ___", "bakery") in {(q.prompt, q.answer) for q in kept}
