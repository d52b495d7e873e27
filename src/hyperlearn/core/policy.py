"""Choosing the next exercise.

The first policy is deliberately simple and honest: practise the weakest unlocked skill around
the learner's level, prefer items on topics they like, avoid recent repeats. The recommender
issue replaces it with ranked, multi-factor policies behind the same kind of result.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hyperlearn.core.items import Item
from hyperlearn.core.language import CEFRLevel
from hyperlearn.core.skills import SkillGraph


@dataclass(frozen=True, slots=True)
class Reason:
    factor: str
    text: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    item: Item
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class LearnerProfile:
    level: CEFRLevel
    interests: frozenset[str]


@dataclass(frozen=True, slots=True)
class WeakestSkillPolicy:
    unlock_threshold: float = 0.6  # prerequisites must reach this mastery first
    mastered_threshold: float = 0.85  # a skill at this mastery needs no more practice for now
    levels_above: int = 1  # how far above the learner's level a skill may be
    repeat_window: int = 30  # an item is not shown again within this many attempts
    # Each of the last `interleave_window` attempts on a skill makes it look this much stronger,
    # so a learner who keeps failing one skill is not stuck on it forever.
    interleave_window: int = 5
    interleave_penalty: float = 0.1
    level_weight: float = 0.3  # per CEFR step between item and learner

    def choose(
        self,
        profile: LearnerProfile,
        graph: SkillGraph,
        candidates: Sequence[Item],
        mastery: Mapping[str, float],
        recent_item_ids: Sequence[str],
        rng: random.Random,
    ) -> Recommendation | None:
        """`recent_item_ids` is the learner's attempt history, oldest first."""
        if not candidates:
            return None
        recent = recent_item_ids[-self.repeat_window :]
        fresh = [item for item in candidates if item.id not in set(recent)]
        pool = fresh or _least_recent(candidates, recent_item_ids)

        by_skill: dict[str, list[Item]] = {}
        for item in pool:
            if item.primary_skill in graph:
                by_skill.setdefault(item.primary_skill, []).append(item)
        if not by_skill:
            return None
        unlocked = [s for s in by_skill if graph.is_unlocked(s, mastery, self.unlock_threshold)]
        # Skills above the learner's level always look weakest; they come only once everything
        # at or below the level is mastered. Nothing open at all (content gaps): the whole pool.
        at_level = [
            s
            for s in unlocked
            if graph[s].level.rank <= profile.level.rank
            and mastery.get(s, 0.0) < self.mastered_threshold
        ]
        max_rank = profile.level.rank + self.levels_above
        eligible = (
            at_level
            or [s for s in unlocked if graph[s].level.rank <= max_rank]
            or unlocked
            or list(by_skill)
        )

        skill_of_item = {item.id: item.primary_skill for item in candidates}
        last_skills = [skill_of_item.get(i) for i in recent_item_ids[-self.interleave_window :]]
        order = {skill_id: n for n, skill_id in enumerate(graph.topological_order())}

        def weakness_key(skill_id: str) -> tuple[float, int, float]:
            pressure = self.interleave_penalty * last_skills.count(skill_id)
            return (mastery.get(skill_id, 0.0) + pressure, order[skill_id], rng.random())

        skill_id = min(sorted(eligible), key=weakness_key)
        skill = graph[skill_id]

        def item_score(item: Item) -> tuple[float, float]:
            liked = len(profile.interests.intersection(item.topics))
            distance = abs(item.level.rank - profile.level.rank)
            return (liked - self.level_weight * distance, rng.random())

        item = max(sorted(by_skill[skill_id], key=lambda i: i.id), key=item_score)
        reasons = [
            Reason(
                "weak_skill",
                f"{skill.name} is your weakest skill that is open to you "
                f"(mastery {round(100 * mastery.get(skill_id, 0.0))}%).",
            )
        ]
        liked_topics = sorted(profile.interests.intersection(item.topics))
        if liked_topics:
            reasons.append(
                Reason("interest", f"It is about {', '.join(liked_topics)}, which you like.")
            )
        if item.level == profile.level:
            reasons.append(Reason("level", f"It is at your level ({profile.level})."))
        return Recommendation(item, tuple(reasons))


def _least_recent(candidates: Sequence[Item], history: Sequence[str]) -> list[Item]:
    """When everything was seen recently, offer the items seen longest ago."""
    last_seen = {item_id: n for n, item_id in enumerate(history)}
    oldest = min(last_seen.get(item.id, -1) for item in candidates)
    return [item for item in candidates if last_seen.get(item.id, -1) == oldest]
