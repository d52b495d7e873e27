"""Choosing the next exercise: one interface, three policies.

A policy ranks a `CandidateSet` (the bank as columns, so 100,000 items score in a few
vectorised passes) for one learner's `PolicyState` (what the learner model, the memory model and
the interest profile say) and explains each choice with `Reason`s:

- `random`: the baseline.
- `mastery`: the adaptive-tutor standard (Cognitive Tutor, OATutor): practise the least-known
  skill whose prerequisites are mastered, until P(known) >= 0.95, in curriculum order.
- `hybrid` (the default): an expected-learning-gain score that adds up the skill's need (low
  mastery, more for skills that unlock many others, prerequisites first), desirable difficulty
  (predicted success inside a target band), due reviews, interest in the item's topics, novelty,
  interleaving and teacher focus, with hard rules for exclusions, repeats and runs of one skill.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hyperlearn.core.items import Item
from hyperlearn.core.language import CEFRLevel
from hyperlearn.core.learner import SkillState, item_difficulty, prior_known
from hyperlearn.core.skills import SkillGraph

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_BAND = (0.70, 0.85)
MASTERED = 0.95  # P(known) at which mastery learning moves on


@dataclass(frozen=True, slots=True)
class Reason:
    factor: str
    contribution: float  # what this factor added to the item's score
    text: str


@dataclass(frozen=True, slots=True)
class Ranked:
    item: Item
    score: float
    reasons: tuple[Reason, ...]


class CandidateSet:
    """Items a policy may choose from, stored as columns.

    Building one is linear in the bank (the service caches it per bank version); items whose
    primary skill is not in the graph are left out, since no learner state describes them."""

    def __init__(self, items: Sequence[Item], graph: SkillGraph) -> None:
        kept = tuple(item for item in items if item.primary_skill in graph)
        self.items = kept
        self.index = {item.id: n for n, item in enumerate(kept)}
        self.skill_ids = tuple(sorted({item.primary_skill for item in kept}))
        skill_pos = {skill_id: n for n, skill_id in enumerate(self.skill_ids)}
        levels = {skill_id: skill.level for skill_id, skill in graph.skills.items()}
        n = len(kept)
        self.skill: IntArray = np.fromiter(
            (skill_pos[item.primary_skill] for item in kept), dtype=np.int64, count=n
        )
        self.difficulty: FloatArray = np.fromiter(
            (item_difficulty(item, levels) for item in kept), dtype=np.float64, count=n
        )
        # Difficulties take few distinct values (level offset plus item type), so factors that
        # depend on skill and difficulty are scored per (skill, difficulty) cell and gathered.
        self.difficulty_values, difficulty_code = np.unique(self.difficulty, return_inverse=True)
        self.skill_difficulty: IntArray = self.skill * len(self.difficulty_values) + np.asarray(
            difficulty_code, dtype=np.int64
        )
        self.unlocks = tuple(len(graph.descendants(s)) for s in self.skill_ids)
        # Items share few distinct topic sets, so interest is scored per set and gathered.
        topic_sets: dict[tuple[str, ...], int] = {}
        self.topic_code: IntArray = np.fromiter(
            (topic_sets.setdefault(item.topics, len(topic_sets)) for item in kept),
            dtype=np.int64,
            count=n,
        )
        self.topic_sets: tuple[tuple[str, ...], ...] = tuple(topic_sets)
        self.graph = graph

    def __len__(self) -> int:
        return len(self.items)

    def positions(self, item_ids: Sequence[str] | frozenset[str]) -> IntArray:
        found = [self.index[i] for i in item_ids if i in self.index]
        return np.asarray(found, dtype=np.int64)


@dataclass(frozen=True)
class PolicyState:
    """What a policy may know about a learner: estimates from their attempts, never more."""

    level: CEFRLevel
    skills: Mapping[str, SkillState]  # learner model, per skill id
    interests: Mapping[str, float] = field(default_factory=dict)  # topic -> [-1, 1]
    history: Sequence[str] = ()  # recently answered item ids, oldest first
    # Memory model: P(recall) now of every item the learner has a review state for.
    retrievability: Mapping[str, float] = field(default_factory=dict)
    target_retention: float = 0.9
    band: tuple[float, float] = DEFAULT_BAND
    excluded: frozenset[str] = frozenset()  # reported, withheld or explicitly excluded items
    focus_skills: frozenset[str] = frozenset()  # a teacher's focus for the learner's class
    goal_level: CEFRLevel | None = None
    topic_names: Mapping[str, str] = field(default_factory=dict)  # for reason texts

    @property
    def goal(self) -> CEFRLevel:
        """The level the learner works towards: stated, else one above their current level."""
        return self.goal_level or CEFRLevel.from_rank(self.level.rank + 1)

    def known(self, skill_id: str, graph: SkillGraph) -> float:
        state = self.skills.get(skill_id)
        if state is not None:
            return state.known
        return prior_known(self.level.rank - graph[skill_id].level.rank)


class Policy(Protocol):
    @property
    def name(self) -> str: ...

    def rank(
        self,
        state: PolicyState,
        candidates: CandidateSet,
        now: datetime,
        rng: random.Random,
        limit: int = 10,
    ) -> list[Ranked]:
        """At most `limit` items, best first, never an excluded one or one outside the set."""
        ...


@dataclass(frozen=True)
class RandomPolicy:
    name: str = "random"

    def rank(
        self,
        state: PolicyState,
        candidates: CandidateSet,
        now: datetime,
        rng: random.Random,
        limit: int = 10,
    ) -> list[Ranked]:
        allowed = _allowed(state, candidates)
        score = np.where(allowed, _jitter(rng, len(candidates)), -np.inf)
        reason = Reason("random", 0.0, "Chosen at random (the baseline policy).")
        return [Ranked(candidates.items[n], float(score[n]), (reason,)) for n in _top(score, limit)]


@dataclass(frozen=True)
class MasteryPolicy:
    """Mastery learning as adaptive tutors run it: skills in curriculum order, up to the
    learner's goal level first; each is practised until P(known) reaches `threshold`, and a
    skill opens once all its prerequisites have."""

    name: str = "mastery"
    threshold: float = MASTERED
    repeat_window: int = 30

    def rank(
        self,
        state: PolicyState,
        candidates: CandidateSet,
        now: datetime,
        rng: random.Random,
        limit: int = 10,
    ) -> list[Ranked]:
        allowed = _allowed(state, candidates)
        allowed = _without_recent(allowed, state, candidates, self.repeat_window)
        graph = candidates.graph
        known = {s: state.known(s, graph) for s in graph.skills}
        order = {s: n for n, s in enumerate(graph.topological_order())}
        goal = state.goal.rank

        def priority(skill_id: str) -> tuple[int, float, int]:
            unlocked = all(known[p] >= self.threshold for p in graph[skill_id].prerequisites)
            open_now = unlocked and known[skill_id] < self.threshold
            in_unit = graph[skill_id].level.rank <= goal
            tier = 0 if open_now and in_unit else 1 if open_now else 2
            return (tier, known[skill_id], order[skill_id])

        ranked_skills = sorted(candidates.skill_ids, key=priority)
        skill_rank = np.empty(len(candidates.skill_ids), dtype=np.float64)
        for n, skill_id in enumerate(ranked_skills):
            skill_rank[candidates.skill_ids.index(skill_id)] = n
        # Whole skills first, items within a skill in random order.
        score = -skill_rank[candidates.skill] + 0.5 * _jitter(rng, len(candidates))
        score = np.where(allowed, score, -np.inf)
        result = []
        for n in _top(score, limit):
            item = candidates.items[n]
            skill = graph[item.primary_skill]
            text = (
                f"{skill.name} is next in your curriculum: you know it with "
                f"{_pct(known[skill.id])} certainty and practise it until "
                f"{_pct(self.threshold)}."
            )
            result.append(Ranked(item, float(score[n]), (Reason("mastery", 1.0, text),)))
        return result


@dataclass(frozen=True)
class HybridConfig:
    """The hybrid policy's weights and rules, in one place."""

    need: float = 3.0
    difficulty: float = 1.5
    review: float = 2.0
    interest: float = 0.8
    novelty: float = 0.3
    focus: float = 2.0
    massed: float = 0.6  # penalty for the share of the recent window spent on the same skill
    spacing: float = 0.2  # bonus for a skill not practised for a while (saturates in a week)
    band_width: float = 0.15  # predicted-success distance from the band at which fit is 1/e
    unlock_bonus: float = 0.5  # need multiplier for the skill unlocking the most others
    locked_factor: float = 0.15  # need of a skill whose prerequisites are not yet unlocked
    above_goal_factor: float = 0.3  # need per CEFR step above the learner's goal
    unlock_threshold: float = 0.6  # P(known) of every prerequisite that opens a skill
    mastered: float = MASTERED
    repeat_window: int = 30  # no item again within this many answers
    max_run: int = 3  # no more than this many answers in a row on one skill
    recent_window: int = 10


@dataclass(frozen=True)
class HybridPolicy:
    name: str = "hybrid"
    config: HybridConfig = field(default_factory=HybridConfig)

    def rank(
        self,
        state: PolicyState,
        candidates: CandidateSet,
        now: datetime,
        rng: random.Random,
        limit: int = 10,
    ) -> list[Ranked]:
        if not len(candidates):
            return []
        c = self.config
        tables = self._tables(state, candidates, now)
        # Most factors depend on (skill, difficulty) or on the topic set only: two gathers.
        score = tables.by_skill_difficulty[candidates.skill_difficulty]
        score = score + tables.by_topics[candidates.topic_code]
        # Ties (a fresh learner, identical items) are broken at random, deterministically.
        score += 1e-6 * _jitter(rng, len(candidates))
        # Items with a review state: due reviews gain, and they are no longer new.
        score[tables.seen] += c.review * tables.review - c.novelty
        score[candidates.positions(state.excluded)] = -np.inf
        fresh = score.copy()
        fresh[candidates.positions(list(state.history[-c.repeat_window :]))] = -np.inf
        if np.isfinite(fresh).any():
            score = fresh
        run_skill = self._long_run(state, candidates)
        if run_skill is not None:
            other = np.where(candidates.skill == run_skill, -np.inf, score)
            if np.isfinite(other).any():
                score = other
        return [
            Ranked(
                candidates.items[n],
                float(score[n]),
                self._reasons(state, candidates, tables, n),
            )
            for n in _top(score, limit)
        ]

    def themed_request(
        self, state: PolicyState, candidates: CandidateSet, now: datetime
    ) -> tuple[str, str] | None:
        """(skill, topic) for an item worth generating: the neediest open skill has no fresh
        item on any topic the learner likes. None when nothing is missing."""
        liked = sorted(
            (t for t, w in state.interests.items() if w > 0.3),
            key=lambda t: (-state.interests[t], t),
        )
        if not liked or not len(candidates):
            return None
        need = self._skill_need(state, candidates)
        skill_pos = int(np.argmax(need))
        allowed = np.ones(len(candidates), dtype=np.bool_)
        allowed[candidates.positions(state.excluded)] = False
        allowed[candidates.positions(list(state.history[-self.config.repeat_window :]))] = False
        of_skill = allowed & (candidates.skill == skill_pos)
        liked_set = set(liked)
        for code in np.unique(candidates.topic_code[of_skill]):
            if liked_set.intersection(candidates.topic_sets[int(code)]):
                return None
        return candidates.skill_ids[skill_pos], liked[0]

    # -- scoring -------------------------------------------------------------------------------

    def _skill_need(self, state: PolicyState, candidates: CandidateSet) -> FloatArray:
        """Need per candidate skill: not yet known, weighted by what it unlocks, gated by its
        prerequisites and by the learner's goal level."""
        c, graph = self.config, candidates.graph
        goal = state.goal.rank
        unlocks = candidates.unlocks
        most = max(max(unlocks, default=0), 1)
        need = np.empty(len(candidates.skill_ids), dtype=np.float64)
        for n, skill_id in enumerate(candidates.skill_ids):
            skill = graph[skill_id]
            value = 1.0 - state.known(skill_id, graph)
            value *= 1.0 + c.unlock_bonus * math.log1p(unlocks[n]) / math.log1p(most)
            if not all(state.known(p, graph) >= c.unlock_threshold for p in skill.prerequisites):
                value *= c.locked_factor
            if skill.level.rank > goal:
                value *= c.above_goal_factor ** (skill.level.rank - goal)
            need[n] = value
        return need

    def _tables(self, state: PolicyState, candidates: CandidateSet, now: datetime) -> _Tables:
        """Every factor, per skill, per (skill, difficulty), per topic set or per seen item."""
        c = self.config
        n_skills = len(candidates.skill_ids)
        ability = np.fromiter(
            (state.skills[s].ability if s in state.skills else 0.0 for s in candidates.skill_ids),
            dtype=np.float64,
            count=n_skills,
        )
        # Predicted success for every (skill, difficulty) pair, as a flat table.
        success = 1.0 / (1.0 + np.exp(candidates.difficulty_values[None, :] - ability[:, None]))
        low, high = state.band
        distance = np.maximum(low - success, 0.0) + np.maximum(success - high, 0.0)
        fit = np.exp(-np.square(distance / c.band_width)).ravel()

        recent = _recent_skills(state, candidates, c.recent_window)
        massed = np.bincount(recent, minlength=n_skills) / max(c.recent_window, 1)
        spacing = np.minimum(
            np.fromiter(
                (_days_since(state.skills.get(s), now) for s in candidates.skill_ids),
                dtype=np.float64,
                count=n_skills,
            )
            / 7.0,
            1.0,
        )
        focus = np.fromiter(
            (s in state.focus_skills for s in candidates.skill_ids),
            dtype=np.float64,
            count=n_skills,
        )
        need = self._skill_need(state, candidates)
        per_skill = c.need * need - c.massed * massed + c.spacing * spacing + c.focus * focus
        n_difficulties = len(candidates.difficulty_values)
        by_skill_difficulty = np.repeat(per_skill, n_difficulties) + c.difficulty * fit

        interest = np.fromiter(
            (_topic_interest(topics, state.interests) for topics in candidates.topic_sets),
            dtype=np.float64,
            count=len(candidates.topic_sets),
        )
        by_topics = c.interest * interest + c.novelty

        seen_ids = list(state.retrievability)
        positions = [candidates.index.get(i, -1) for i in seen_ids]
        recall = np.fromiter(
            (state.retrievability[i] for i in seen_ids), dtype=np.float64, count=len(seen_ids)
        )
        keep = np.asarray(positions, dtype=np.int64) >= 0 if positions else np.zeros(0, bool)
        seen = np.asarray(positions, dtype=np.int64)[keep] if positions else _NO_POSITIONS
        target = state.target_retention
        review = np.clip((target - recall[keep]) / (target * 0.5), 0.0, 1.0)
        return _Tables(
            need,
            fit,
            massed,
            spacing,
            focus,
            interest,
            by_skill_difficulty,
            by_topics,
            seen,
            review,
        )

    def _long_run(self, state: PolicyState, candidates: CandidateSet) -> int | None:
        """The skill of the last `max_run` answers when they were all on one skill."""
        run = _recent_skills(state, candidates, self.config.max_run)
        if len(run) < self.config.max_run or len(set(run.tolist())) != 1:
            return None
        return int(run[0])

    def _reasons(
        self, state: PolicyState, candidates: CandidateSet, tables: _Tables, n: int
    ) -> tuple[Reason, ...]:
        c = self.config
        item = candidates.items[n]
        k = int(candidates.skill[n])
        cell = int(candidates.skill_difficulty[n])
        seen_at = np.flatnonzero(tables.seen == n)
        review = float(tables.review[seen_at[0]]) if len(seen_at) else 0.0
        contributions = {
            "need": c.need * float(tables.need[k]),
            "difficulty": c.difficulty * float(tables.fit[cell]),
            "review": c.review * review,
            "interest": c.interest * float(tables.interest[int(candidates.topic_code[n])]),
            "novelty": 0.0 if len(seen_at) else c.novelty,
            "spacing": c.spacing * float(tables.spacing[k]),
            "focus": c.focus * float(tables.focus[k]),
        }
        skill_state = state.skills.get(item.primary_skill)
        reasons = [
            Reason(factor, round(value, 3), text)
            for factor, value in contributions.items()
            if value > 0.05 and (text := self._text(factor, state, candidates, item, skill_state))
        ]
        reasons.sort(key=lambda r: -r.contribution)
        return tuple(reasons)

    def _text(
        self,
        factor: str,
        state: PolicyState,
        candidates: CandidateSet,
        item: Item,
        skill_state: SkillState | None,
    ) -> str:
        graph = candidates.graph
        skill = graph[item.primary_skill]
        if factor == "need":
            known = state.known(skill.id, graph)
            if skill_state is None or skill_state.attempts == 0:
                text = f"{skill.name} is new to you."
            elif skill_state.attempts >= 3 and skill_state.correct / skill_state.attempts < 0.6:
                text = f"You often miss {skill.name} ({_pct(known)} mastered)."
            else:
                text = f"You are still learning {skill.name} ({_pct(known)} mastered)."
            opens = len(graph.descendants(skill.id))
            if opens:
                text += f" Mastering it opens the way to {opens} more skills."
            return text
        if factor == "difficulty":
            ability = skill_state.ability if skill_state else 0.0
            index = candidates.index[item.id]
            success = 1.0 / (1.0 + math.exp(candidates.difficulty[index] - ability))
            return f"About the right difficulty for you: {_pct(success)} chance to get it right."
        if factor == "review":
            recall = state.retrievability.get(item.id, 1.0)
            return f"Time to review: your chance of recalling it has fallen to {_pct(recall)}."
        if factor == "interest":
            liked = [t for t in item.topics if state.interests.get(t, 0.0) > 0]
            names = ", ".join(state.topic_names.get(t, t) for t in liked)
            return f"It is about {names}, which you like." if names else ""
        if factor == "novelty":
            return "An exercise you have not seen before."
        if factor == "spacing":
            return f"You have not practised {skill.name} for a while."
        if factor == "focus":
            return f"Your teacher asked your class to focus on {skill.name}."
        return ""


_NO_POSITIONS: IntArray = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class _Tables:
    need: FloatArray  # per skill
    fit: FloatArray  # per (skill, difficulty) cell
    massed: FloatArray  # per skill
    spacing: FloatArray  # per skill
    focus: FloatArray  # per skill
    interest: FloatArray  # per topic set
    by_skill_difficulty: FloatArray  # summed score per cell
    by_topics: FloatArray  # summed score per topic set
    seen: IntArray  # positions of items with a review state
    review: FloatArray  # due-review strength per seen item


POLICIES: dict[str, Policy] = {
    "hybrid": HybridPolicy(),
    "mastery": MasteryPolicy(),
    "random": RandomPolicy(),
}
DEFAULT_POLICY = "hybrid"


def policy_named(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown policy {name!r}; use one of {known}") from None


# -- shared rules -------------------------------------------------------------------------------


def _allowed(state: PolicyState, candidates: CandidateSet) -> BoolArray:
    allowed = np.ones(len(candidates), dtype=np.bool_)
    if state.excluded:
        allowed[candidates.positions(state.excluded)] = False
    return allowed


def _without_recent(
    allowed: BoolArray, state: PolicyState, candidates: CandidateSet, window: int
) -> BoolArray:
    """No item again within `window` answers, unless that leaves nothing."""
    recent = candidates.positions(list(state.history[-window:])) if window > 0 else None
    if recent is None or not len(recent):
        return allowed
    fresh = allowed.copy()
    fresh[recent] = False
    return fresh if fresh.any() else allowed


def _recent_skills(state: PolicyState, candidates: CandidateSet, window: int) -> IntArray:
    """Skill positions of the last `window` answered items that are still candidates."""
    if window <= 0:
        return np.zeros(0, dtype=np.int64)
    return candidates.skill[candidates.positions(list(state.history[-window:]))]


def _topic_interest(topics: tuple[str, ...], interests: Mapping[str, float]) -> float:
    """The strongest like among the topics, lowered by the strongest dislike."""
    weights = [interests.get(t, 0.0) for t in topics]
    return max([0.0, *weights]) + min([0.0, *weights])


def _days_since(state: SkillState | None, now: datetime) -> float:
    if state is None or state.last_practised is None:
        return 0.0
    return max(0.0, (now - state.last_practised).total_seconds() / 86400.0)


def _jitter(rng: random.Random, n: int) -> FloatArray:
    """n uniform numbers in [0, 1) drawn from the caller's rng (numpy draws them fast)."""
    return np.random.default_rng(rng.getrandbits(64)).random(n)


def _top(score: FloatArray, limit: int) -> list[int]:
    """Positions of the `limit` highest finite scores, best first."""
    finite = int(np.isfinite(score).sum())
    k = min(limit, finite)
    if k <= 0:
        return []
    part = np.argpartition(-score, k - 1)[:k] if k < len(score) else np.arange(len(score))
    ordered = part[np.argsort(-score[part], kind="stable")]
    return [int(n) for n in ordered if np.isfinite(score[n])][:k]


def _pct(p: float) -> str:
    return f"{round(100 * p)}%"


__all__ = [
    "DEFAULT_BAND",
    "DEFAULT_POLICY",
    "MASTERED",
    "POLICIES",
    "CandidateSet",
    "HybridConfig",
    "HybridPolicy",
    "MasteryPolicy",
    "Policy",
    "PolicyState",
    "RandomPolicy",
    "Ranked",
    "Reason",
    "policy_named",
]
