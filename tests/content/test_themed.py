"""Themed items: the shipped templates and lexicons are sound, and every item generated from
them passes the importers' verifier with an answer key the morphology engines computed."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from hyperlearn.content.bank import DATA_DIR, Bank, check_item
from hyperlearn.content.importing.base import Candidate, Evidence
from hyperlearn.content.importing.verifier import verify
from hyperlearn.content.morphology import form_problem
from hyperlearn.content.themed import (
    LICENCE,
    SOURCE,
    ThemedGenerator,
    english_form,
    russian_conjugation,
    russian_form,
)
from hyperlearn.core import GAP, Item, ItemType, Language

SEED = 20260105
PER_PAIR = 2  # draws per supported (skill, topic) pair: well over 500 items in all


@pytest.fixture(scope="module")
def themed() -> ThemedGenerator:
    return ThemedGenerator.load()


def _generate_all(themed: ThemedGenerator, bank: Bank, seed: int) -> list[Item | None]:
    rng = random.Random(seed)
    out: list[Item | None] = []
    for language in Language:
        graph = bank.graphs[language]
        for skill_id, topic_id in sorted(themed.pairs(language)):
            for _ in range(PER_PAIR):
                out.append(themed.generate(language, skill_id, topic_id, rng, graph, bank.topics))
    return out


def test_shipped_themes_have_no_problems(themed: ThemedGenerator, bank: Bank) -> None:
    """Every template names a real skill and fits some topic, every topic exists, every lemma
    is in the engine's dictionary, and every entry can make every form its templates ask."""
    problems = themed.problems(bank.graphs, bank.topics)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("language", "min_skills", "min_topics"), [(Language.EN, 12, 8), (Language.RU, 6, 6)]
)
def test_coverage(
    themed: ThemedGenerator, bank: Bank, language: Language, min_skills: int, min_topics: int
) -> None:
    pairs = themed.pairs(language)
    assert all(skill in bank.graphs[language] for skill, _ in pairs)
    assert all(topic in bank.topics for _, topic in pairs)
    topics_per_skill = Counter(skill for skill, _ in pairs)
    wide = sorted(s for s, n in topics_per_skill.items() if n >= min_topics)
    assert len(wide) >= min_skills, topics_per_skill
    inflected = {
        s
        for s in wide
        if bank.graphs[language][s].answer_forms or bank.graphs[language][s].answer_grammemes
    }
    assert inflected == set(wide), "every themed skill has a form the engines check"


def test_every_generated_item_is_verified(themed: ThemedGenerator, bank: Bank) -> None:
    generated = _generate_all(themed, bank, SEED)
    assert None not in generated, "a supported pair produced nothing"
    items = [item for item in generated if item is not None]
    assert len(items) >= 500
    form_checked = 0
    for item in items:
        graph = bank.graphs[item.language]
        skill = graph[item.primary_skill]
        gold = item.text.replace(GAP, item.answers[0])
        assert verify(Candidate(item, Evidence(gold=gold)), graph, bank.topics) is None, item
        assert check_item(item, graph, bank.topics) == [], item
        assert item.type in (ItemType.CLOZE, ItemType.CHOICE)
        assert len(item.topics) == 1 and (item.primary_skill, item.topics[0]) in themed.pairs(
            item.language
        )
        assert item.level is skill.level
        assert item.provenance.source == SOURCE and item.provenance.licence == LICENCE
        assert item.provenance.record_id.startswith(f"{item.language}.")
        assert item.explanation and "{" not in item.explanation and "{" not in item.text
        if item.type is ItemType.CLOZE:
            assert item.hint and not item.distractors
            assert form_problem(item, skill) is None, item
            form_checked += 1
        else:
            assert 2 <= len(item.distractors) <= 3 and not item.hint
    # The form check is not vacuous: a large share of the items are clozes it applies to.
    assert form_checked >= len(items) // 4
    # Both kinds appear in both languages, from many templates.
    assert {(i.language, i.type) for i in items} == {
        (lang, t)
        for lang in Language
        for t in (
            ItemType.CLOZE,
            ItemType.CHOICE,
        )
    }
    templates = {i.provenance.record_id for i in items}
    assert len(templates) >= 40
    duplicates = len(items) - len({i.id for i in items})
    rate = duplicates / len(items)
    print(f"themed: {len(items)} items, {duplicates} duplicate ids ({rate:.1%})")
    assert rate < 0.1, f"{rate:.1%} of the generated items repeat an earlier one"


def test_generation_is_deterministic(themed: ThemedGenerator, bank: Bank) -> None:
    first = _generate_all(themed, bank, seed=7)
    again = _generate_all(ThemedGenerator.load(), bank, seed=7)
    assert first == again
    other = _generate_all(themed, bank, seed=8)
    assert [i.id for i in first if i] != [i.id for i in other if i]


def test_generate_many_returns_distinct_items(themed: ThemedGenerator, bank: Bank) -> None:
    graph = bank.graphs[Language.EN]
    items = themed.generate_many(
        Language.EN, "en.past_continuous", "football", 10, random.Random(1), graph, bank.topics
    )
    assert len(items) == 10
    assert len({i.id for i in items}) == 10
    assert all("football" in i.topics for i in items)


def test_unsupported_pairs_give_none(themed: ThemedGenerator, bank: Bank) -> None:
    rng = random.Random(0)
    en, ru = bank.graphs[Language.EN], bank.graphs[Language.RU]
    assert not themed.supports(Language.EN, "en.articles_a_an", "football")
    assert (
        themed.generate(Language.EN, "en.articles_a_an", "football", rng, en, bank.topics) is None
    )
    assert themed.generate(Language.EN, "en.no_such_skill", "food", rng, en, bank.topics) is None
    assert (
        themed.generate(Language.EN, "en.past_continuous", "knitting", rng, en, bank.topics) is None
    )
    # A Russian skill asked of the English graph, or of English, is not a pair either.
    assert themed.generate(Language.RU, "ru.dative_case", "food", rng, en, bank.topics) is None
    assert themed.generate(Language.EN, "ru.dative_case", "food", rng, ru, bank.topics) is None
    assert themed.supports(Language.RU, "ru.dative_case", "food")


def test_engines_refuse_forms_that_are_not_the_only_answer() -> None:
    # Two dictionary past forms, two plural spellings: no single answer key.
    assert english_form("learn", "VBD") is None
    assert english_form("bus", "NNS") is None
    assert english_form("break", "VBD") == "broke"
    assert english_form("break", "REG", kind="verb") == "breaked"
    assert english_form("save", "REG", kind="verb") is None  # regular: nothing to over-regularise
    assert english_form("child", "REG", kind="noun") == "childs"
    assert english_form("fast", "CMP") == "faster"
    assert english_form("modern", "CMP") == "more modern"  # not the dictionary's "moderner"
    assert english_form("expensive", "CMPX") == "expensiver"
    assert english_form("watch", "PRES", "3sg") == "watches"
    assert english_form("watch", "PRES*", "3sg") == "watch"
    # Russian: a second locative ("в саду") and homonyms that inflect apart ("стул").
    assert russian_form("сад", "noun", frozenset({"loct"})) is None
    assert russian_form("стул", "noun", frozenset({"nomn", "plur"})) is None
    assert russian_form("стадион", "noun", frozenset({"loct"})) == "стадионе"
    assert russian_form("купить", "verb", frozenset({"impr", "excl", "plur"})) == "купите"
    assert russian_conjugation("читать") == "first"
    assert russian_conjugation("смотреть") == "second"
    assert russian_conjugation("хотеть") is None  # mixed
    assert russian_conjugation("написать") is None  # perfective: no present tense


def _copy_themes(tmp_path: Path) -> Path:
    shutil.copytree(DATA_DIR / "themes", tmp_path / "themes")
    return tmp_path / "themes" / "en.yaml"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "- {text: the goalkeeper, agr: 3sg}",
            "- {text: the goalkeeper, agr: third}",
            ["themes/en.yaml", "lexicon.football.people entry #1", "agr 'third'"],
        ),
        (
            "- {verb: train, rest: on the wet pitch}",
            "- {verb: train, rest: 42}",
            ["themes/en.yaml", "lexicon.football.activities entry #1", "'rest' must be text"],
        ),
        (
            'answer: "{who:was} {act:VBG}"',
            'answer: "{who:was} {action:VBG}"',
            ["themes/en.yaml", "(en.past_continuous.last_night)", "unknown slot 'action'"],
        ),
        (
            'text: "At eight o\'clock last night {who} ___ {act.rest}."',
            'text: "At eight o\'clock last night {who} {act.rest}."',
            ["themes/en.yaml", "(en.past_continuous.last_night)", "exactly one gap"],
        ),
        (
            'answer: "{who:was} {act:VBG}"',
            'answer: "{who:was} {act:VBGX}"',
            ["themes/en.yaml", "(en.past_continuous.last_night)", "unknown English form 'VBGX'"],
        ),
        (
            'text: "Right now {who} ___ {act.rest}."',
            'text: "Right now {who} ___ {act.place}."',
            ["themes/en.yaml", "(en.present_continuous.right_now)", "has no 'place'"],
        ),
    ],
)
def test_a_malformed_entry_is_refused_with_file_and_entry(
    tmp_path: Path, old: str, new: str, expected: list[str]
) -> None:
    _replace(_copy_themes(tmp_path), old, new)
    with pytest.raises(ValueError) as raised:
        ThemedGenerator.load(tmp_path)
    for part in expected:
        assert part in str(raised.value)


def test_a_broken_file_is_refused(tmp_path: Path) -> None:
    path = _copy_themes(tmp_path)
    path.write_text("language: en\nlexicon: [\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"themes/en\.yaml: not valid YAML"):
        ThemedGenerator.load(tmp_path)
    (tmp_path / "themes" / "ru.yaml").unlink()
    _copy_themes(tmp_path / "other")
    (tmp_path / "other" / "themes" / "ru.yaml").unlink()
    with pytest.raises(ValueError, match=r"themes/ru\.yaml: file is missing"):
        ThemedGenerator.load(tmp_path / "other")


def test_problems_catch_unknown_lemmas_and_wrong_agreement(tmp_path: Path, bank: Bank) -> None:
    en = _copy_themes(tmp_path)
    _replace(en, "{verb: kick, rest: a ball against the wall}", "{verb: kickk, rest: a ball}")
    ru = tmp_path / "themes" / "ru.yaml"
    _replace(
        ru,
        "{text: моя сестра, agr: 3sg, gender: femn}",
        "{text: моя сестра, agr: 3sg, gender: masc}",
    )
    problems = ThemedGenerator.load(tmp_path).problems(bank.graphs, bank.topics)
    assert any("football.activities 'kickk': lemminflect does not know" in p for p in problems)
    assert any("'сестра' is not a nominative masc" in p for p in problems)
