"""The pyBKT baseline through its subprocess adapter.

pyBKT runs in its own environment, benchmarks/bkt/.venv, built by `make bench-bkt-env`
(it compiles pyBKT's C++ extension). .ci/run builds it, so on CI these tests must run; on a
machine without it they are skipped with a reason. The missing-environment message is tested
everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from hyperlearn.core.kt.log import InteractionLog, LogBuilder
from hyperlearn.evaluation.bkt import BKTEnvironmentMissing, PyBKTModel, bkt_python
from hyperlearn.evaluation.kt_bench import auc

N_SKILLS = 5
UNSEEN_SKILL = 7  # never in the training log


def require_bkt_env() -> None:
    if bkt_python() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI builds benchmarks/bkt/.venv (.ci/run: make bench-bkt-env); it is missing"
            )
        pytest.skip("benchmarks/bkt/.venv is missing: run `make bench-bkt-env` to test pyBKT")


def synthetic_log(rng: np.random.Generator, n_learners: int, first: int = 0) -> InteractionLog:
    """Learners practise skills with a learning effect: each (learner, skill) starts unlearnt
    or learnt, may learn after each attempt; P(correct) is 0.85 learnt, 0.2 not. One attempt
    in five practises two skills at once (its P(correct) the mean of theirs)."""
    builder = LogBuilder()
    for learner in range(first, first + n_learners):
        learnt = rng.random(N_SKILLS) < 0.25
        for step in range(int(rng.integers(25, 45))):
            n = 2 if rng.random() < 0.2 else 1
            skills = rng.choice(N_SKILLS, size=n, replace=False).tolist()
            p = float(np.mean([0.85 if learnt[s] else 0.2 for s in skills]))
            builder.add(learner, skills[0], skills, bool(rng.random() < p), float(step))
            for s in skills:
                learnt[s] = learnt[s] or rng.random() < 0.15
    return builder.build()


def with_correct(log: InteractionLog, correct: NDArray[np.int8]) -> InteractionLog:
    return InteractionLog(
        learner=log.learner,
        item=log.item,
        skill_ptr=log.skill_ptr,
        skill_idx=log.skill_idx,
        correct=correct.astype(np.int8),
        time=log.time,
        has_time=log.has_time,
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[PyBKTModel, InteractionLog, InteractionLog]:
    require_bkt_env()
    rng = np.random.default_rng(0)
    train = synthetic_log(rng, 120)
    test = synthetic_log(rng, 60, first=1000)
    model = PyBKTModel(num_fits=2, seed=0)
    model.fit(train, n_items=N_SKILLS, n_skills=N_SKILLS)
    return model, train, test


def test_predictions_beat_chance(fitted: tuple[PyBKTModel, InteractionLog, InteractionLog]) -> None:
    model, _, test = fitted
    pred = model.predict_online(test)
    assert pred.shape == (len(test),)
    assert np.all((pred > 0) & (pred < 1))
    assert auc(test.correct, pred) > 0.6


def test_no_look_ahead(fitted: tuple[PyBKTModel, InteractionLog, InteractionLog]) -> None:
    model, _, test = fitted
    before = model.predict_online(test)
    spans = test.learner_spans()
    start, end = spans[3]

    # The learner's last outcome flipped: none of the predictions may move.
    flipped = test.correct.copy()
    flipped[end - 1] ^= 1
    after = model.predict_online(with_correct(test, flipped))
    np.testing.assert_allclose(after[start:end], before[start:end], rtol=0, atol=1e-12)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-12)

    # A middle outcome flipped: earlier rows (and the row itself) stay, later ones on the
    # same skill move, so the history is really used.
    k = start + (end - start) // 2
    flipped = test.correct.copy()
    flipped[k] ^= 1
    after = model.predict_online(with_correct(test, flipped))
    np.testing.assert_allclose(after[: k + 1], before[: k + 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(after[end:], before[end:], rtol=0, atol=1e-12)
    assert np.any(np.abs(after[k + 1 : end] - before[k + 1 : end]) > 1e-6)


def test_multi_skill_rows_and_unseen_skills(
    fitted: tuple[PyBKTModel, InteractionLog, InteractionLog],
) -> None:
    model, train, _ = fitted
    builder = LogBuilder()
    builder.add(0, 0, [0], True, 0.0)
    builder.add(0, 1, [1], False, 1.0)
    builder.add(0, 2, [0, 1], True, 2.0)  # one row, two skills
    builder.add(0, 3, [UNSEEN_SKILL], True, 3.0)
    builder.add(0, 4, [0, UNSEEN_SKILL], False, 4.0)
    log = builder.build()
    pred = model.predict_online(log)
    assert pred.shape == (5,)

    # The two-skill row is the mean of what each skill alone would predict at that point.
    alone = LogBuilder()
    alone.add(0, 0, [0], True, 0.0)
    alone.add(0, 1, [1], False, 1.0)
    alone.add(0, 2, [0], True, 2.0)
    alone.add(0, 2, [1], True, 3.0)
    single = model.predict_online(alone.build())
    assert pred[2] == pytest.approx((single[2] + single[3]) / 2)

    # A skill unseen in training falls back to the training success rate; mixed with a
    # known skill, the mean of that prior and the known skill's prediction (skill 0 after
    # two right answers: rows 0 and 2).
    prior = float(train.correct.mean())
    assert pred[3] == pytest.approx(prior)
    skill0 = LogBuilder()
    for step in range(3):
        skill0.add(0, 0, [0], True, float(step))
    after_two_right = float(model.predict_online(skill0.build())[2])
    assert pred[4] == pytest.approx((prior + after_two_right) / 2)


def test_missing_environment_says_how_to_build_it(tmp_path: Path) -> None:
    model = PyBKTModel(python=tmp_path / "no-venv" / "bin" / "python")
    log = synthetic_log(np.random.default_rng(0), 2)
    with pytest.raises(BKTEnvironmentMissing, match="make bench-bkt-env"):
        model.fit(log, n_items=N_SKILLS, n_skills=N_SKILLS)
