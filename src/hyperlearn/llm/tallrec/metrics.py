"""How well P(Yes) separates right from wrong answers (pure numpy)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata


def roc_auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (the Mann-Whitney U statistic, ties counted half); None when
    only one class is present."""
    y = np.asarray(labels, dtype=bool)
    if len(y) != len(scores):
        raise ValueError("labels and scores differ in length")
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    u = float(ranks[y].sum()) - positives * (positives + 1) / 2
    return u / (positives * negatives)
