"""Baselines and PFA: exact behaviour on tiny logs, learning on a synthetic log, and the
no-look-ahead check (which must pass for them and fail for a leaky model)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyperlearn.core.kt.baselines import MajorityModel, SkillMeanModel
from hyperlearn.core.kt.log import FloatArray, InteractionLog, LogBuilder
from hyperlearn.core.kt.pfa import PFAModel, skill_history
from hyperlearn.core.kt.protocol import KnowledgeTracer
from hyperlearn.evaluation.kt_bench import auc, check_no_lookahead, within_position
from tests.kt.synthetic import practice_log, split_learners


def expit(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def tiny_log() -> InteractionLog:
    builder = LogBuilder()
    builder.add(0, 0, [0], 1)
    builder.add(0, 1, [0, 1], 0)
    builder.add(0, 0, [0], 1)
    builder.add(1, 2, [1], 0)
    builder.add(1, 2, [1], 1)
    builder.add(1, 3, [2], 1)
    return builder.build()


@pytest.fixture(scope="module")
def synthetic() -> tuple[InteractionLog, InteractionLog]:
    return split_learners(practice_log(seed=11))


def test_skill_history_counts_only_earlier_rows_of_the_same_learner() -> None:
    history = skill_history(tiny_log())
    # entries: r0 s0 | r1 s0, s1 | r2 s0 | r3 s1 | r4 s1 | r5 s2
    assert history.row.tolist() == [0, 1, 1, 2, 3, 4, 5]
    assert history.skill.tolist() == [0, 0, 1, 0, 1, 1, 2]
    assert history.successes.tolist() == [0, 1, 0, 1, 0, 0, 0]
    assert history.failures.tolist() == [0, 0, 0, 1, 0, 1, 0]


def test_majority_predicts_the_training_base_rate() -> None:
    model = MajorityModel()
    model.fit(tiny_log(), 4, 3)
    assert model.predict_online(tiny_log()).tolist() == [4 / 6] * 6


def test_skill_mean_shrinks_to_the_base_rate_and_averages_over_skills() -> None:
    model = SkillMeanModel(prior_strength=2.0)
    model.fit(tiny_log(), 4, 3)
    base = 4 / 6
    rate = [(2 + 2 * base) / (3 + 2), (1 + 2 * base) / (3 + 2), (1 + 2 * base) / (1 + 2)]
    builder = LogBuilder()
    builder.add(5, 0, [0], 1)
    builder.add(5, 1, [0, 1], 1)
    builder.add(5, 9, [7], 1)  # a skill never seen in training
    p = model.predict_online(builder.build())
    assert p.tolist() == pytest.approx([rate[0], (rate[0] + rate[1]) / 2, base])


def test_pfa_learns_from_practice_and_beats_skill_mean(
    synthetic: tuple[InteractionLog, InteractionLog],
) -> None:
    train, test = synthetic
    pfa, skill_mean = PFAModel(), SkillMeanModel()
    for model in (pfa, skill_mean):
        model.fit(train, 8, 8)
    assert pfa.converged
    assert np.all(pfa.gamma > 0)  # success comes with practice in this log
    pfa_auc = auc(test.correct, pfa.predict_online(test))
    skill_auc = auc(test.correct, skill_mean.predict_online(test))
    assert pfa_auc > 0.68
    assert pfa_auc > skill_auc + 0.05


def test_pfa_falls_back_to_the_intercept_for_unseen_skills(
    synthetic: tuple[InteractionLog, InteractionLog],
) -> None:
    train, _ = synthetic
    model = PFAModel()
    model.fit(train, 8, 8)
    builder = LogBuilder()
    builder.add(0, 50, [50], 1)
    builder.add(0, 50, [50], 0)
    builder.add(0, 51, [50, 3], 1)
    p = model.predict_online(builder.build())
    assert p[:2].tolist() == pytest.approx([expit(model.intercept)] * 2)
    assert p[2] == pytest.approx(expit(model.intercept + model.beta[3]))


def test_pfa_on_an_empty_log_predicts_one_half() -> None:
    model = PFAModel()
    model.fit(LogBuilder().build(), 0, 0)
    assert model.predict_online(tiny_log()).tolist() == [0.5] * 6


@pytest.mark.parametrize(
    "model",
    [PFAModel(), PFAModel(counts="log"), MajorityModel(), SkillMeanModel()],
    ids=["pfa", "pfa_log", "majority", "skill_mean"],
)
def test_no_lookahead_passes_for_honest_models(
    model: KnowledgeTracer, synthetic: tuple[InteractionLog, InteractionLog]
) -> None:
    train, _ = synthetic
    model.fit(train, 8, 8)
    small = split_learners(practice_log(seed=5, n_learners=12, attempts=15), 0.5)[1]
    assert check_no_lookahead(model, small) == []


class PeekingModel:
    """Leaks the row's own answer a little (an off-by-one in the counts, say)."""

    name = "peeking"

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        pass

    def predict_online(self, log: InteractionLog) -> FloatArray:
        return np.asarray(0.5 + 0.01 * log.correct, dtype=np.float64)


class LearnerMeanModel:
    """Uses each learner's success rate over the whole log: the future leaks in."""

    name = "learner_mean"

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        pass

    def predict_online(self, log: InteractionLog) -> FloatArray:
        p = np.empty(len(log), dtype=np.float64)
        for start, end in log.learner_spans():
            p[start:end] = log.correct[start:end].mean()
        return p


class SequenceLengthModel:
    """Never reads an outcome, but knows how long each learner's sequence will be."""

    name = "length"

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        pass

    def predict_online(self, log: InteractionLog) -> FloatArray:
        p = np.empty(len(log), dtype=np.float64)
        for start, end in log.learner_spans():
            p[start:end] = 1 - 1 / (end - start + 1)
        return p


def test_the_lookahead_check_catches_leaky_models() -> None:
    log = practice_log(seed=2, n_learners=4, attempts=6)
    assert check_no_lookahead(PeekingModel(), log) == list(range(len(log)))
    # flipping only the last answers already moves every row's mean
    assert check_no_lookahead(LearnerMeanModel(), log) == list(range(len(log)))
    # a leak through the mere presence of later rows needs the truncation check
    assert check_no_lookahead(SequenceLengthModel(), log, truncate=False) == []
    last = {end - 1 for _, end in log.learner_spans()}
    flagged = check_no_lookahead(SequenceLengthModel(), log)
    assert flagged == [r for r in range(len(log)) if r not in last]


def test_within_position_restarts_for_each_learner() -> None:
    assert within_position(tiny_log()).tolist() == [0, 1, 2, 0, 1, 2]
