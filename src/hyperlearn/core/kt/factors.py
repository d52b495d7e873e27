"""Item factors: what a learner's earlier answers say about the next item, beyond its skills.

The logistic model explains an answer by the item's difficulty, its skills and the learner's
history on those skills. What it leaves (the residual y - p) is not noise alone: learners who
did better than expected on some items do better than expected on certain others, across
skill tags (items written from one template, practised in one unit, taught by one teacher).
Skill tags are too coarse to say which; the residuals of the training log can.

A low-rank factorisation of the training learners x items residual matrix (ridge alternating
least squares) gives every item a vector v_j. For one learner, the ridge estimate

    u = (l2 I + sum_i v_i v_i^T)^-1 sum_i v_i r_i     (over the learner's earlier attempts)

is their position in that space, and v_j . u is the correction for the next item j: a
multidimensional IRT ability estimated online from the learner's own answers, with a Gaussian
prior, so a learner with no factored attempts (or an item with no factor) gets no correction.
The learner carries only the d x d sum and the d-vector (FactorMemory); updating them is a
rank-one addition, and the same arithmetic serves the batch passes and the product.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from hyperlearn.core.kt.log import FloatArray, IntArray


def fit_item_factors(
    learner: IntArray,
    item: IntArray,
    residual: FloatArray,
    n_items: int,
    dim: int,
    l2: float,
    iterations: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Item vectors (n_items x dim) from (learner, item, residual) triples by ridge ALS; an
    item without rows keeps the zero vector (its correction is zero)."""
    n_learners = int(learner.max()) + 1 if len(learner) else 0
    # Every row of a (learner, item) pair adds the same outer product, so each half-step is
    # a sparse (count) matrix times the other side's outer products: no per-row temporaries.
    shape = (n_items, n_learners)
    counts = sparse.csr_matrix((np.ones(len(item)), (item, learner)), shape=shape)
    sums = sparse.csr_matrix((residual, (item, learner)), shape=shape)
    counts_t, sums_t = counts.T.tocsr(), sums.T.tocsr()
    factors = rng.normal(0.0, 0.1, (n_items, dim))
    for _ in range(iterations):
        learner_factors = _ridge(counts_t, sums_t, factors, l2)
        factors = _ridge(counts, sums, learner_factors, l2)
    return factors


def _ridge(
    counts: sparse.csr_matrix, sums: sparse.csr_matrix, other: FloatArray, l2: float
) -> FloatArray:
    """Row k's ridge solution of residual ~ other[column] over its rows (counts[k, c] rows of
    column c, whose residuals sum to sums[k, c])."""
    dim = other.shape[1]
    outer = (other[:, :, None] * other[:, None, :]).reshape(len(other), dim * dim)
    systems = np.asarray(counts @ outer).reshape(-1, dim, dim) + l2 * np.eye(dim)
    moment = np.asarray(sums @ other)
    solved = np.linalg.solve(systems, moment[:, :, None])[:, :, 0]
    return np.asarray(solved, dtype=np.float64)


class FactorMemory:
    """One learner's sufficient statistics: sum v v^T and sum v r over factored attempts."""

    __slots__ = ("gram", "moment")

    def __init__(self, dim: int, gram: Sequence[float] = (), moment: Sequence[float] = ()):
        self.gram = np.asarray(gram, dtype=np.float64) if len(gram) else np.zeros(dim * dim)
        self.gram = self.gram.reshape(dim, dim)
        self.moment = np.asarray(moment, dtype=np.float64) if len(moment) else np.zeros(dim)
        if self.moment.shape != (dim,):
            raise ValueError(f"factor memory of dimension {len(self.moment)}, expected {dim}")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FactorMemory)
            and np.array_equal(self.gram, other.gram)
            and np.array_equal(self.moment, other.moment)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def add(self, vector: FloatArray, residual: float) -> None:
        self.gram += np.outer(vector, vector)
        self.moment += vector * residual

    def position(self, l2: float) -> FloatArray:
        """The learner's ridge estimate u (zero before any factored attempt)."""
        dim = len(self.moment)
        solved = np.linalg.solve(self.gram + l2 * np.eye(dim), self.moment)
        return np.asarray(solved, dtype=np.float64)


def factor_scores(
    spans: Sequence[tuple[int, int]],
    item: IntArray,
    residual: FloatArray,
    factors: FloatArray,
    l2: float,
) -> FloatArray:
    """v_j . u for every row in `spans` (each a learner's contiguous rows), u from that
    learner's earlier rows only; zero elsewhere. The arithmetic of FactorMemory, run for all
    learners at once position by position (a learner's k-th attempts side by side)."""
    scores = np.zeros(len(item))
    n_items, dim = factors.shape
    if not spans:
        return scores
    by_length = sorted(spans, key=lambda span: span[0] - span[1])  # longest first
    starts = np.array([start for start, _ in by_length], dtype=np.int64)
    lengths = np.array([end - start for start, end in by_length], dtype=np.int64)
    gram = np.zeros((len(starts), dim, dim))
    moment = np.zeros((len(starts), dim))
    ridge = l2 * np.eye(dim)
    for position in range(int(lengths[0])):
        active = int(np.count_nonzero(lengths > position))
        rows = starts[:active] + position
        j = item[rows]
        known = (j >= 0) & (j < n_items)
        vectors = np.where(known[:, None], factors[np.where(known, j, 0)], 0.0)
        scored = np.flatnonzero(known & moment[:active].any(axis=1))
        if len(scored):
            positions = np.linalg.solve(gram[scored] + ridge, moment[scored][:, :, None])
            scores[rows[scored]] = np.einsum("ij,ij->i", vectors[scored], positions[:, :, 0])
        gram[:active] += vectors[:, :, None] * vectors[:, None, :]
        moment[:active] += vectors * residual[rows][:, None]
    return scores
