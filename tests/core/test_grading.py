from __future__ import annotations

import pytest

from hyperlearn.core import CEFRLevel, Item, ItemType, Language, grade, normalize, same_answer
from hyperlearn.core.grading import error_location, tokenize


def make(
    type: ItemType = ItemType.CLOZE,
    text: str = "Yesterday at nine we ___ the match.",
    answers: tuple[str, ...] = ("were watching",),
    language: Language = Language.EN,
    distractors: tuple[str, ...] = (),
) -> Item:
    return Item.create(
        language=language,
        type=type,
        text=text,
        answers=answers,
        skills=(f"{language}.skill",),
        level=CEFRLevel.A2,
        distractors=distractors,
    )


@pytest.mark.parametrize(
    "given",
    [
        "were watching",
        "Were Watching",
        "  were   watching ",
        "were watching.",
        "were\twatching",
        "were\u0000 watching",
    ],
)
def test_typography_never_makes_an_answer_wrong(given: str) -> None:
    assert grade(make(), given).correct


@pytest.mark.parametrize("given", ["was watching", "watched", "were", "", "were watching TV"])
def test_wrong_forms_are_wrong(given: str) -> None:
    result = grade(make(), given)
    assert not result.correct
    assert result.expected == "were watching"


def test_apostrophes_and_quotes_are_unified() -> None:
    item = make(text="She ___ like coffee.", answers=("doesn't",))
    assert grade(item, "doesn\u2019t").correct
    assert grade(item, "doesn`t").correct
    assert normalize("\u00abhi\u00bb", Language.EN) == normalize('"hi"', Language.EN)


def test_any_listed_alternative_is_accepted() -> None:
    item = make(text="She ___ like coffee.", answers=("doesn't", "does not"))
    assert grade(item, "does not").correct
    assert grade(item, "doesn't").correct
    assert not grade(item, "don't").correct


def test_russian_yo_equals_ye() -> None:
    item = make(text="Вчера он ___ домой.", answers=("пришёл",), language=Language.RU)
    assert grade(item, "пришел").correct
    assert grade(item, "ПРИШЁЛ").correct
    assert same_answer("ёлка", "елка", Language.RU)
    # ё/е are only merged for Russian.
    assert not same_answer("ё", "е", Language.EN)


def test_correction_points_at_the_wrong_token() -> None:
    item = make(
        type=ItemType.CORRECTION,
        text="When you called, I watched the game.",
        answers=("When you called, I was watching the game.",),
    )
    assert grade(item, "when you called , I was watching the game").correct
    unchanged = grade(item, item.text)
    assert not unchanged.correct
    # Tokens: when(0) you(1) called(2) ,(3) I(4) watched(5)
    assert unchanged.first_error == 5
    changed = [op for op in unchanged.diff if op.kind != "equal"]
    assert changed[0].given == ("watched",)
    assert changed[0].expected == ("was", "watching")
    assert error_location(item) == (5, 6)


def test_diff_reports_missing_and_extra_words() -> None:
    item = make(type=ItemType.CORRECTION, text="He go home.", answers=("He goes home.",))
    result = grade(item, "He goes to home")
    assert not result.correct
    assert [(op.kind, op.given, op.expected) for op in result.diff if op.kind != "equal"] == [
        ("delete", ("to",), ())
    ]
    assert result.first_error == 2


def test_judgement_accepts_only_its_verdict() -> None:
    item = make(type=ItemType.JUDGEMENT, text="She have a cat.", answers=("incorrect",))
    assert grade(item, "incorrect").correct
    assert grade(item, " Incorrect ").correct
    assert not grade(item, "correct").correct
    assert not grade(item, "x" * 10_000).correct


def test_tokenize_keeps_contractions_and_splits_punctuation() -> None:
    tokens = [t.surface for t in tokenize("I don't know, do you?", Language.EN)]
    assert tokens == ["I", "don't", "know", ",", "do", "you"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("  Don\u2019t   STOP, Ёлка!  ", Language.RU),
        ("He said \u00abhi\u00bb \u2014 twice...", Language.EN),
        ("Straße ist groß.", Language.EN),
        ("x\u0000y\u200bz", Language.EN),
    ],
)
def test_normalize_is_the_joined_token_keys(text: str, language: Language) -> None:
    assert normalize(text, language) == " ".join(t.key for t in tokenize(text, language))
