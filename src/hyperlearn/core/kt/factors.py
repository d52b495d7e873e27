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

# Rows per block when summing outer products, so memory stays near 50 MB for d = 16.
_CHUNK = 25_000


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
    factors = rng.normal(0.0, 0.1, (n_items, dim))
    for _ in range(iterations):
        learner_factors = _ridge(learner, item, factors, residual, n_learners, l2)
        factors = _ridge(item, learner, learner_factors, residual, n_items, l2)
    return factors


def _ridge(
    owner: IntArray,
    other: IntArray,
    other_factors: FloatArray,
    residual: FloatArray,
    n_owners: int,
    l2: float,
) -> FloatArray:
    """For every owner, the ridge solution of residual ~ other_factors[other] over its rows."""
    dim = other_factors.shape[1]
    gram = np.zeros((n_owners, dim * dim))
    moment = np.zeros((n_owners, dim))
    for start in range(0, len(owner), _CHUNK):
        rows = slice(start, start + _CHUNK)
        vectors = other_factors[other[rows]]
        n = len(vectors)
        # A sparse indicator sums each owner's rows in one product (np.add.at is far slower).
        indicator = sparse.csr_matrix(
            (np.ones(n), (owner[rows], np.arange(n))), shape=(n_owners, n)
        )
        gram += indicator @ (vectors[:, :, None] * vectors[:, None, :]).reshape(n, -1)
        moment += indicator @ (vectors * residual[rows, None])
    systems = gram.reshape(n_owners, dim, dim) + l2 * np.eye(dim)
    solved = np.linalg.solve(systems, moment[:, :, None])[:, :, 0]
    return np.asarray(solved, dtype=np.float64)


class FactorMemory:
    """One learner's sufficient statistics: sum v v^T and sum v r over factored attempts."""

    __slots__ = ("gram", "moment")

    def __init__(self, dim: int, gram: Sequence[float] = (), moment: Sequence[float] = ()):
        self.gram = np.zeros((dim, dim)) if not len(gram) else np.asarray(gram, dtype=np.float64)
        self.gram = self.gram.reshape(dim, dim)
        self.moment = np.zeros(dim) if not len(moment) else np.asarray(moment, dtype=np.float64)
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
    learner's earlier rows only; zero elsewhere. Same arithmetic as the online updates."""
    scores = np.zeros(len(item))
    n_items, dim = factors.shape
    for start, end in spans:
        memory = FactorMemory(dim)
        for row in range(start, end):
            j = int(item[row])
            if not 0 <= j < n_items:
                continue
            vector = factors[j]
            if memory.moment.any():
                scores[row] = float(vector @ memory.position(l2))
            memory.add(vector, float(residual[row]))
    return scores


def fit_offset_weight(offset: FloatArray, score: FloatArray, y: FloatArray) -> float:
    """beta of P(y) = sigmoid(offset + beta * score), by Newton's method on the log-likelihood
    (one parameter, concave)."""
    beta = 0.0
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-np.clip(offset + beta * score, -30.0, 30.0)))
        gradient = float(score @ (y - p))
        curvature = float((score * score) @ (p * (1.0 - p)))
        if curvature <= 1e-12:
            return 0.0
        step = gradient / curvature
        beta += step
        if abs(step) < 1e-8:
            break
    return beta
