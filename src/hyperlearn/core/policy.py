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
from collections.abc import Callable, Mapping, Sequence
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
        # Per candidate skill: what it unlocks, its level, its prerequisites (as positions in
        # `graph_skill_ids`, padded with -1), so skill need is a handful of array operations.
        self.unlocks = tuple(len(graph.descendants(s)) for s in self.skill_ids)
        self.graph_skill_ids = graph.topological_order()
        graph_pos = {skill_id: n for n, skill_id in enumerate(self.graph_skill_ids)}
        self.graph_skill_levels: IntArray = np.array(
            [graph[s].level.rank for s in self.graph_skill_ids], dtype=np.int64
        )
        self.skill_graph_pos: IntArray = np.array(
            [graph_pos[s] for s in self.skill_ids], dtype=np.int64
        )
        widest = max((len(graph[s].prerequisites) for s in self.skill_ids), default=0)
        self.prerequisites: IntArray = np.full((len(self.skill_ids), max(widest, 1)), -1)
        for row, skill_id in enumerate(self.skill_ids):
            for column, prerequisite in enumerate(graph[skill_id].prerequisites):
                self.prerequisites[row, column] = graph_pos[prerequisite]
        # Items share few distinct topic sets, so interest is scored per set and gathered.
        topic_sets: dict[tuple[str, ...], int] = {}
        self.topic_code: IntArray = np.fromiter(
            (topic_sets.setdefault(item.topics, len(topic_sets)) for item in kept),
            dtype=np.int64,
            count=n,
        )
        self.topic_sets: tuple[tuple[str, ...], ...] = tuple(topic_sets)
        self.topic_ids = tuple(sorted({t for topics in topic_sets for t in topics}))
        topic_pos = {t: n for n, t in enumerate(self.topic_ids)}
        self.topic_matrix = np.zeros((len(self.topic_sets), len(self.topic_ids)), dtype=np.bool_)
        for row, topics in enumerate(self.topic_sets):
            for topic in topics:
                self.topic_matrix[row, topic_pos[topic]] = True
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
    # Whether each answer in `history` was right (same order; may be shorter for old callers).
    outcomes: Sequence[bool] = ()
    # Memory model: P(recall) now of every item the learner has a review state for.
    retrievability: Mapping[str, float] = field(default_factory=dict)
    target_retention: float = 0.9
    band: tuple[float, float] = DEFAULT_BAND
    excluded: frozenset[str] = frozenset()  # reported, withheld or explicitly excluded items
    focus_skills: frozenset[str] = frozenset()  # a teacher's focus for the learner's class
    goal_level: CEFRLevel | None = None
    topic_names: Mapping[str, str] = field(default_factory=dict)  # for reason texts
    # What the learner wrote about their interests, verbatim (untrusted: a policy that passes
    # it to a language model quotes it as data).
    interests_text: str = ""

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
    # Expected learning gain = need x (1 - difficulty + difficulty x fit): the share of the
    # gain that depends on the item's predicted success falling inside the band.
    difficulty: float = 0.6
    review: float = 2.0
    interest: float = 0.4  # per unit of liking: among items that teach alike, the liked one
    dislike: float = 1.5  # per unit of disliking: a disliked topic makes learners skip and quit
    novelty: float = 0.3
    focus: float = 2.0
    massed: float = 0.6  # penalty for the share of the recent window spent on the same skill
    spacing: float = 0.2  # bonus for a skill not practised for a while (saturates in a week)
    band_width: float = 0.15  # predicted-success distance from the band at which fit is 1/e
    unlock_bonus: float = 0.5  # need multiplier for the skill unlocking the most others
    unfinished: float = 0.3  # need floor of a skill not yet mastered
    # Success on a typical item (Elo) that counts as evidence of knowing / not knowing a skill.
    success_known: float = 0.6
    success_unknown: float = 0.35
    # Right answers, net of `wrong_cost` per wrong one, that confirm a skill however slowly the
    # Elo ability catches up with a learner who has since learned it.
    confirmations: float = 10.0
    wrong_cost: float = 0.5
    locked_factor: float = 0.15  # need of a skill whose prerequisites are not yet unlocked
    above_goal_factor: float = 0.3  # need per CEFR step above the learner's goal
    unlock_threshold: float = 0.6  # P(known) of every prerequisite that opens a skill
    # Stricter than mastery learning's 0.95: BKT's P(known) runs ahead of the learner (guessed
    # answers of two-way judgements raise it too), so 0.95 leaves skills just short of mastery.
    mastered: float = 0.99
    repeat_window: int = 30  # no item again within this many answers
    max_run: int = 3  # no more than this many answers in a row on one skill
    # Themed items: considered for the `themed_skills` neediest skills whose need is at least
    # `themed_need_share` of the top one.
    themed_skills: int = 3
    themed_need_share: float = 0.8
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
        allowed = _without_recent(_allowed(state, candidates), state, candidates, c.repeat_window)
        score = np.where(allowed, score, -np.inf)
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
        self,
        state: PolicyState,
        candidates: CandidateSet,
        now: datetime,
        can_build: Callable[[str, str], bool] | None = None,
    ) -> tuple[str, str] | None:
        """(skill, topic) for an item worth generating: one of the skills the learner needs
        most has no fresh item on a topic they like, and `can_build(skill, topic)` says an item
        can be made for it. None when nothing is missing (or nothing can be built)."""
        liked = sorted(
            (t for t, w in state.interests.items() if w > 0.3),
            key=lambda t: (-state.interests[t], t),
        )
        if not liked or not len(candidates):
            return None
        need, _ = self._skill_need(state, candidates)
        allowed = _without_recent(
            _allowed(state, candidates), state, candidates, self.config.repeat_window
        )
        # The neediest skills: close to the top need (a themed item should not pull the learner
        # away from what they need most).
        top = float(need.max())
        for skill_pos in np.argsort(-need, kind="stable")[: self.config.themed_skills]:
            if need[skill_pos] < self.config.themed_need_share * top:
                break
            skill_id = candidates.skill_ids[int(skill_pos)]
            of_skill = allowed & (candidates.skill == skill_pos)
            covered = {
                topic
                for code in np.unique(candidates.topic_code[of_skill])
                for topic in candidates.topic_sets[int(code)]
            }
            for topic in liked:
                if topic not in covered and (can_build is None or can_build(skill_id, topic)):
                    return skill_id, topic
        return None

    # -- scoring -------------------------------------------------------------------------------

    def _skill_need(
        self, state: PolicyState, candidates: CandidateSet, recall: _Recall | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """Need per candidate skill: not yet mastered or fading from memory, more for skills
        that unlock many others, gated by the prerequisites and by the learner's goal level.
        Also returns the mastery estimate now (per candidate skill) that the need comes from."""
        c, graph = self.config, candidates.graph
        recall = recall or _recall(state, candidates)
        known_all = np.fromiter(
            (state.known(s, graph) for s in candidates.graph_skill_ids),
            dtype=np.float64,
            count=len(candidates.graph_skill_ids),
        )
        estimate = np.minimum(
            known_all[candidates.skill_graph_pos], self._success_evidence(state, candidates)
        )
        unlocks = np.log1p(np.asarray(candidates.unlocks, dtype=np.float64))
        most = max(float(unlocks.max(initial=0.0)), math.log1p(1))
        # Mastery now is the estimate times the chance it is still remembered (the memory
        # model's recall of the skill's best-remembered item; 1 before any practice). A skill
        # keeps a floor of need until the estimate reaches `mastered` and while its recall is
        # below the learner's target retention, so that skills the learner almost knows, or is
        # forgetting, are closed off instead of being left just below mastery.
        unfinished = (estimate < c.mastered) | (recall.by_skill < state.target_retention)
        need = (1.0 - estimate * recall.by_skill) + c.unfinished * unfinished
        need *= 1.0 + c.unlock_bonus * unlocks / most
        # Position -1 (padding) reads the appended 1.0: no prerequisite there.
        prerequisite_known = np.append(known_all, 1.0)[candidates.prerequisites].min(axis=1)
        need *= np.where(prerequisite_known >= c.unlock_threshold, 1.0, c.locked_factor)
        above = np.maximum(
            candidates.graph_skill_levels[candidates.skill_graph_pos] - state.goal.rank, 0
        )
        result: FloatArray = need * c.above_goal_factor**above
        return result, estimate * recall.by_skill

    def _success_evidence(self, state: PolicyState, candidates: CandidateSet) -> FloatArray:
        """How strongly the answers say the learner knows each skill, in [0, 1]: the better of
        two signs. BKT's P(known) climbs with every attempt, guessed choices included; a learner
        who still fails half the time has not mastered the skill, whatever it says.

        - Success on a typical item (Elo ability), mapped between what guessing and knowing
          give. It starts from the level prior, so skills below the learner's level need little
          proof; but it moves slowly after many attempts, and lags far behind a learner who
          failed a skill at first and has since learned it.
        - Confirmations: right answers, each wrong answer taking back `wrong_cost` of one, as a
          share of `confirmations`. A handful of lucky answers is not enough, and a skill answered
          right many times counts as known whatever its early misses were."""
        c = self.config
        skills = [state.skills.get(s) for s in candidates.skill_ids]
        n = len(skills)
        success = np.fromiter(
            (1.0 if s is None else 1.0 / (1.0 + math.exp(-s.ability)) for s in skills),
            dtype=np.float64,
            count=n,
        )
        correct = np.fromiter((0 if s is None else s.correct for s in skills), np.float64, n)
        attempts = np.fromiter((0 if s is None else s.attempts for s in skills), np.float64, n)
        low, high = c.success_unknown, c.success_known
        from_success = np.clip((success - low) / (high - low), 0.0, 1.0)
        net_right = correct - c.wrong_cost * (attempts - correct)
        from_answers = np.clip(net_right / max(c.confirmations, 1e-9), 0.0, 1.0)
        result: FloatArray = np.maximum(from_success, from_answers)
        return result

    def mastery(self, state: PolicyState, candidates: CandidateSet, skill_id: str) -> float:
        """The hybrid policy's mastery estimate of one candidate skill."""
        return float(self._skill_need(state, candidates)[1][candidates.skill_ids.index(skill_id)])

    def _tables(self, state: PolicyState, candidates: CandidateSet, now: datetime) -> _Tables:
        """Every factor, per skill, per (skill, difficulty), per topic set or per seen item."""
        c = self.config
        n_skills = len(candidates.skill_ids)
        recall = _recall(state, candidates)
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
        need, mastery_now = self._skill_need(state, candidates, recall)
        per_skill = -c.massed * massed + c.spacing * spacing + c.focus * focus
        n_difficulties = len(candidates.difficulty_values)
        learning = np.repeat(c.need * need, n_difficulties) * (
            1.0 - c.difficulty + c.difficulty * fit
        )
        by_skill_difficulty = np.repeat(per_skill, n_difficulties) + learning

        interest = _topic_interest(candidates, state.interests)
        by_topics = np.where(interest > 0, c.interest, c.dislike) * interest + c.novelty

        target = state.target_retention
        seen = recall.seen
        review = np.clip(
            (target - recall.by_skill[candidates.skill[seen]]) / (target * 0.5), 0.0, 1.0
        )
        return _Tables(
            need,
            mastery_now,
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
            "need": c.need * float(tables.need[k]) * (1.0 - c.difficulty),
            "difficulty": c.need * float(tables.need[k]) * c.difficulty * float(tables.fit[cell]),
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
            if value > 0.05
            and (text := self._text(factor, state, candidates, item, skill_state, tables))
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
        tables: _Tables,
    ) -> str:
        graph = candidates.graph
        skill = graph[item.primary_skill]
        if factor == "need":
            known = float(tables.mastery[candidates.skill_ids.index(skill.id)])
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
            return (
                f"Time to review {skill.name}: your chance of recalling it has fallen to "
                f"{_pct(recall)}."
            )
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


@dataclass(frozen=True, slots=True)
class _Recall:
    seen: IntArray  # positions of the candidates the learner has a review state for
    by_skill: FloatArray  # per candidate skill: best recall among its items (1: never practised)


def _recall(state: PolicyState, candidates: CandidateSet) -> _Recall:
    """A skill is as well remembered as its best-remembered item: practising any of its items
    refreshes the rule, so one fresh item means the skill needs no review."""
    seen_ids = list(state.retrievability)
    positions = np.asarray([candidates.index.get(i, -1) for i in seen_ids], dtype=np.int64)
    values = np.fromiter(
        (state.retrievability[i] for i in seen_ids), dtype=np.float64, count=len(seen_ids)
    )
    keep = positions >= 0
    seen = positions[keep]
    best = np.full(len(candidates.skill_ids), -1.0)
    np.maximum.at(best, candidates.skill[seen], values[keep])
    return _Recall(seen, np.where(best < 0, 1.0, best))


@dataclass(frozen=True, slots=True)
class _Tables:
    need: FloatArray  # per skill
    mastery: FloatArray  # per skill: the estimate the need comes from
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


def _topic_interest(candidates: CandidateSet, interests: Mapping[str, float]) -> FloatArray:
    """Per topic set: the strongest like among its topics, lowered by the strongest dislike."""
    weights = np.fromiter(
        (interests.get(t, 0.0) for t in candidates.topic_ids),
        dtype=np.float64,
        count=len(candidates.topic_ids),
    )
    per_topic = np.where(candidates.topic_matrix, weights[None, :], 0.0)
    if not per_topic.size:
        return np.zeros(len(candidates.topic_sets))
    result: FloatArray = np.maximum(per_topic.max(axis=1), 0.0) + np.minimum(
        per_topic.min(axis=1), 0.0
    )
    return result


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
