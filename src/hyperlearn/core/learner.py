"""A first, honest learner model: one logistic ability per skill, updated online (Elo-style).

P(correct) = sigmoid(mean ability of the item's skills - item difficulty). After each attempt
every skill of the item moves by a step that shrinks with practice. The knowledge-tracing issue
replaces this with a fitted model; the interface (state in, state out) stays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from hyperlearn.core.attempts import require_utc
from hyperlearn.core.items import Item, ItemType
from hyperlearn.core.language import CEFRLevel
from hyperlearn.core.skills import Skill


@dataclass(frozen=True, slots=True)
class SkillState:
    skill_id: str
    ability: float  # logit of P(correct) on a typical item of the skill
    attempts: int = 0
    correct: int = 0
    last_practised: datetime | None = None

    @property
    def mastery(self) -> float:
        return sigmoid(self.ability)


@dataclass(frozen=True, slots=True)
class LearnerModelConfig:
    learning_rate: float = 0.5
    min_learning_rate: float = 0.15
    # Ability per CEFR step between the learner's self-assessed level and the skill's level.
    level_step: float = 1.0
    # Difficulty per CEFR step between an item and its skill.
    item_level_step: float = 0.5
    # Recognising is easier than producing; judgements can be guessed half the time.
    type_difficulty: Mapping[ItemType, float] = field(
        default_factory=lambda: {
            ItemType.JUDGEMENT: -0.5,
            ItemType.CHOICE: -0.3,
            ItemType.CLOZE: 0.0,
            ItemType.CORRECTION: 0.3,
        }
    )


DEFAULT_CONFIG = LearnerModelConfig()


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def initial_state(
    skill: Skill, learner_level: CEFRLevel, config: LearnerModelConfig = DEFAULT_CONFIG
) -> SkillState:
    """Prior from self-assessment: skills below the learner's level start mostly known."""
    return SkillState(skill.id, config.level_step * (learner_level.rank - skill.level.rank))


def item_difficulty(
    item: Item, skill_levels: Mapping[str, CEFRLevel], config: LearnerModelConfig = DEFAULT_CONFIG
) -> float:
    primary = skill_levels.get(item.primary_skill, item.level)
    return config.item_level_step * (item.level.rank - primary.rank) + config.type_difficulty.get(
        item.type, 0.0
    )


def predict(
    item: Item,
    states: Mapping[str, SkillState],
    skill_levels: Mapping[str, CEFRLevel],
    config: LearnerModelConfig = DEFAULT_CONFIG,
) -> float:
    """P(correct) for one item from the states of its skills."""
    abilities = [states[s].ability for s in item.skills if s in states]
    ability = sum(abilities) / len(abilities) if abilities else 0.0
    return sigmoid(ability - item_difficulty(item, skill_levels, config))


def update(
    item: Item,
    correct: bool,
    states: Mapping[str, SkillState],
    skill_levels: Mapping[str, CEFRLevel],
    now: datetime,
    config: LearnerModelConfig = DEFAULT_CONFIG,
) -> dict[str, SkillState]:
    """The new states of the item's skills after one attempt (others are unchanged)."""
    require_utc(now)
    p = predict(item, states, skill_levels, config)
    error = (1.0 if correct else 0.0) - p
    updated: dict[str, SkillState] = {}
    for skill_id in item.skills:
        state = states.get(skill_id, SkillState(skill_id, 0.0))
        rate = max(config.min_learning_rate, config.learning_rate / (1.0 + state.attempts / 10.0))
        updated[skill_id] = replace(
            state,
            ability=state.ability + rate * error,
            attempts=state.attempts + 1,
            correct=state.correct + int(correct),
            last_practised=now,
        )
    return updated
