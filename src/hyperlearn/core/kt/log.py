"""A columnar attempt log: the common input of every knowledge-tracing model and benchmark.

One row per attempt (a multi-skill attempt is ONE row with several skills, never several rows:
expanding it would let one row reveal the answer of the next). Rows are grouped by learner and
in time order within a learner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class Vocabulary:
    """Maps outside labels (problem ids, skill names, user ids) to dense ints, shared between
    the train and test logs so that an item keeps its index everywhere."""

    labels: list[str] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {label: n for n, label in enumerate(self.labels)}

    def index(self, label: str) -> int:
        found = self._index.get(label)
        if found is None:
            found = len(self.labels)
            self.labels.append(label)
            self._index[label] = found
        return found

    def get(self, label: str) -> int | None:
        return self._index.get(label)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class InteractionLog:
    learner: IntArray  # learner index per attempt
    item: IntArray  # item index per attempt
    skill_ptr: IntArray  # CSR offsets into skill_idx, length n + 1
    skill_idx: IntArray  # skill indices of all attempts, concatenated
    correct: NDArray[np.int8]  # 1 right, 0 wrong
    time: FloatArray  # seconds (UTC epoch), or the attempt's position when the source has none
    has_time: bool = False  # False: `time` is only an order, not a clock

    def __post_init__(self) -> None:
        n = len(self.correct)
        if not (len(self.learner) == len(self.item) == len(self.time) == n):
            raise ValueError("log columns differ in length")
        if len(self.skill_ptr) != n + 1 or self.skill_ptr[-1] != len(self.skill_idx):
            raise ValueError("skill_ptr does not index skill_idx")
        if n and np.any(np.diff(self.skill_ptr) < 1):
            raise ValueError("every attempt needs at least one skill")

    def __len__(self) -> int:
        return len(self.correct)

    def skills_of(self, row: int) -> IntArray:
        return self.skill_idx[self.skill_ptr[row] : self.skill_ptr[row + 1]]

    @property
    def n_learners(self) -> int:
        return int(self.learner.max()) + 1 if len(self) else 0

    def learner_spans(self) -> list[tuple[int, int]]:
        """[start, end) row ranges of each learner's contiguous block, in log order."""
        if not len(self):
            return []
        cuts = np.flatnonzero(np.diff(self.learner)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [len(self)]))
        return list(zip(starts.tolist(), ends.tolist(), strict=True))


class LogBuilder:
    """Collects attempts one by one (loaders, the service's export) and freezes them."""

    def __init__(self) -> None:
        self._learner: list[int] = []
        self._item: list[int] = []
        self._ptr: list[int] = [0]
        self._skills: list[int] = []
        self._correct: list[int] = []
        self._time: list[float] = []
        self._has_time = True

    def add(
        self,
        learner: int,
        item: int,
        skills: Sequence[int] | Iterable[int],
        correct: bool | int,
        time: float | None = None,
    ) -> None:
        skill_list = list(dict.fromkeys(skills))  # unique, order kept
        if not skill_list:
            raise ValueError("an attempt needs at least one skill")
        if time is None:
            self._has_time = False
            time = float(len(self._correct))
        self._learner.append(learner)
        self._item.append(item)
        self._skills.extend(skill_list)
        self._ptr.append(len(self._skills))
        self._correct.append(1 if correct else 0)
        self._time.append(float(time))

    def __len__(self) -> int:
        return len(self._correct)

    def build(self) -> InteractionLog:
        return InteractionLog(
            learner=np.asarray(self._learner, dtype=np.int64),
            item=np.asarray(self._item, dtype=np.int64),
            skill_ptr=np.asarray(self._ptr, dtype=np.int64),
            skill_idx=np.asarray(self._skills, dtype=np.int64),
            correct=np.asarray(self._correct, dtype=np.int8),
            time=np.asarray(self._time, dtype=np.float64),
            has_time=self._has_time and bool(self._correct),
        )
