"""The topic keyword lexicon (every entry loaded and checked) and keyword tagging."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import yaml

from hyperlearn.content.bank import DATA_DIR
from hyperlearn.content.importing.topics import (
    MAX_TOPICS,
    canonical,
    lexicon,
    read_lexicon_file,
    tag_topics,
    word_forms,
)
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import Language

LANGUAGES = (Language.EN, Language.RU)


def topic_ids() -> list[str]:
    data = yaml.safe_load((DATA_DIR / "topics.yaml").read_text(encoding="utf-8"))
    return [str(t["id"]) for t in data["topics"]]


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return read_lexicon_file()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_topic_has_20_to_60_keywords(data: dict[str, Any], language: Language) -> None:
    per_topic = data[str(language)]
    assert set(per_topic) == set(topic_ids())
    for topic, keywords in per_topic.items():
        assert 20 <= len(keywords) <= 60, (language, topic, len(keywords))
        assert all(isinstance(k, str) and k.strip() == k and k for k in keywords), topic


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_duplicate_keywords(data: dict[str, Any], language: Language) -> None:
    """A keyword (after reduction to lemmas) sits under one topic, unless `shared` says it
    belongs to several, and then it is listed only there."""
    shared = data["shared"][str(language)]
    keys: Counter[tuple[str, ...]] = Counter()
    for keywords in data[str(language)].values():
        for keyword in keywords:
            keys[tuple(canonical(w) for w in keyword.split())] += 1
    for keyword in shared:
        keys[tuple(canonical(w) for w in keyword.split())] += 1
    duplicates = [" ".join(k) for k, n in keys.items() if n > 1]
    assert duplicates == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_shared_keywords_name_real_topics(data: dict[str, Any], language: Language) -> None:
    known = set(topic_ids())
    for keyword, topics in data["shared"][str(language)].items():
        assert len(topics) >= 2, keyword
        assert set(topics) <= known, keyword


def test_russian_keywords_are_dictionary_forms(data: dict[str, Any]) -> None:
    """Every Russian keyword word is a pymorphy3 normal form of itself, so inflected forms of
    it in a sentence find it."""
    analyzer = russian_analyzer()
    keywords = [k for ks in data["ru"].values() for k in ks] + list(data["shared"]["ru"])
    words = {w for k in keywords for w in canonical(k).split()}
    not_lemmas = sorted(
        w for w in words if w not in {canonical(p.normal_form) for p in analyzer.parse(w)}
    )
    assert not_lemmas == []


def test_english_keywords_are_their_own_lemmas(data: dict[str, Any]) -> None:
    """An English keyword word is found by itself (a dictionary form, not a plural that
    lemminflect would reduce to something else)."""
    keywords = [k for ks in data["en"].values() for k in ks] + list(data["shared"]["en"])
    words = {w for k in keywords for w in canonical(k).split()}
    assert sorted(w for w in words if w not in word_forms(w, Language.EN)) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_lexicon_covers_every_topic(language: Language) -> None:
    voted = {t for topics in lexicon(language).phrases.values() for t in topics}
    assert voted == set(topic_ids())


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("The goalkeeper saved a penalty in the last minute.", Language.EN, ("football",)),
        ("She has two cats and a dog.", Language.EN, ("nature",)),
        ("We bought cheap tickets for the train.", Language.EN, ("city", "shopping")),
        ("It was raining, so we stayed in and baked a cake.", Language.EN, ("food", "weather")),
        ("My grandmother lives in a small village.", Language.EN, ("family",)),
        ("The plan did not work.", Language.EN, ()),
        ("I have finished.", Language.EN, ()),
        ("Вратарь пропустил два гола.", Language.RU, ("football",)),
        ("Мы купили дешёвые билеты на поезд.", Language.RU, ("city", "shopping")),
        ("Мама готовит вкусный борщ.", Language.RU, ("family", "food")),
        ("Он получил красную карточку.", Language.RU, ("football",)),
        ("Он быстро сделал домашнее задание.", Language.RU, ("school",)),
        ("Я не знаю, что сказать.", Language.RU, ()),
    ],
)
def test_tagging(text: str, language: Language, expected: tuple[str, ...]) -> None:
    assert tag_topics(text, language) == expected


def test_inflected_forms_are_found() -> None:
    assert tag_topics("Both goalkeepers were injured.", Language.EN) == ("football",)
    assert tag_topics("Хоккеисты ехали на автобусе.", Language.RU) == (
        "city",
        "sports",
    )


def test_shared_keyword_votes_for_each_topic() -> None:
    assert tag_topics("He kicked the ball.", Language.EN) == ("football", "sports")


def test_at_most_two_topics_most_votes_first() -> None:
    text = "The chef cooked rice and fish at the hotel near the airport."
    tags = tag_topics(text, Language.EN)
    assert len(tags) == MAX_TOPICS
    # food: chef, cook, rice, fish; travel: hotel, airport; nature: fish
    assert tags == ("food", "travel")
    assert list(tags) == sorted(tags)
