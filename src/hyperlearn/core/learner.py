"""The online learner model every answer updates: two numbers per skill.

- `ability` (Elo-style logit): P(correct) = sigmoid(mean ability of the item's skills - item
  difficulty). It says how hard an item is for this learner, which is what the recommender's
  desirable-difficulty band needs.
- `known` (Bayesian Knowledge Tracing): P(the skill is known), with slip and a guess rate that
  depends on the item type (a two-way judgement is guessed half the time, a typed answer almost
  never). This is the mastery estimate of mastery learning (Corbett & Anderson 1995): unlike a
  success rate it can reach 0.95 although a learner who knows a skill still slips now and then.

The fitted knowledge-tracing model (hyperlearn.core.kt) refines predictions once there is a log.
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
    known: float = 0.5  # BKT P(known)

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
    # BKT. Learn and slip lie between the per-skill medians pyBKT fits on ASSISTments 2009 and
    # 2015 (learn 0.13 / 0.24, slip 0.19 / 0.14; benchmarks/sim_params.py); the guess of typed
    # answers is small because a typed form is rarely right by chance.
    bkt_learn: float = 0.15
    bkt_slip: float = 0.15
    bkt_guess_typed: float = 0.05
    # Prior P(known) by how many CEFR steps the skill lies below (+) or above (-) the learner's
    # self-assessed level.
    bkt_prior_below: float = 0.85
    bkt_prior_at: float = 0.4
    bkt_prior_above: float = 0.1
    bkt_prior_far_above: float = 0.03


DEFAULT_CONFIG = LearnerModelConfig()


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def initial_state(
    skill: Skill, learner_level: CEFRLevel, config: LearnerModelConfig = DEFAULT_CONFIG
) -> SkillState:
    """Prior from self-assessment: skills below the learner's level start mostly known."""
    gap = learner_level.rank - skill.level.rank
    return SkillState(skill.id, config.level_step * gap, known=prior_known(gap, config))


def prior_known(levels_below: int, config: LearnerModelConfig = DEFAULT_CONFIG) -> float:
    if levels_below > 0:
        return config.bkt_prior_below
    if levels_below == 0:
        return config.bkt_prior_at
    return config.bkt_prior_above if levels_below == -1 else config.bkt_prior_far_above


def guess_rate(item: Item, config: LearnerModelConfig = DEFAULT_CONFIG) -> float:
    """P(correct) without knowing the skill: one over the options, or small for typed answers."""
    options = len(item.options)
    return 1.0 / options if options else config.bkt_guess_typed


def bkt_update(
    known: float, correct: bool, guess: float, config: LearnerModelConfig = DEFAULT_CONFIG
) -> float:
    """P(known) after one answer: Bayes on the answer, then the chance to learn from it."""
    slip = config.bkt_slip
    if correct:
        evidence_known, evidence_unknown = known * (1.0 - slip), (1.0 - known) * guess
    else:
        evidence_known, evidence_unknown = known * slip, (1.0 - known) * (1.0 - guess)
    total = evidence_known + evidence_unknown
    posterior = evidence_known / total if total > 0 else known
    return posterior + (1.0 - posterior) * config.bkt_learn


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
    guess = guess_rate(item, config)
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
            known=bkt_update(state.known, correct, guess, config),
        )
    return updated
