"""HyperLearn's knowledge-tracing model: learning, honesty, online = batch, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperlearn.core.kt.baselines import SkillMeanModel
from hyperlearn.core.kt.log import InteractionLog, LogBuilder
from hyperlearn.core.kt.model import HyperLearnKT, KTConfig, LearnerState
from hyperlearn.evaluation.kt_bench import auc, check_no_lookahead
from tests.kt.synthetic import practice_log, split_learners


def timed_log(seed: int, n_learners: int = 40, attempts: int = 30) -> InteractionLog:
    """Attempts with real times and item ids, so every feature (forgetting included) is used."""
    rng = np.random.default_rng(seed)
    builder = LogBuilder()
    for learner in range(n_learners):
        clock = 1_700_000_000.0 + rng.uniform(0, 86_400)
        for _ in range(attempts):
            skills = [int(rng.integers(6))]
            if rng.random() < 0.2:
                skills.append(int(rng.integers(6)))
            clock += float(rng.choice([30.0, 600.0, 86_400.0, 5 * 86_400.0]))
            builder.add(learner, int(rng.integers(25)), skills, rng.random() < 0.6, clock)
    return builder.build()


@pytest.fixture(scope="module")
def fitted() -> tuple[HyperLearnKT, InteractionLog, InteractionLog]:
    train, test = split_learners(practice_log(seed=11, n_learners=300))
    model = HyperLearnKT()
    model.fit(train, n_items=8, n_skills=8)
    return model, train, test


def test_it_learns_practice_effects_better_than_skill_means(
    fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    model, train, test = fitted
    baseline = SkillMeanModel()
    baseline.fit(train, n_items=8, n_skills=8)
    ours = auc(test.correct, model.predict_online(test))
    theirs = auc(test.correct, baseline.predict_online(test))
    assert ours > theirs + 0.03
    assert ours > 0.7


def test_no_lookahead(fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog]) -> None:
    model, _, test = fitted
    assert check_no_lookahead(model, test, max_positions=12) == []


def test_online_updates_match_batch_predictions() -> None:
    log = timed_log(seed=3)
    model = HyperLearnKT(KTConfig(max_iter=50))
    model.fit(log, n_items=25, n_skills=6)
    assert model.uses_time
    batch = model.predict_online(log)
    online = []
    for start, end in log.learner_spans():
        state = LearnerState()
        for row in range(start, end):
            skills = log.skills_of(row)
            item = int(log.item[row])
            ptr = np.array([0, len(skills)])
            p = model.predict(state, np.array([item]), ptr, skills, float(log.time[row]))
            online.append(float(p[0]))
            model.update(state, item, skills.tolist(), bool(log.correct[row]), float(log.time[row]))
    np.testing.assert_allclose(online, batch, rtol=0, atol=1e-12)


def test_many_candidates_at_once_equal_one_by_one() -> None:
    log = timed_log(seed=4)
    model = HyperLearnKT(KTConfig(max_iter=50))
    model.fit(log, n_items=25, n_skills=6)
    state = LearnerState()
    for row in range(0, 20):
        model.update(
            state,
            int(log.item[row]),
            log.skills_of(row).tolist(),
            bool(log.correct[row]),
            float(log.time[row]),
        )
    items = np.array([0, 3, 24, 30, -1])  # 30: an item unknown at fit time
    ptr = np.array([0, 1, 3, 4, 5, 7])
    skills = np.array([0, 1, 2, 5, 9, 3, 4])  # 9: a skill unknown at fit time
    now = float(log.time[20])
    together = model.predict(state, items, ptr, skills, now)
    alone = [
        model.predict(
            state,
            items[k : k + 1],
            np.array([0, ptr[k + 1] - ptr[k]]),
            skills[ptr[k] : ptr[k + 1]],
            now,
        )[0]
        for k in range(len(items))
    ]
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-12)
    assert np.all((together > 0) & (together < 1))


def test_cold_start_new_learner_item_and_skill(
    fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    model, _, _ = fitted
    fresh = LearnerState()
    p = model.predict(fresh, np.array([500]), np.array([0, 1]), np.array([77]), 0.0)
    # Nothing known: the prediction is the model's prior for an unknown item and skill.
    assert 0.05 < p[0] < 0.95
    model.update(fresh, 500, [77], True, 1.0)  # learning about unknown ids never crashes
    mastery = model.mastery(fresh)
    assert mastery.shape == (8,)


def test_state_and_parameters_round_trip_through_json(
    fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    model, _, test = fitted
    again = HyperLearnKT.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(again.predict_online(test), model.predict_online(test))
    state = LearnerState()
    for row in range(10):
        model.update(state, int(test.item[row]), test.skills_of(row).tolist(), True, float(row))
    restored = LearnerState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.update(format="other"), "not a HyperLearn"),
        (lambda d: d.update(version=99), "unsupported model version"),
        (lambda d: d.update(weights=d["weights"][:-1]), "corrupt model parameters"),
        (lambda d: d["weights"].__setitem__(0, float("nan")), "corrupt model parameters"),
        (lambda d: d.pop("config"), "corrupt model parameters"),
        (lambda d: d.update(history_features=["x"]), "other history features"),
    ],
)
def test_corrupt_parameters_are_refused(
    fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog], damage: object, message: str
) -> None:
    model, _, _ = fitted
    data = json.loads(json.dumps(model.to_dict()))
    damage(data)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        HyperLearnKT.from_dict(data)


def test_fitting_an_empty_log_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        HyperLearnKT().fit(LogBuilder().build(), 1, 1)
