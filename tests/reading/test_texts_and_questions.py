"""Texts (bad input, splitting, level) and the grounding checker, in English and Russian."""

from __future__ import annotations

import dataclasses

import pytest

from hyperlearn.content.bank import Bank
from hyperlearn.content.reading.grounding import check, occurrences
from hyperlearn.content.reading.level import text_score
from hyperlearn.content.reading.questions import Kind, Question, generate
from hyperlearn.content.reading.texts import (
    MAX_BYTES,
    TextProblem,
    build_text,
    decode,
    find_text_files,
    read_text_file,
)
from hyperlearn.core import GAP, CEFRLevel, Item, ItemType, Language
from tests.conftest import require_shared_data

EN_TEXT = """The Wilson family moved to Leeds in 1998.

Anna Wilson opened a small bakery near the station. Her cousin Tom Brown delivered the bread
to hotels in London. The bakery sold 300 loaves every morning,
and people queued outside before it opened.

In 2005, the bakery won a national prize for its bread. Local newspapers wrote about the
prize, and tourists started to visit the shop."""

RU_TEXT = """Семья Вильсон переехала в Лидс в 1998 году.

Анна Вильсон открыла маленькую пекарню недалеко от вокзала. Её двоюродный брат Том Браун
развозил хлеб по гостиницам Лондона. Пекарня продавала 300 буханок
каждое утро, и люди стояли в очереди ещё до открытия.

В 2005 году пекарня получила национальную премию за свой хлеб. Местные газеты писали о
премии, и туристы начали приезжать в магазин."""


def _checked(text_raw: str, language: Language, bank: Bank) -> list[tuple[Question, str | None]]:
    text = build_text(text_raw, language)
    return [(q, check(q, text, bank.graphs[language], bank.topics)) for q in generate(text)]


# ---------------------------------------------------------------- bad input


def test_empty_text_is_refused() -> None:
    with pytest.raises(TextProblem, match="empty"):
        build_text("   \n\n  ", Language.EN)


def test_huge_text_is_refused_before_decoding() -> None:
    with pytest.raises(TextProblem, match="too large"):
        decode(b"a" * (MAX_BYTES + 1))
    with pytest.raises(TextProblem, match="too large"):
        build_text("word " * (MAX_BYTES // 5 + 1), Language.EN)


def test_binary_input_is_refused() -> None:
    with pytest.raises(TextProblem, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(TextProblem, match="UTF-8"):
        decode("Привет".encode("cp1251"))


def test_mixed_language_text_is_refused() -> None:
    mixed = EN_TEXT + "\n\n" + RU_TEXT
    with pytest.raises(TextProblem, match="mixes English and Russian"):
        build_text(mixed, Language.EN)


def test_wrong_language_is_named() -> None:
    with pytest.raises(TextProblem, match="looks Russian"):
        build_text(RU_TEXT, Language.EN)


def test_html_is_reduced_to_text() -> None:
    html = (
        "<html><head><title>x</title><script>alert('x')</script></head><body>"
        "<p>The <b>bakery</b> sold 300 loaves &amp; cakes every day.</p>"
        "<p>People <a href='http://e.x'>queued</a> outside.</p></body></html>"
    )
    text = build_text(html, Language.EN)
    assert "<" not in text.body and "alert" not in text.body
    assert text.body.split("\n\n")[-2:] == [
        "The bakery sold 300 loaves & cakes every day.",
        "People queued outside.",
    ]


def test_a_text_without_usable_sentences_yields_no_questions() -> None:
    text = build_text("Hello. Yes! OK.", Language.EN)
    assert text.sentences and not text.usable_sentences
    assert generate(text) == []


# ---------------------------------------------------------------- splitting and level


@pytest.mark.parametrize(("raw", "language"), [(EN_TEXT, Language.EN), (RU_TEXT, Language.RU)])
def test_paragraphs_and_sentences_have_offsets_into_the_body(raw: str, language: Language) -> None:
    text = build_text(raw, language)
    assert len(text.paragraphs) == 3
    assert len(text.sentences) == 6
    for sentence in text.sentences:
        assert text.body[sentence.start : sentence.end] == sentence.text
    assert text.sentences[2].paragraph == 1


def test_abbreviations_do_not_end_sentences() -> None:
    en = build_text("Dr. Smith met Mr. Brown at 5 p.m. on Monday. They talked.", Language.EN)
    assert [s.text for s in en.sentences][-1] == "They talked."
    assert len(en.sentences) == 2
    ru = build_text("Это было в 1998 г. в Москве. Потом он уехал.", Language.RU)
    assert len(ru.sentences) == 2


def test_harder_text_scores_higher() -> None:
    easy = build_text("The cat is on the mat. I like my cat. It is big.", Language.EN)
    hard = build_text(
        "Notwithstanding considerable bureaucratic opposition, the municipality "
        "subsequently ratified the controversial infrastructure proposal.",
        Language.EN,
    )
    easy_score = text_score(easy.sentences, Language.EN)
    hard_score = text_score(hard.sentences, Language.EN)
    assert easy_score is not None and hard_score is not None and easy_score < hard_score


# ---------------------------------------------------------------- generation, both languages


@pytest.mark.parametrize(("raw", "language"), [(EN_TEXT, Language.EN), (RU_TEXT, Language.RU)])
def test_every_kind_is_built_and_grounded(raw: str, language: Language, bank: Bank) -> None:
    checked = _checked(raw, language, bank)
    kept = [q for q, reason in checked if reason is None]
    kinds = {q.kind for q in kept}
    assert {Kind.CLOZE, Kind.WH, Kind.TRUE_FALSE} <= kinds
    text = build_text(raw, language)
    for question in kept:
        assert text.body[question.start : question.end] == question.answer
        assert question.item.skills[0].startswith(f"{language}.reading_")


def test_english_wh_questions_move_the_phrase(bank: Bank) -> None:
    prompts = {q.prompt: q.answer for q, r in _checked(EN_TEXT, Language.EN, bank) if r is None}
    assert prompts.get("When did the Wilson family move to Leeds?") == "1998"
    assert prompts.get("Who opened a small bakery near the station?") == "Anna Wilson"
    assert prompts.get("How many loaves did the bakery sell every morning?") == "300"


def test_russian_wh_questions_move_the_phrase(bank: Bank) -> None:
    prompts = {q.prompt: q.answer for q, r in _checked(RU_TEXT, Language.RU, bank) if r is None}
    assert prompts.get("Когда семья Вильсон переехала в Лидс?") == "в 1998 году"
    assert prompts.get("Кто открыл маленькую пекарню недалеко от вокзала?") == "Анна Вильсон"


def test_false_statements_are_corrected_by_their_sentence(bank: Bank) -> None:
    for language, raw in ((Language.EN, EN_TEXT), (Language.RU, RU_TEXT)):
        text = build_text(raw, language)
        false = [
            q
            for q, r in _checked(raw, language, bank)
            if r is None and q.kind is Kind.TRUE_FALSE and q.item.answers == ("incorrect",)
        ]
        assert false
        for question in false:
            assert question.item.correction == text.sentences[question.sentence].text
            assert question.item.text not in text.body


# ---------------------------------------------------------------- the checker rejects


def _a_wh(bank: Bank, language: Language = Language.EN) -> tuple[Question, str]:
    raw = EN_TEXT if language is Language.EN else RU_TEXT
    question = next(q for q, r in _checked(raw, language, bank) if r is None and q.kind is Kind.WH)
    return question, raw


def _with(question: Question, **changes: object) -> Question:
    return dataclasses.replace(question, **changes)  # type: ignore[arg-type]


def _item(question: Question, text: str, answers: tuple[str, ...], **extra: object) -> Item:
    return Item.create(
        language=question.item.language,
        type=question.item.type,
        text=text,
        answers=answers,
        skills=question.item.skills,
        level=question.item.level,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("language", [Language.EN, Language.RU])
def test_checker_rejects_an_answer_not_in_the_text(bank: Bank, language: Language) -> None:
    question, raw = _a_wh(bank, language)
    text = build_text(raw, language)
    fake = "Jonathan Smithers" if language is Language.EN else "Джонатан Смизерс"
    item = _item(question, question.item.text, (fake,), distractors=question.item.distractors)
    bad = _with(question, answer=fake, item=item)
    assert check(bad, text) == "answer not in the text"


def test_checker_rejects_an_answer_given_away_by_the_question(bank: Bank) -> None:
    text = build_text(EN_TEXT, Language.EN)
    question = next(
        q for q, r in _checked(EN_TEXT, Language.EN, bank) if r is None and q.answer == "1998"
    )
    leaked = "When in 1998 did the Wilson family move to Leeds?"
    bad = _with(question, prompt=leaked)
    assert check(bad, text) == "answer given away by the question"


def test_checker_rejects_an_answer_that_appears_twice_ambiguously() -> None:
    raw = (
        "Anna Wilson opened a bakery in 1998. Anna Wilson opened a café in 2001.\n\n"
        "Tom Brown sold bread."
    )
    text = build_text(raw, Language.EN)
    first = text.sentences[0]
    start = first.start
    item = Item.create(
        language=Language.EN,
        type=ItemType.CHOICE,
        text=f"Who opened something? {GAP}",
        answers=("Anna Wilson",),
        distractors=("Tom Brown", "Mary Jones"),
        skills=("en.reading_comprehension",),
        level=CEFRLevel.B1,
    )
    question = Question(Kind.WH, item, "Who opened something?", "Anna Wilson", start, start + 11, 0)
    assert check(question, text) == "answer ambiguous in the text"
    # The question's own words ("bakery") point at one sentence: then it is not ambiguous.
    clear = _with(question, prompt="Who opened a bakery?")
    assert check(clear, text) is None


def test_checker_rejects_offsets_that_do_not_hold_the_answer(bank: Bank) -> None:
    question, raw = _a_wh(bank)
    text = build_text(raw, Language.EN)
    assert check(_with(question, start=question.start + 1), text) == (
        "answer not in the supporting sentence"
    )


def test_checker_rejects_a_distractor_that_is_in_the_supporting_sentence(bank: Bank) -> None:
    text = build_text(EN_TEXT, Language.EN)
    question = next(
        q
        for q, r in _checked(EN_TEXT, Language.EN, bank)
        if r is None and q.kind is Kind.WH and q.answer == "1998"
    )
    item = _item(question, question.item.text, ("1998",), distractors=("Leeds", "2001"))
    assert check(_with(question, item=item), text) == "distractor in the supporting sentence"


def test_checker_rejects_a_gap_whose_distractor_restores_the_sentence(bank: Bank) -> None:
    text = build_text(EN_TEXT, Language.EN)
    cloze = next(
        q for q, r in _checked(EN_TEXT, Language.EN, bank) if r is None and q.kind is Kind.CLOZE
    )
    item = _item(
        cloze, cloze.item.text, cloze.item.answers, distractors=(cloze.answer.upper(), "xyz")
    )
    assert check(_with(cloze, item=item), text) == "a distractor restores the sentence"


def test_checker_rejects_a_false_statement_that_the_text_makes(bank: Bank) -> None:
    text = build_text(EN_TEXT, Language.EN)
    false = next(
        q
        for q, r in _checked(EN_TEXT, Language.EN, bank)
        if r is None and q.kind is Kind.TRUE_FALSE and q.item.answers == ("incorrect",)
    )
    sentence = text.sentences[false.sentence].text
    other = next(s.text for s in text.sentences if s.text != sentence)
    item = _item(false, other, ("incorrect",), correction=sentence)
    assert check(_with(false, item=item), text) == "false statement is a sentence of the text"


def test_occurrences_respect_token_boundaries() -> None:
    assert occurrences("art", "The art of Bart", language_ru=False) == 1
    assert occurrences("ёлка", "Елка и ёлка", language_ru=True) == 2


# ---------------------------------------------------------------- OneStopEnglish files


def test_onestop_layout_is_read_with_levels() -> None:
    root = require_shared_data("texts/onestopenglish")
    files = list(find_text_files([root]))
    assert len(files) == 3 * 189
    assert {f.label for f in files} == {"elementary", "intermediate", "advanced"}
    intermediate = next(f for f in files if f.label == "intermediate")
    raw = read_text_file(intermediate)
    assert not raw.lstrip().startswith("Intermediate")
    text = build_text(raw, Language.EN, title=intermediate.title)
    assert text.usable_sentences
