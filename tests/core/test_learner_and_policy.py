from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hyperlearn.core import (
    CEFRLevel,
    Item,
    ItemType,
    Language,
    Skill,
    SkillGraph,
)
from hyperlearn.core import learner as model

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def skill(id: str, level: CEFRLevel, *prerequisites: str) -> Skill:
    return Skill(id, Language.EN, level, id.split(".")[1], "A rule.", prerequisites=prerequisites)


GRAPH = SkillGraph.build(
    Language.EN,
    [
        skill("en.a", CEFRLevel.A1),
        skill("en.b", CEFRLevel.A1),
        skill("en.c", CEFRLevel.A2, "en.a"),
        skill("en.d", CEFRLevel.B2, "en.c"),
    ],
)
LEVELS = {s.id: s.level for s in GRAPH.skills.values()}


def item(skill_id: str, n: int, topics: tuple[str, ...] = ("food",), level: str = "A1") -> Item:
    return Item.create(
        language=Language.EN,
        type=ItemType.CLOZE,
        text=f"{skill_id} sentence {n} ___.",
        answers=("x",),
        skills=(skill_id,),
        level=CEFRLevel(level),
        topics=topics,
    )


def test_prior_follows_self_assessed_level() -> None:
    b1 = CEFRLevel.B1
    below = model.initial_state(GRAPH["en.a"], b1).mastery
    above = model.initial_state(GRAPH["en.d"], b1).mastery
    assert below > 0.85
    assert above < 0.3


def test_update_moves_mastery_towards_the_outcome_and_counts() -> None:
    states = {"en.a": model.SkillState("en.a", 0.0)}
    it = item("en.a", 1)
    up = model.update(it, True, states, LEVELS, NOW)["en.a"]
    down = model.update(it, False, states, LEVELS, NOW)["en.a"]
    assert down.mastery < 0.5 < up.mastery
    assert (up.attempts, up.correct, up.last_practised) == (1, 1, NOW)
    assert (down.attempts, down.correct) == (1, 0)
    # Exact value: p = 0.5 for a cloze at the skill's level, step 0.5 * (1 - 0.5).
    assert up.ability == pytest.approx(0.25)


def test_update_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="UTC"):
        model.update(item("en.a", 1), True, {}, LEVELS, datetime(2026, 1, 1))


def test_harder_items_are_predicted_harder() -> None:
    states = {"en.a": model.SkillState("en.a", 0.0)}
    easy = Item.create(
        language=Language.EN,
        type=ItemType.JUDGEMENT,
        text="s",
        answers=("correct",),
        skills=("en.a",),
        level=CEFRLevel.A1,
    )
    hard = item("en.a", 2, level="B1")
    assert model.predict(easy, states, LEVELS) > model.predict(hard, states, LEVELS)


def test_known_follows_bayesian_knowledge_tracing() -> None:
    config = model.DEFAULT_CONFIG
    prior = 0.4
    # One right typed answer: Bayes with slip and the typed guess, then the learning chance.
    posterior = prior * (1 - config.bkt_slip)
    posterior /= posterior + (1 - prior) * config.bkt_guess_typed
    expected = posterior + (1 - posterior) * config.bkt_learn
    states = {"en.a": model.SkillState("en.a", 0.0, known=prior)}
    after = model.update(item("en.a", 1), True, states, LEVELS, NOW)["en.a"]
    assert after.known == pytest.approx(expected)
    wrong = model.update(item("en.a", 1), False, states, LEVELS, NOW)["en.a"]
    assert wrong.known < prior < after.known


def test_a_right_guess_on_a_judgement_is_weaker_evidence_than_a_typed_answer() -> None:
    states = {"en.a": model.SkillState("en.a", 0.0, known=0.4)}
    judged = Item.create(
        language=Language.EN,
        type=ItemType.JUDGEMENT,
        text="A sentence.",
        answers=("correct",),
        skills=("en.a",),
        level=CEFRLevel.A1,
    )
    typed = model.update(item("en.a", 1), True, states, LEVELS, NOW)["en.a"].known
    guessed = model.update(judged, True, states, LEVELS, NOW)["en.a"].known
    assert model.guess_rate(judged) == 0.5
    assert guessed < typed


def test_known_can_reach_mastery_despite_slips() -> None:
    # A learner who knows the skill answers 85% right; P(known) still passes 0.95 (a success
    # rate would never reach it), which is what mastery learning needs.
    state = {"en.a": model.SkillState("en.a", 0.0, known=0.4)}
    outcomes = [True] * 6 + [False] + [True] * 5
    for n, correct in enumerate(outcomes):
        state = model.update(item("en.a", n), correct, state, LEVELS, NOW)
    assert state["en.a"].known > 0.95
