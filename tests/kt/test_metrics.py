"""Benchmark metrics, checked against hand-computed values and a brute-force AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyperlearn.core.kt.log import LogBuilder
from hyperlearn.evaluation.kt_bench import (
    accuracy,
    auc,
    first_attempts_mask,
    logloss,
    rmse,
    roc_curve,
)


def brute_force_auc(y: list[int], p: list[float]) -> float:
    pos = [s for s, label in zip(p, y, strict=True) if label == 1]
    neg = [s for s, label in zip(p, y, strict=True) if label == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def test_auc_on_hand_examples() -> None:
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    assert auc(np.array([0, 1]), np.array([0.2, 0.9])) == 1.0
    assert auc(np.array([1, 0]), np.array([0.2, 0.9])) == 0.0


def test_auc_counts_ties_as_one_half() -> None:
    assert auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    # pairs (neg, pos): (.2,.5)=1 (.2,.9)=1 (.5,.5)=1/2 (.5,.9)=1 -> 3.5 / 4
    assert auc(np.array([0, 0, 1, 1]), np.array([0.2, 0.5, 0.5, 0.9])) == 0.875
    assert auc(np.array([0, 1, 0, 1, 1]), np.full(5, 0.3)) == 0.5


def test_auc_matches_brute_force_with_many_ties() -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    p = rng.integers(0, 6, 300) / 5  # six distinct values: ties everywhere
    assert auc(y, p) == pytest.approx(brute_force_auc(y.tolist(), p.tolist()), abs=1e-12)


def test_auc_is_nan_with_one_class() -> None:
    assert math.isnan(auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_roc_curve_runs_from_origin_to_corner_and_its_area_is_the_auc() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p = rng.integers(0, 10, 200) / 9
    fpr, tpr = roc_curve(y, p)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(auc(y, p), abs=1e-12)


def test_logloss_is_the_mean_negative_log_likelihood_and_is_clipped() -> None:
    expected = -(math.log(0.8) + math.log(0.6)) / 2
    assert logloss(np.array([1, 0]), np.array([0.8, 0.4])) == pytest.approx(expected)
    worst = logloss(np.array([1, 0]), np.array([0.0, 1.0]))
    assert math.isfinite(worst) and worst == pytest.approx(-math.log(1e-15), rel=1e-4)


def test_accuracy_uses_a_half_as_threshold_and_rmse() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.5, 0.49, 0.2, 0.7])
    assert accuracy(y, p) == 0.5  # 0.5 predicts "correct"
    assert rmse(y, p) == pytest.approx(math.sqrt((0.25 + 0.49**2 + 0.64 + 0.49) / 4))


def test_first_attempts_mask_counts_per_learner_and_skill() -> None:
    builder = LogBuilder()
    for _ in range(7):
        builder.add(0, 0, [0], 1)  # rows 0-6: skill 0, only the first five are early
    builder.add(0, 1, [0, 1], 0)  # row 7: sixth... eighth on skill 0 but first on skill 1
    builder.add(0, 0, [0], 0)  # row 8
    builder.add(1, 0, [0], 1)  # row 9: another learner starts afresh
    mask = first_attempts_mask(builder.build())
    assert mask.tolist() == [True] * 5 + [False, False, True, False, True]


def test_metrics_refuse_mismatched_arrays() -> None:
    with pytest.raises(ValueError, match="same length"):
        auc(np.array([0, 1]), np.array([0.5]))
