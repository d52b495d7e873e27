"""Simulated learners: which policy teaches fastest, keeps knowledge longest, loses fewest sessions.

Each synthetic learner has a hidden state the policies never see. Policies see only what the
product sees: the answers (right or wrong), skips, likes and dislikes, folded into the same
online learner model (`core.learner`: Elo ability and BKT P(known)), FSRS memory model
(`core.memory`) and interest profile (`core.interests`) as in the service.

The hidden model, per skill s (a logit "ability" theta_s; P(right on item i) = guess_i +
(1 - guess_i - slip) * sigmoid(theta_s,eff - b_i)):

- Start: from the learner's true CEFR level: skills below it are mostly known, at it partly,
  above it hardly (`ability_below/at/above`, with spread `ability_sd`).
- Learning: each answer (with feedback) adds `learn_rate * gate * gain(p)` to theta_s, where p
  is the hidden chance of knowing the answer. `gain` peaks at `optimal_success` (0.85, the
  "eighty-five percent rule", Wilson et al. 2019, Nature Communications 10:4646) and keeps a
  floor for items far too hard or too easy. `gate` shrinks learning while prerequisites are
  unmastered (down to `prerequisite_floor`).
- Forgetting: what was learned in practice decays on the FSRS power curve
  R = (1 + 19/81 t / S) ^ -0.5 towards the starting ability; each practice consolidates it and
  raises the stability S, more when it is spaced (R lower at the time), as in the spacing effect.
- Engagement: each learner likes some topics (and states some of them at onboarding) and
  dislikes others. On a disliked topic they may skip the exercise (a wasted step) and are more
  likely to quit the session (the rest of the day's session is lost); they like liked items
  now and then. Quitting is also likelier after a wrong answer.

Default parameters: slip and the speed of learning follow the medians pyBKT fits per skill on
the ASSISTments 2009 and 2015 logs (`benchmarks/sim_params.py`: slip 0.14-0.19, 4-8 attempts to
learn a skill); the rest are stated assumptions, all in `SimulationConfig`.

Metrics per policy (mean over seeds of the mean over learners, with a 95% t-interval over
seeds): hidden mastery of the target skills (A1 up to `target_level`) after the steps; steps
until all of them are mastered at once (learners who never get there count as `steps`, and
`reached_mastery` gives the share who did); mean hidden mastery of the target skills 30 days
after the last step; and the share of sessions the learner quit early.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
from scipy import stats

from hyperlearn.core import (
    CandidateSet,
    CEFRLevel,
    Item,
    ItemType,
    Policy,
    PolicyState,
    SkillGraph,
    policy_named,
)
from hyperlearn.core import learner as learner_model
from hyperlearn.core.interests import InterestProfile, Signal
from hyperlearn.core.memory import MemoryModel, ReviewState, rating_for

FloatArray = npt.NDArray[np.float64]

START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
METRICS = ("mastery_after_steps", "steps_to_mastery", "retention_30d", "dropouts")


@dataclass(frozen=True)
class SimulationConfig:
    learners: int = 200
    # Long enough for learners under every policy to master all target skills, so that
    # steps-to-mastery is measured rather than cut off at the horizon.
    steps: int = 1600
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    target_level: CEFRLevel = CEFRLevel.B1
    # True starting levels and their shares.
    level_mix: tuple[tuple[CEFRLevel, float], ...] = ((CEFRLevel.A1, 0.5), (CEFRLevel.A2, 0.5))
    session_length: int = 20  # exercises per daily session
    # Hidden knowledge.
    ability_below: float = 3.5
    ability_at: float = 0.5
    ability_above: float = -2.0
    ability_sd: float = 1.0
    item_noise_sd: float = 0.3  # hidden item difficulty around the policies' own estimate
    slip: float = 0.15
    guess_typed: float = 0.02
    learn_rate: float = 1.0
    learn_floor: float = 0.3
    optimal_success: float = 0.85
    optimal_width: float = 0.35
    prerequisite_needed: float = 0.8
    prerequisite_floor: float = 0.15
    initial_stability_days: float = 1.0
    spacing_gain: float = 3.0
    massed_gain: float = 0.05
    mastered: float = 0.95
    retention_days: float = 30.0
    # Engagement.
    liked_topics: int = 3
    stated_topics: int = 2
    disliked_topics: int = 3
    skip_disliked: float = 0.3
    quit_base: float = 0.005
    quit_disliked: float = 0.08
    quit_wrong: float = 0.01
    quit_liked: float = -0.01
    like_liked: float = 0.3
    dislike_disliked: float = 0.2
    target_retention: float = 0.9

    def __post_init__(self) -> None:
        if self.learners < 1 or self.steps < 1 or not self.seeds:
            raise ValueError("a simulation needs at least one learner, one step and one seed")
        if self.stated_topics > self.liked_topics:
            raise ValueError("stated_topics cannot exceed liked_topics")


@dataclass(frozen=True, slots=True)
class LearnerOutcome:
    mastery_after_steps: float
    steps_to_mastery: int | None  # None: not all target skills mastered within the steps
    retention_30d: float
    sessions: int
    quits: int
    skips: int
    mastered_share: float  # of the target skills, mastered after the last step


@dataclass(frozen=True)
class PolicyResult:
    mastery_after_steps: float
    steps_to_mastery: float
    retention_30d: float
    dropouts: float
    reached_mastery: float
    ci95: dict[str, tuple[float, float]]
    per_seed: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationReport:
    config: SimulationConfig
    n_items: int
    n_target_skills: int
    policies: dict[str, PolicyResult]

    def to_json(self) -> dict[str, object]:
        config = asdict(self.config)
        config["target_level"] = str(self.config.target_level)
        config["level_mix"] = [[str(level), share] for level, share in self.config.level_mix]
        return {
            "config": config,
            "n_items": self.n_items,
            "n_target_skills": self.n_target_skills,
            "policies": {
                name: {
                    "mastery_after_steps": r.mastery_after_steps,
                    "steps_to_mastery": r.steps_to_mastery,
                    "retention_30d": r.retention_30d,
                    "dropouts": r.dropouts,
                    "reached_mastery": r.reached_mastery,
                    "ci95": {k: list(v) for k, v in r.ci95.items()},
                    "per_seed": r.per_seed,
                }
                for name, r in self.policies.items()
            },
        }


@dataclass(frozen=True)
class _World:
    """What one seed fixes for every policy: the learners and the items' hidden difficulty."""

    items: tuple[Item, ...]
    graph: SkillGraph
    topics: tuple[str, ...]
    config: SimulationConfig
    seed: int


def simulate(
    items: Sequence[Item],
    graph: SkillGraph,
    topics: Sequence[str],
    policies: Sequence[str | Policy],
    config: SimulationConfig,
    workers: int = 1,
    on_done: Callable[[str, int], None] | None = None,
) -> SimulationReport:
    """Run every policy on the same learners (per seed) and summarise; `on_done(policy, seed)`
    reports progress. A policy is a core policy's name or a policy object (e.g. an `LLMPolicy`),
    reported under its `.name`. With `workers` > 1 the (policy, seed) runs of names go to
    separate processes; policy objects (a model, a client, counters) always run in this
    process, while the workers run the names."""
    names = [p if isinstance(p, str) else p.name for p in policies]
    for policy in policies:
        if isinstance(policy, str):
            policy_named(policy)  # unknown names fail before any work
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be distinct: {names}")
    usable = tuple(i for i in items if i.primary_skill in graph)
    if not usable:
        raise ValueError("no items of the skill graph to practise")
    jobs = [
        (policy, _World(usable, graph, tuple(sorted(topics)), config, seed))
        for seed in config.seeds
        for policy in policies
    ]
    outcomes: dict[tuple[str, int], list[LearnerOutcome]] = {}

    def run_here(policy: Policy, world: _World) -> None:
        outcomes[(policy.name, world.seed)] = _run_world(policy, world)
        if on_done:
            on_done(policy.name, world.seed)

    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(_run_world, policy, world): (policy, world.seed)
                for policy, world in jobs
                if isinstance(policy, str)
            }
            for policy, world in jobs:
                if not isinstance(policy, str):
                    run_here(policy, world)
            for future, key in futures.items():
                outcomes[key] = future.result()
                if on_done:
                    on_done(*key)
    else:
        for policy, world in jobs:
            run_here(policy_named(policy) if isinstance(policy, str) else policy, world)
    target = _target_skills(graph, config.target_level)
    return SimulationReport(
        config=config,
        n_items=len(usable),
        n_target_skills=len(target),
        policies={name: _summarise(name, outcomes, config) for name in names},
    )


def _summarise(
    name: str, outcomes: Mapping[tuple[str, int], list[LearnerOutcome]], config: SimulationConfig
) -> PolicyResult:
    per_seed: dict[str, list[float]] = {m: [] for m in (*METRICS, "reached_mastery")}
    for seed in config.seeds:
        runs = outcomes[(name, seed)]
        per_seed["mastery_after_steps"].append(
            float(np.mean([r.mastery_after_steps for r in runs]))
        )
        per_seed["steps_to_mastery"].append(
            float(np.mean([r.steps_to_mastery or config.steps for r in runs]))
        )
        per_seed["retention_30d"].append(float(np.mean([r.retention_30d for r in runs])))
        per_seed["dropouts"].append(
            sum(r.quits for r in runs) / max(1, sum(r.sessions for r in runs))
        )
        per_seed["reached_mastery"].append(
            float(np.mean([r.steps_to_mastery is not None for r in runs]))
        )
    means = {m: float(np.mean(v)) for m, v in per_seed.items()}
    return PolicyResult(
        mastery_after_steps=means["mastery_after_steps"],
        steps_to_mastery=means["steps_to_mastery"],
        retention_30d=means["retention_30d"],
        dropouts=means["dropouts"],
        reached_mastery=means["reached_mastery"],
        ci95={m: _interval(v) for m, v in per_seed.items()},
        per_seed=per_seed,
    )


def _interval(values: Sequence[float]) -> tuple[float, float]:
    """95% t-interval of the mean over seeds (a point when there is one seed)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return (mean, mean)
    half = float(stats.t.ppf(0.975, len(values) - 1)) * float(np.std(values, ddof=1))
    half /= math.sqrt(len(values))
    return (mean - half, mean + half)


def _target_skills(graph: SkillGraph, target: CEFRLevel) -> list[str]:
    return [s for s in graph.topological_order() if graph[s].level.rank <= target.rank]


def _run_world(named: str | Policy, world: _World) -> list[LearnerOutcome]:
    policy = policy_named(named) if isinstance(named, str) else named
    candidates = CandidateSet(world.items, world.graph)
    setup = np.random.default_rng([world.seed, 0])
    levels = {s: skill.level for s, skill in world.graph.skills.items()}
    difficulty = {
        item.id: learner_model.item_difficulty(item, levels)
        + setup.normal(0.0, world.config.item_noise_sd)
        for item in world.items
    }
    return [
        _run_learner(policy, candidates, world, difficulty, index)
        for index in range(world.config.learners)
    ]


class _Hidden:
    """One synthetic learner's true knowledge and tastes (never shown to a policy)."""

    def __init__(self, world: _World, rng: np.random.Generator) -> None:
        c, graph = world.config, world.graph
        shares = np.array([share for _, share in c.level_mix], dtype=np.float64)
        pick = int(rng.choice(len(shares), p=shares / shares.sum()))
        self.level = c.level_mix[pick][0]
        self.skill_ids = list(graph.topological_order())
        self.pos = {s: n for n, s in enumerate(self.skill_ids)}
        start = []
        for skill_id in self.skill_ids:
            gap = self.level.rank - graph[skill_id].level.rank
            mean = c.ability_below if gap > 0 else c.ability_at if gap == 0 else c.ability_above
            start.append(rng.normal(mean, c.ability_sd))
        self.base = np.array(start, dtype=np.float64)  # knowledge from before: does not fade
        self.theta = self.base.copy()
        self.stability = np.full(len(start), c.initial_stability_days)
        self.last = np.zeros(len(start))  # days since START of the last practice
        self.prerequisites = [[self.pos[p] for p in graph[s].prerequisites] for s in self.skill_ids]
        order = list(rng.permutation(len(world.topics)))
        liked = [world.topics[n] for n in order[: c.liked_topics]]
        self.liked = frozenset(liked)
        self.stated = tuple(liked[: c.stated_topics])
        self.disliked = frozenset(
            world.topics[n] for n in order[c.liked_topics : c.liked_topics + c.disliked_topics]
        )
        self.config = c

    def effective(self, day: float) -> FloatArray:
        """Ability now: the practised part fades on the power curve towards the base."""
        elapsed = np.maximum(day - self.last, 0.0)
        recall = (1.0 + (19.0 / 81.0) * elapsed / self.stability) ** -0.5
        gained = np.maximum(self.theta - self.base, 0.0)
        result: FloatArray = np.minimum(self.theta, self.base) + gained * recall
        return result

    def practise(self, skill: int, difficulty: float, day: float) -> None:
        c = self.config
        now = self.effective(day)
        elapsed = max(day - self.last[skill], 0.0)
        recall = (1.0 + (19.0 / 81.0) * elapsed / self.stability[skill]) ** -0.5
        p = _sigmoid(now[skill] - difficulty)
        gain = c.learn_floor + (1.0 - c.learn_floor) * math.exp(
            -(((p - c.optimal_success) / c.optimal_width) ** 2)
        )
        gate = 1.0
        for prerequisite in self.prerequisites[skill]:
            mastery = _sigmoid(now[prerequisite])
            gate = min(gate, max(c.prerequisite_floor, min(1.0, mastery / c.prerequisite_needed)))
        self.theta[skill] = now[skill] + c.learn_rate * gate * gain
        self.stability[skill] *= 1.0 + c.spacing_gain * (1.0 - recall) + c.massed_gain
        self.last[skill] = day


def _run_learner(
    policy: Policy,
    candidates: CandidateSet,
    world: _World,
    difficulty: Mapping[str, float],
    index: int,
) -> LearnerOutcome:
    c, graph = world.config, world.graph
    # The learner (hidden tastes and knowledge) depends on the seed and index only, so every
    # policy meets the same learners; answers draw from a stream of their own.
    hidden = _Hidden(world, np.random.default_rng([world.seed, 1, index]))
    chance = np.random.default_rng([world.seed, 2, index])
    policy_rng = random.Random(world.seed * 1_000_003 + index)
    target = np.array([hidden.pos[s] for s in _target_skills(graph, c.target_level)])
    mastered_logit = math.log(c.mastered / (1.0 - c.mastered))

    levels = {s: skill.level for s, skill in graph.skills.items()}
    skills = {s: learner_model.initial_state(graph[s], hidden.level) for s in graph.skills}
    memory = MemoryModel()
    reviews: dict[str, ReviewState] = {}
    # Review states as arrays, so recall of every reviewed item is one vectorised call.
    reviewed: list[str] = []
    slot: dict[str, int] = {}
    stability = np.zeros(len(world.items))
    last_review = np.zeros(len(world.items))  # days since START
    profile = InterestProfile(hidden.stated)
    history: deque[str] = deque(maxlen=60)
    outcomes: deque[bool] = deque(maxlen=60)

    day, in_session, sessions, quits, skips = 0, 0, 1, 0, 0
    reached: int | None = None
    for step in range(1, c.steps + 1):
        now = START + timedelta(days=day, minutes=in_session)
        state = PolicyState(
            level=hidden.level,
            skills=skills,
            interests=profile.weights(now),
            history=tuple(history),
            outcomes=tuple(outcomes),
            retrievability=dict(
                zip(
                    reviewed,
                    memory.recall_curve(
                        day + in_session / 1440.0 - last_review[: len(reviewed)],
                        stability[: len(reviewed)],
                    ).tolist(),
                    strict=True,
                )
            ),
            target_retention=c.target_retention,
            goal_level=c.target_level,
        )
        item = policy.rank(state, candidates, now, policy_rng, limit=1)[0].item
        topics = set(item.topics)
        disliked, liked = bool(topics & hidden.disliked), bool(topics & hidden.liked)
        wrong = False
        if disliked and chance.random() < c.skip_disliked:
            skips += 1
            profile.observe(Signal.SKIP, item.topics, now)
        else:
            day_time = day + in_session / 1440.0
            skill = hidden.pos[item.primary_skill]
            ability = hidden.effective(day_time)[skill]
            guess = _guess(item, c)
            p_right = guess + (1.0 - guess - c.slip) * _sigmoid(ability - difficulty[item.id])
            correct = bool(chance.random() < p_right)
            wrong = not correct
            hidden.practise(skill, difficulty[item.id], day_time)
            skills.update(learner_model.update(item, correct, skills, levels, now))
            review = memory.review(reviews.get(item.id), rating_for(correct), now)
            reviews[item.id] = review
            if item.id not in slot:
                slot[item.id] = len(reviewed)
                reviewed.append(item.id)
            stability[slot[item.id]] = review.stability
            last_review[slot[item.id]] = day_time
            history.append(item.id)
            outcomes.append(correct)
            profile.observe(Signal.ANSWER, item.topics, now)
            if liked and correct and chance.random() < c.like_liked:
                profile.observe(Signal.LIKE, item.topics, now)
            if disliked and chance.random() < c.dislike_disliked:
                profile.observe(Signal.DISLIKE, item.topics, now)
            if reached is None:
                current = hidden.effective(day_time)[target]
                if bool(np.all(current >= mastered_logit)):
                    reached = step
        in_session += 1
        quit_chance = (
            c.quit_base + c.quit_disliked * disliked + c.quit_wrong * wrong + c.quit_liked * liked
        )
        quitting = chance.random() < quit_chance
        if quitting:
            quits += 1
        if (quitting or in_session >= c.session_length) and step < c.steps:
            day, in_session, sessions = day + 1, 0, sessions + 1

    end = day + in_session / 1440.0
    return LearnerOutcome(
        mastery_after_steps=float(np.mean(_sigmoid_array(hidden.effective(end)[target]))),
        steps_to_mastery=reached,
        retention_30d=float(
            np.mean(_sigmoid_array(hidden.effective(end + c.retention_days)[target]))
        ),
        sessions=sessions,
        quits=quits,
        skips=skips,
        mastered_share=float(np.mean(hidden.effective(end)[target] >= mastered_logit)),
    )


def _guess(item: Item, config: SimulationConfig) -> float:
    if item.type is ItemType.JUDGEMENT or item.type is ItemType.CHOICE:
        return 1.0 / len(item.options)
    return config.guess_typed


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _sigmoid_array(x: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return result


__all__ = [
    "METRICS",
    "LearnerOutcome",
    "PolicyResult",
    "SimulationConfig",
    "SimulationReport",
    "simulate",
]
