"""HyperLearn's knowledge-tracing model: learning, honesty, online = batch, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperlearn.core.kt.baselines import SkillMeanModel
from hyperlearn.core.kt.log import InteractionLog, LogBuilder
from hyperlearn.core.kt.model import HyperLearnKT, KTConfig, LearnerState
from hyperlearn.evaluation.kt_bench import auc, check_no_lookahead, take_rows
from hyperlearn.evaluation.kt_data import Vocabularies, load_log
from tests.conftest import require_shared_data
from tests.kt.synthetic import latent_type_log, practice_log, split_learners


def timed_log(seed: int, n_learners: int = 80, attempts: int = 30) -> InteractionLog:
    """Attempts with real times and item ids, so every feature (forgetting included) is used;
    odd learners do better on even items and worse on odd ones (and the other way round), so
    the item factors are kept too."""
    rng = np.random.default_rng(seed)
    builder = LogBuilder()
    for learner in range(n_learners):
        clock = 1_700_000_000.0 + rng.uniform(0, 86_400)
        kind = 1.0 if learner % 2 else -1.0
        for _ in range(attempts):
            skills = [int(rng.integers(6))]
            if rng.random() < 0.2:
                skills.append(int(rng.integers(6)))
            clock += float(rng.choice([30.0, 600.0, 86_400.0, 5 * 86_400.0]))
            item = int(rng.integers(25))
            logit = 0.4 + 1.2 * kind * (1.0 if item % 2 == 0 else -1.0)
            builder.add(learner, item, skills, rng.random() < 1 / (1 + np.exp(-logit)), clock)
    return builder.build()


@pytest.fixture(scope="module")
def factored() -> tuple[HyperLearnKT, InteractionLog, InteractionLog]:
    """A model whose item factors are kept: learners differ by item, not by skill."""
    train, test = split_learners(latent_type_log(seed=5, n_learners=500), test_share=0.3)
    model = HyperLearnKT(KTConfig(item_factors=4, max_iter=60))
    model.fit(train, n_items=40, n_skills=4)
    return model, train, test


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
    assert model.factor_weight != 0.0 and np.abs(model.item_factors).max() > 1e-3
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
        (lambda d: d.update(residual_features=["x"]), "other residual features"),
        (lambda d: d.update(skill_attempts=d["skill_attempts"][:-1]), "priors do not fit"),
        (lambda d: d["item_successes"].__setitem__(0, 1e9), "priors do not fit"),
        (lambda d: d.pop("item_attempts"), "corrupt model parameters"),
    ],
)
def test_corrupt_parameters_are_refused(
    fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog], damage: object, message: str
) -> None:
    _assert_refused(fitted[0], damage, message)


def _assert_refused(model: HyperLearnKT, damage: object, message: str) -> None:
    data = json.loads(json.dumps(model.to_dict()))
    damage(data)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        HyperLearnKT.from_dict(data)


_FACTOR_KEYS = ("item_factors", "factor_weight")
_FACTOR_CONFIG = (
    "item_factors",
    "factor_l2",
    "factor_iterations",
    "factor_folds",
    "factor_seed",
)


def test_models_and_states_saved_before_the_item_factors_still_load(
    factored: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    model, train, test = factored
    without = HyperLearnKT(KTConfig(item_factors=0, max_iter=30))
    without.fit(train, n_items=40, n_skills=4)
    old = json.loads(json.dumps(without.to_dict()))
    old["version"] = 3  # as version 3 wrote it
    for key in _FACTOR_KEYS:
        del old[key]
    for key in _FACTOR_CONFIG:
        del old["config"][key]
    loaded = HyperLearnKT.from_dict(old)
    assert loaded.config.item_factors == 0 and not len(loaded.item_factors)
    np.testing.assert_array_equal(loaded.predict_online(test), without.predict_online(test))
    state = LearnerState()
    model.update(state, 0, [0], True, 0.0)
    assert state.factors is not None  # item 0 has a factor in the new model
    saved = state.to_dict()
    del saved["factor_gram"], saved["factor_moment"]
    assert LearnerState.from_dict(saved).factors is None


def test_item_factors_learn_what_skill_tags_miss(
    factored: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    """Two kinds of learners, each better on one half of every skill's items: skill-level
    history cannot tell the halves apart, the item factors can (on new learners)."""
    model, train, test = factored
    plain = HyperLearnKT(KTConfig(item_factors=0, max_iter=60))
    plain.fit(train, n_items=40, n_skills=4)
    without = auc(test.correct, plain.predict_online(test))
    with_factors = auc(test.correct, model.predict_online(test))
    assert with_factors > without + 0.03
    assert model.factor_weight > 0
    # The halves' vectors point opposite ways.
    first, second = model.item_factors[0::2].mean(0), model.item_factors[1::2].mean(0)
    cosine = first @ second / (np.linalg.norm(first) * np.linalg.norm(second))
    assert cosine < -0.5
    assert check_no_lookahead(model, test, max_positions=15) == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d["item_factors"].pop(), "item factors do not fit"),
        (lambda d: d["item_factors"][0].__setitem__(0, float("inf")), "item factors do not fit"),
        (lambda d: d.pop("factor_weight"), "corrupt model parameters"),
    ],
)
def test_corrupt_item_factors_are_refused(
    factored: tuple[HyperLearnKT, InteractionLog, InteractionLog], damage: object, message: str
) -> None:
    _assert_refused(factored[0], damage, message)


def test_factor_model_and_state_round_trip_through_json(
    factored: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    model, _, test = factored
    again = HyperLearnKT.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(again.predict_online(test), model.predict_online(test))
    state = LearnerState()
    for row in range(10):
        model.update(state, int(test.item[row]), test.skills_of(row).tolist(), True, float(row))
    assert state.factors is not None and state.factors.moment.any()
    restored = LearnerState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state


def test_factors_that_do_not_help_out_of_fold_are_left_out(
    fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    """practice_log has no item structure beyond skills: the out-of-fold weight comes out at
    or below zero, and the model keeps no factors (no cost in updates or states)."""
    model, _, test = fitted
    assert model.factor_weight == 0.0 and not len(model.item_factors)
    state = LearnerState()
    model.update(state, int(test.item[0]), test.skills_of(0).tolist(), True, 0.0)
    assert state.factors is None


def test_fitting_an_empty_log_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        HyperLearnKT().fit(LogBuilder().build(), 1, 1)


def test_a_training_rows_item_prior_leaves_its_own_learner_out() -> None:
    """The item prior of a training row must not contain the row's own outcome: with the
    learner left out, flipping the only answer on an item leaves that row's features as they
    were (with the learner counted in, the flip would show in them)."""
    builder_right, builder_wrong = LogBuilder(), LogBuilder()
    for learner in range(30):
        for step in range(6):
            right = (learner + step) % 3 != 0
            for builder in (builder_right, builder_wrong):
                builder.add(learner, step % 4, [step % 2], right, float(step))
    builder_right.add(30, 5, [0], True, 0.0)  # the only attempt on item 5
    builder_wrong.add(30, 5, [0], False, 0.0)
    model = HyperLearnKT(KTConfig(max_iter=20))
    model.fit(builder_right.build(), n_items=6, n_skills=2)
    features = []
    for log in (builder_right.build(), builder_wrong.build()):
        model._count_priors(log)
        _, dense = model._design(log, leave_learner_out=True)
        features.append(dense[-1])
    np.testing.assert_array_equal(features[0], features[1])
    model._count_priors(builder_wrong.build())
    counted_in = model.expected(5, [0])
    assert np.log(counted_in / (1 - counted_in)) < features[0][-5]  # the wrong answer shows


def test_models_and_states_saved_before_the_residual_features_still_load(
    fitted: tuple[HyperLearnKT, InteractionLog, InteractionLog],
) -> None:
    model, train, test = fitted
    without = HyperLearnKT(KTConfig(residual=False, item_factors=0, max_iter=30))
    without.fit(train, n_items=8, n_skills=8)
    old = json.loads(json.dumps(without.to_dict()))
    old["version"] = 2  # as version 2 wrote it: no residual keys, no residual in the config
    keys = ("residual_features", "item_successes", "item_attempts", *_FACTOR_KEYS)
    for key in (*keys, "skill_successes", "skill_attempts"):
        del old[key]
    for key in (
        "residual",
        "item_prior_strength",
        "residual_ema_decay",
        "skill_residual_ema_decay",
        *_FACTOR_CONFIG,
    ):
        del old["config"][key]
    loaded = HyperLearnKT.from_dict(old)
    assert not loaded.config.residual and loaded.residual_columns == 0
    np.testing.assert_array_equal(loaded.predict_online(test), without.predict_online(test))
    state = LearnerState()
    model.update(state, 0, [0], True, 0.0)
    saved = state.to_dict()
    del saved["residual_sum"], saved["residual_ema"]
    assert LearnerState.from_dict(saved).total_successes == 1


def test_residual_features_tell_hard_items_from_easy_ones() -> None:
    """Two learners with the same sequence of right and wrong answers, the wrong one on the
    same middling item: one solved hard items, the other easy ones. Only the
    difficulty-adjusted features can tell them apart, and they rate the first higher on a new
    item."""
    rng = np.random.default_rng(5)
    difficulty = np.linspace(-2.0, 2.0, 20)
    builder = LogBuilder()
    for learner in range(400):
        ability = rng.normal()
        for step, item in enumerate(rng.permutation(20).tolist()):
            right = rng.random() < 1 / (1 + np.exp(difficulty[item] - ability))
            builder.add(learner, item, [0], bool(right), float(step))
    model = HyperLearnKT(KTConfig(max_iter=100))
    model.fit(builder.build(), n_items=21, n_skills=1)
    strong, weak = LearnerState(), LearnerState()
    for step in range(5):
        right = step != 2
        model.update(strong, 15 + step if right else 10, [0], right, float(step))
        model.update(weak, step if right else 10, [0], right, float(step))
    one = (np.array([20]), np.array([0, 1]), np.array([0]))
    assert model.predict(strong, *one, 5.0)[0] > model.predict(weak, *one, 5.0)[0] + 0.05


def test_item_factors_on_real_problem_ids_help_and_never_look_ahead() -> None:
    """ASSISTments 2009 problem ids, a slice of fold 1: the factors raise the AUC on new
    learners, and their predictions depend on nothing at or after the attempt."""
    folder = require_shared_data("logs/assist2009")
    vocab = Vocabularies()
    train, _ = load_log(folder / "assist2009_pid_train1.csv", "akt", vocab, max_learners=800)
    test, _ = load_log(folder / "assist2009_pid_test1.csv", "akt", vocab, max_learners=300)
    n_items, n_skills = len(vocab.items), len(vocab.skills)
    plain = HyperLearnKT(KTConfig(item_factors=0))
    plain.fit(train, n_items, n_skills)
    factored = HyperLearnKT()
    factored.fit(train, n_items, n_skills)
    assert factored.factor_weight > 0
    gain = auc(test.correct, factored.predict_online(test)) - auc(
        test.correct, plain.predict_online(test)
    )
    assert gain > 0.003  # measured 0.0058 (800 training learners; all of them: about 0.05)
    first = take_rows(test, np.flatnonzero(test.learner < test.learner[0] + 12))
    assert check_no_lookahead(factored, first, max_positions=40) == []
