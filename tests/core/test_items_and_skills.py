from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hyperlearn.core import (
    Attempt,
    CEFRLevel,
    Item,
    ItemType,
    Language,
    Skill,
    SkillGraph,
    SkillGraphError,
    item_id,
)


def skill(id: str, level: CEFRLevel = CEFRLevel.A1, *prerequisites: str) -> Skill:
    return Skill(id, Language.EN, level, id, "A rule.", prerequisites=prerequisites)


def test_item_id_is_stable_and_content_derived() -> None:
    # An exact value: changing the hash would orphan every stored attempt.
    assert item_id(Language.EN, ItemType.CLOZE, "I ___ here.", ("am",)) == "en-9f6f534d851fd1b0"
    a = Item.create(
        language=Language.EN,
        type=ItemType.CLOZE,
        text="I ___ here.",
        answers=("am",),
        skills=("en.verb_be",),
        level=CEFRLevel.A1,
        explanation="one",
    )
    b = Item.create(
        language=Language.EN,
        type=ItemType.CLOZE,
        text="I ___ here.",
        answers=("am",),
        skills=("en.verb_be",),
        level=CEFRLevel.A2,
        explanation="another explanation, topics or level do not change the id",
    )
    assert a.id == b.id
    assert a.id != item_id(Language.EN, ItemType.CHOICE, "I ___ here.", ("am",))
    assert a.id != item_id(Language.RU, ItemType.CLOZE, "I ___ here.", ("am",))


def test_choice_options_include_the_answer_and_distractors() -> None:
    item = Item.create(
        language=Language.EN,
        type=ItemType.CHOICE,
        text="She ___ tea.",
        answers=("drinks",),
        distractors=("drink", "drinking"),
        skills=("en.x",),
        level=CEFRLevel.A1,
    )
    assert sorted(item.options) == ["drink", "drinking", "drinks"]


def test_cefr_levels_are_ordered() -> None:
    assert CEFRLevel.A1.rank == 0
    assert CEFRLevel.C1.rank == 4
    assert CEFRLevel.from_rank(2) is CEFRLevel.B1
    assert CEFRLevel.from_rank(99) is CEFRLevel.C2


def test_graph_orders_prerequisites_first_and_finds_descendants() -> None:
    graph = SkillGraph.build(
        Language.EN,
        [
            skill("en.c", CEFRLevel.B1, "en.b"),
            skill("en.b", CEFRLevel.A2, "en.a"),
            skill("en.a"),
            skill("en.d", CEFRLevel.A2, "en.a"),
        ],
    )
    assert graph.topological_order() == ("en.a", "en.b", "en.d", "en.c")
    assert graph.descendants("en.a") == {"en.b", "en.c", "en.d"}
    assert [s.id for s in graph.roots()] == ["en.a"]
    assert graph.is_unlocked("en.b", {"en.a": 0.7}, threshold=0.6)
    assert not graph.is_unlocked("en.b", {"en.a": 0.5}, threshold=0.6)


@pytest.mark.parametrize(
    ("skills", "message"),
    [
        ([skill("en.a", CEFRLevel.A1, "en.b"), skill("en.b", CEFRLevel.A1, "en.a")], "cycle"),
        ([skill("en.a", CEFRLevel.A1, "en.zzz")], "unknown prerequisite en.zzz"),
        ([skill("en.a"), skill("en.a")], "duplicate"),
        ([skill("en.a"), skill("en.b", CEFRLevel.B1)], "B1 skill without prerequisites"),
        ([skill("ru.a")], "must start with 'en.'"),
    ],
)
def test_graph_rejects_broken_structures(skills: list[Skill], message: str) -> None:
    with pytest.raises(SkillGraphError, match=message):
        SkillGraph.build(Language.EN, skills)


def test_attempts_require_utc() -> None:
    ok = Attempt("l", "i", "a", True, datetime(2026, 1, 1, tzinfo=UTC), "k")
    assert ok.correct
    with pytest.raises(ValueError, match="UTC"):
        Attempt("l", "i", "a", True, datetime(2026, 1, 1), "k")
    with pytest.raises(ValueError, match="UTC"):
        Attempt("l", "i", "a", True, datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=3))), "k")
