"""Every policy passes the same contract; then each policy's own behaviour."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hyperlearn.core import (
    CandidateSet,
    CEFRLevel,
    HybridPolicy,
    Item,
    ItemType,
    Language,
    MasteryPolicy,
    Policy,
    PolicyState,
    RandomPolicy,
    Skill,
    SkillGraph,
    SkillState,
    policy_named,
)
from hyperlearn.core.interests import InterestProfile, Signal, interest_weights
from hyperlearn.core.policy import HybridConfig

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


def item(
    skill_id: str,
    n: int,
    topics: tuple[str, ...] = ("food",),
    level: str = "A1",
    type: ItemType = ItemType.CLOZE,
) -> Item:
    return Item.create(
        language=Language.EN,
        type=type,
        text=f"{skill_id} sentence {n} ___.",
        answers=("x",),
        skills=(skill_id,),
        level=CEFRLevel(level),
        topics=topics,
    )


def bank(per_skill: int = 6) -> list[Item]:
    topics = ("food", "football", "music")
    return [
        item(s, n, topics=(topics[n % 3],))
        for s in ("en.a", "en.b", "en.c", "en.d")
        for n in range(per_skill)
    ]


def states(**known: float) -> dict[str, SkillState]:
    return {
        f"en.{name}": SkillState(f"en.{name}", ability=0.0, known=value)
        for name, value in known.items()
    }


def state(**changes: object) -> PolicyState:
    base = PolicyState(level=CEFRLevel.A1, skills=states(a=0.3, b=0.3, c=0.1, d=0.05))
    return replace(base, **changes)  # type: ignore[arg-type]


class PolicyContract:
    """What every policy promises. Subclasses set `policy`."""

    policy: Policy

    def test_is_deterministic_for_a_fixed_rng(self) -> None:
        candidates = CandidateSet(bank(), GRAPH)
        first = self.policy.rank(state(), candidates, NOW, random.Random(7), limit=8)
        again = self.policy.rank(state(), candidates, NOW, random.Random(7), limit=8)
        assert [r.item.id for r in first] == [r.item.id for r in again]
        assert [r.score for r in first] == [r.score for r in again]

    def test_returns_only_candidates_best_first_with_reasons(self) -> None:
        items = bank()
        candidates = CandidateSet(items, GRAPH)
        ranked = self.policy.rank(state(), candidates, NOW, random.Random(1), limit=10)
        assert len(ranked) == 10
        ids = {i.id for i in items}
        assert all(r.item.id in ids for r in ranked)
        assert len({r.item.id for r in ranked}) == len(ranked)
        scores = [r.score for r in ranked]
        assert scores == sorted(scores, reverse=True)
        assert all(r.reasons and all(reason.text for reason in r.reasons) for r in ranked)

    def test_handles_an_empty_candidate_set(self) -> None:
        assert self.policy.rank(state(), CandidateSet([], GRAPH), NOW, random.Random(1)) == []

    def test_respects_exclusions(self) -> None:
        items = bank()
        candidates = CandidateSet(items, GRAPH)
        excluded = frozenset(i.id for i in items[:-2])
        ranked = self.policy.rank(
            state(excluded=excluded), candidates, NOW, random.Random(1), limit=50
        )
        assert {r.item.id for r in ranked} == {i.id for i in items[-2:]}
        everything = frozenset(i.id for i in items)
        assert self.policy.rank(state(excluded=everything), candidates, NOW, random.Random(1)) == []

    def test_leaves_out_items_of_skills_outside_the_graph(self) -> None:
        stray = item("en.unknown", 1)
        candidates = CandidateSet([*bank(), stray], GRAPH)
        ranked = self.policy.rank(state(), candidates, NOW, random.Random(1), limit=100)
        assert stray.id not in {r.item.id for r in ranked}
        assert len(ranked) == len(bank())


class TestRandomPolicy(PolicyContract):
    policy = RandomPolicy()

    def test_different_seeds_give_different_orders(self) -> None:
        candidates = CandidateSet(bank(), GRAPH)
        orders = {
            tuple(r.item.id for r in self.policy.rank(state(), candidates, NOW, random.Random(s)))
            for s in range(5)
        }
        assert len(orders) > 1


class TestMasteryPolicy(PolicyContract):
    policy = MasteryPolicy()

    def test_practises_the_least_known_open_skill(self) -> None:
        candidates = CandidateSet(bank(), GRAPH)
        ranked = self.policy.rank(state(), candidates, NOW, random.Random(1), limit=6)
        # a and b are open (no prerequisites) and tie on 0.3: curriculum order decides.
        assert {r.item.primary_skill for r in ranked} == {"en.a"}
        weaker_b = state(skills=states(a=0.5, b=0.2, c=0.0, d=0.0))
        top = self.policy.rank(weaker_b, candidates, NOW, random.Random(1), limit=1)[0]
        assert top.item.primary_skill == "en.b"
        assert "95%" in top.reasons[0].text

    def test_moves_on_only_at_095_and_opens_a_skill_once_its_prerequisite_is_mastered(
        self,
    ) -> None:
        candidates = CandidateSet(bank(), GRAPH)
        almost = state(skills=states(a=0.94, b=0.96, c=0.0, d=0.0))
        assert (
            self.policy.rank(almost, candidates, NOW, random.Random(1), limit=1)[
                0
            ].item.primary_skill
            == "en.a"
        )
        done = state(skills=states(a=0.95, b=0.96, c=0.0, d=0.0))
        assert (
            self.policy.rank(done, candidates, NOW, random.Random(1), limit=1)[0].item.primary_skill
            == "en.c"
        )

    def test_skills_above_the_goal_come_last(self) -> None:
        candidates = CandidateSet(bank(), GRAPH)
        # d (B2) is open and unknown, but an A1 learner aims at A2: b comes first.
        everything_open = state(skills=states(a=0.99, b=0.9, c=0.99, d=0.0))
        top = self.policy.rank(everything_open, candidates, NOW, random.Random(1), limit=1)[0]
        assert top.item.primary_skill == "en.b"


class TestHybridPolicy(PolicyContract):
    policy = HybridPolicy()

    def top(self, policy_state: PolicyState, items: list[Item] | None = None) -> Item:
        candidates = CandidateSet(items or bank(), GRAPH)
        return self.policy.rank(policy_state, candidates, NOW, random.Random(3), limit=1)[0].item

    def test_prerequisites_first(self) -> None:
        # c is the least known, but its prerequisite a is not yet open to it.
        assert self.top(state()).primary_skill in {"en.a", "en.b"}

    def test_need_is_weighted_by_what_a_skill_unlocks(self) -> None:
        # a unlocks c and d, b unlocks nothing: at equal mastery a comes first.
        assert self.top(state(interests={})).primary_skill == "en.a"

    def test_prefers_the_desirable_difficulty_band(self) -> None:
        # Same skill, three items: at the skill's level, two levels above, and a judgement.
        learner = state(skills={"en.a": SkillState("en.a", ability=1.6, known=0.5)})
        items = [
            item("en.a", 1, level="A1"),  # p = sigmoid(1.6) = 0.83: inside 0.70-0.85
            item("en.a", 2, level="B1"),  # p = sigmoid(0.6) = 0.65: below the band
            item("en.a", 3, level="A1", type=ItemType.JUDGEMENT),  # p = 0.89: too easy
        ]
        ranked = self.policy.rank(learner, CandidateSet(items, GRAPH), NOW, random.Random(1))
        assert ranked[0].item.id == items[0].id
        assert any(r.factor == "difficulty" and "83%" in r.text for r in ranked[0].reasons)
        # A learner asking for harder work gets the harder item.
        harder = replace(learner, band=(0.55, 0.68))
        ranked = self.policy.rank(harder, CandidateSet(items, GRAPH), NOW, random.Random(1))
        assert ranked[0].item.id == items[1].id

    def test_due_reviews_come_first_with_a_reason(self) -> None:
        items = bank()
        fading = items[7]  # an en.b item
        learner = state(retrievability={fading.id: 0.55, items[13].id: 0.97})
        ranked = self.policy.rank(learner, CandidateSet(items, GRAPH), NOW, random.Random(1))
        assert ranked[0].item.id == fading.id
        review = [r for r in ranked[0].reasons if r.factor == "review"]
        assert review and "55%" in review[0].text

    def test_a_skill_with_one_fresh_item_needs_no_review(self) -> None:
        items = bank()
        # Two en.b items: one faded, one just practised. The rule is fresh: no review.
        learner = state(retrievability={items[7].id: 0.55, items[8].id: 0.97})
        ranked = self.policy.rank(learner, CandidateSet(items, GRAPH), NOW, random.Random(1))
        assert all(r.factor != "review" for r in ranked[0].reasons)

    def test_liked_topics_win_and_disliked_lose(self) -> None:
        items = [item("en.a", 1, ("food",)), item("en.a", 2, ("football",))]
        liked = state(interests={"football": 1.0}, topic_names={"football": "Football"})
        ranked = self.policy.rank(liked, CandidateSet(items, GRAPH), NOW, random.Random(1))
        assert ranked[0].item.topics == ("football",)
        assert any("Football, which you like" in r.text for r in ranked[0].reasons)
        disliked = state(interests={"football": -0.8})
        ranked = self.policy.rank(disliked, CandidateSet(items, GRAPH), NOW, random.Random(1))
        assert ranked[0].item.topics == ("food",)

    def test_no_repeat_within_the_window_unless_nothing_else_is_left(self) -> None:
        items = [item("en.a", n) for n in range(3)]
        seen = state(history=(items[0].id, items[1].id))
        ranked = self.policy.rank(seen, CandidateSet(items, GRAPH), NOW, random.Random(1))
        assert [r.item.id for r in ranked] == [items[2].id]
        all_seen = state(history=tuple(i.id for i in items))
        assert self.policy.rank(all_seen, CandidateSet(items, GRAPH), NOW, random.Random(1))

    def test_no_more_than_max_run_in_a_row_on_one_skill(self) -> None:
        items = bank(per_skill=10)
        a_items = [i for i in items if i.primary_skill == "en.a"]
        run = state(history=tuple(i.id for i in a_items[:3]))
        assert self.top(run, items).primary_skill != "en.a"
        two = state(history=tuple(i.id for i in a_items[:2]))
        assert self.top(two, items).primary_skill == "en.a"

    def test_teacher_focus_lifts_a_skill(self) -> None:
        focused = state(focus_skills=frozenset({"en.b"}))
        top = self.policy.rank(focused, CandidateSet(bank(), GRAPH), NOW, random.Random(1))[0]
        assert top.item.primary_skill == "en.b"
        assert any(r.factor == "focus" for r in top.reasons)

    def test_weights_live_in_one_config(self) -> None:
        learner = state(interests={"football": 1.0})
        items = [item("en.a", 1, ("football",)), item("en.b", 1, ("food",))]
        # Interest outweighing everything else picks the liked item; without it, need decides.
        loud = HybridPolicy(config=HybridConfig(interest=50.0))
        quiet = HybridPolicy(config=HybridConfig(interest=0.0, need=0.0, novelty=0.0))
        candidates = CandidateSet(items, GRAPH)
        assert loud.rank(learner, candidates, NOW, random.Random(1))[0].item.topics == ("football",)
        assert len(quiet.rank(learner, candidates, NOW, random.Random(1))) == 2

    def test_asks_for_a_themed_item_when_nothing_fits_skill_and_interest(self) -> None:
        items = bank()  # topics: food, football, music
        candidates = CandidateSet(items, GRAPH)
        wants_travel = state(interests={"travel": 1.0})
        assert self.policy.themed_request(wants_travel, candidates, NOW) == ("en.a", "travel")
        wants_football = state(interests={"football": 1.0})
        assert self.policy.themed_request(wants_football, candidates, NOW) is None
        assert self.policy.themed_request(state(), candidates, NOW) is None

    def test_many_right_answers_confirm_a_skill_whose_elo_ability_lags(self) -> None:
        candidates = CandidateSet(bank(), GRAPH)
        # Failed at first, right many times since: Elo still says 50%, the answers say known.
        slow = SkillState("en.a", ability=0.0, attempts=30, correct=22, known=0.999)
        learner = state(skills={**states(b=0.3, c=0.1, d=0.05), "en.a": slow})
        assert self.policy.mastery(learner, candidates, "en.a") > 0.99
        # Four lucky answers are not yet proof, whatever BKT says.
        lucky = replace(slow, attempts=4, correct=4)
        learner = state(skills={**states(b=0.3, c=0.1, d=0.05), "en.a": lucky})
        assert self.policy.mastery(learner, candidates, "en.a") < 0.9

    def test_practises_the_least_confirmed_skill_once_all_look_known(self) -> None:
        confirmed = SkillState("en.a", ability=0.0, attempts=14, correct=13, known=0.999)
        unconfirmed = SkillState("en.b", ability=0.0, attempts=3, correct=3, known=0.999)
        skills = {**states(c=0.999, d=0.999), "en.a": confirmed, "en.b": unconfirmed}
        learner = state(skills=skills, goal_level=CEFRLevel.A1)
        assert self.top(learner).primary_skill == "en.b"

    def test_scores_100k_items_and_picks_from_them(self) -> None:
        many = [item(s, n) for s in ("en.a", "en.b", "en.c", "en.d") for n in range(25_000)]
        candidates = CandidateSet(many, GRAPH)
        ranked = self.policy.rank(state(), candidates, NOW, random.Random(1), limit=5)
        assert len(ranked) == 5 and ranked[0].item.primary_skill == "en.a"


def test_policies_by_name() -> None:
    assert policy_named("hybrid").name == "hybrid"
    assert policy_named("mastery").name == "mastery"
    with pytest.raises(ValueError, match="unknown policy 'best'; use one of hybrid, mastery"):
        policy_named("best")


def test_goal_defaults_to_one_level_up() -> None:
    assert state().goal is CEFRLevel.A2
    assert state(level=CEFRLevel.C2).goal is CEFRLevel.C2
    assert state(goal_level=CEFRLevel.B1).goal is CEFRLevel.B1


# -- interest profile ---------------------------------------------------------------------------


def test_stated_topics_weigh_one_and_signals_move_topics() -> None:
    profile = InterestProfile(["football"])
    profile.observe(Signal.LIKE, ["music"], NOW)
    profile.observe(Signal.SKIP, ["food"], NOW)
    weights = profile.weights(NOW)
    assert weights["football"] == 1.0
    assert weights["music"] > 0.5
    assert weights["food"] < 0
    assert "travel" not in weights


def test_signals_fade_with_the_half_life() -> None:
    profile = InterestProfile()
    profile.observe(Signal.LIKE, ["music"], NOW)
    fresh = profile.weights(NOW)["music"]
    later = profile.weights(NOW + timedelta(days=30))["music"]
    # tanh(0.6) then tanh(0.3): one half-life halves the signal before the squashing.
    assert fresh == pytest.approx(0.537, abs=1e-3)
    assert later == pytest.approx(0.291, abs=1e-3)


def test_many_weak_signals_stay_within_bounds_and_skips_can_outweigh_a_stated_topic() -> None:
    events_at = [NOW + timedelta(minutes=n) for n in range(40)]
    profile = InterestProfile(["food"])
    for at in events_at:
        profile.observe(Signal.ANSWER, ["music"], at)
        profile.observe(Signal.SKIP, ["food"], at)
    weights = profile.weights(events_at[-1])
    assert 0 < weights["music"] <= 1.0
    assert -1.0 <= weights["food"] < 0.1


def test_reports_are_about_quality_not_taste() -> None:
    profile = InterestProfile()
    profile.observe(Signal.REPORT, ["music"], NOW)
    assert profile.weights(NOW) == {}


def test_interest_weights_replays_events_and_refuses_naive_time() -> None:
    assert interest_weights(["food"], [], NOW) == {"food": 1.0}
    with pytest.raises(ValueError, match="UTC"):
        InterestProfile().observe(Signal.LIKE, ["food"], datetime(2026, 1, 1))
