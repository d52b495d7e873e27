"""Synthetic attempt logs with a known generating process, for the knowledge-tracing tests."""

from __future__ import annotations

import numpy as np

from hyperlearn.core.kt.log import InteractionLog, LogBuilder


def practice_log(
    seed: int,
    n_learners: int = 200,
    n_skills: int = 8,
    attempts: int = 40,
    learning_rate: float = 0.35,
    multi_skill_share: float = 0.1,
) -> InteractionLog:
    """Success depends on the learner, the skill's difficulty and, strongly, on how often the
    learner has practised the skill before (learning), so history-aware models must win."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0.0, 0.8, n_skills)
    builder = LogBuilder()
    for learner in range(n_learners):
        ability = rng.normal(0.0, 0.7)
        practice = np.zeros(n_skills)
        for _ in range(attempts):
            skills = [int(rng.integers(n_skills))]
            if rng.random() < multi_skill_share:
                other = int(rng.integers(n_skills))
                if other != skills[0]:
                    skills.append(other)
            logit = (
                ability
                - difficulty[skills].mean()
                + learning_rate * np.minimum(practice[skills], 10).mean()
                - 1.5
            )
            correct = rng.random() < 1 / (1 + np.exp(-logit))
            builder.add(learner, skills[0], skills, correct)
            practice[skills] += 1
    return builder.build()


def latent_type_log(
    seed: int, n_learners: int = 400, n_skills: int = 4, attempts: int = 40
) -> InteractionLog:
    """Items 0..10*n_skills-1, item i on skill (i // 2) % n_skills; half the learners are 1.2 logits
    better on even items and worse on odd ones, the other half the reverse. Every skill has
    both kinds of item, so only item-level structure explains the difference."""
    rng = np.random.default_rng(seed)
    n_items = 10 * n_skills
    difficulty = rng.normal(0.0, 0.5, n_items)
    builder = LogBuilder()
    for learner in range(n_learners):
        kind = 1.0 if learner % 2 else -1.0
        ability = rng.normal(0.0, 0.5)
        for _ in range(attempts):
            item = int(rng.integers(n_items))
            side = 1.0 if item % 2 == 0 else -1.0
            logit = ability - difficulty[item] + 1.2 * kind * side
            correct = rng.random() < 1 / (1 + np.exp(-logit))
            builder.add(learner, item, [(item // 2) % n_skills], correct)
    return builder.build()


def split_learners(
    log: InteractionLog, test_share: float = 0.3
) -> tuple[InteractionLog, InteractionLog]:
    """The first learners for training, the last ones for testing (rows kept in order)."""
    from hyperlearn.evaluation.kt_bench import take_rows

    cut = int(log.n_learners * (1 - test_share))
    train_rows = np.flatnonzero(log.learner < cut)
    test_rows = np.flatnonzero(log.learner >= cut)
    return take_rows(log, train_rows), take_rows(log, test_rows)
