"""The pure domain core: types, skill graph, grading, learner model and policies.

Nothing here does I/O, reads the clock or uses global randomness: time (`now`, UTC) and
randomness (`rng`) are arguments. A test enforces the import rules.
"""

from hyperlearn.core.attempts import Attempt, require_utc
from hyperlearn.core.grading import DiffOp, Grade, grade, normalize, same_answer, tokenize
from hyperlearn.core.items import GAP, HYPERLEARN_STARTER, Item, ItemType, Provenance, item_id
from hyperlearn.core.language import CEFRLevel, Language
from hyperlearn.core.learner import LearnerModelConfig, SkillState
from hyperlearn.core.policy import (
    CandidateSet,
    HybridPolicy,
    MasteryPolicy,
    Policy,
    PolicyState,
    RandomPolicy,
    Ranked,
    Reason,
    policy_named,
)
from hyperlearn.core.skills import Skill, SkillGraph, SkillGraphError
from hyperlearn.core.topics import Topic

__all__ = [
    "GAP",
    "HYPERLEARN_STARTER",
    "Attempt",
    "CEFRLevel",
    "CandidateSet",
    "DiffOp",
    "Grade",
    "HybridPolicy",
    "Item",
    "ItemType",
    "Language",
    "LearnerModelConfig",
    "MasteryPolicy",
    "Policy",
    "PolicyState",
    "Provenance",
    "RandomPolicy",
    "Ranked",
    "Reason",
    "Skill",
    "SkillGraph",
    "SkillGraphError",
    "SkillState",
    "Topic",
    "grade",
    "item_id",
    "normalize",
    "policy_named",
    "require_utc",
    "same_answer",
    "tokenize",
]
