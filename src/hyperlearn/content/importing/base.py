"""The contract every corpus importer follows.

A format module exposes one generator:

    def generate(paths: Sequence[Path], run: ImportRun) -> Iterator[Candidate]

It streams the files record by record (never a whole corpus in memory), calls
`run.record_read()` once per source record (a sentence, an M2 block, a pair), reports a
malformed record with `run.malformed(path, line, message)` and goes on, counts each item idea it
gives up on with `run.drop(reason)`, and yields a `Candidate` for every item it builds. It stops
when `run.exhausted` (the --limit was reached).

Every candidate then goes through `verify` (verifier.py): the answer is recomputed from the
source annotation carried in `Evidence`, and an item that fails is dropped with a counted reason,
never stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hyperlearn.core import Item, Language, SkillGraph, Topic
from hyperlearn.records import RecordProblem

PROGRESS_EVERY = 100  # records read between progress callbacks


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the source annotation says, independently of how the builder phrased the item.

    - `gold`: the sentence as the annotation says it is correct (M2: every correction applied;
      CoNLL-U: the original sentence; pairs: the acceptable sentence), detokenised.
    - `wrong`: the sentence with the error in it (M2: only this edit's error left; pairs: the
      unacceptable sentence), or "" when the source has none (treebanks).
    """

    gold: str
    wrong: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    item: Item
    evidence: Evidence


@dataclass
class ImportRun:
    """Shared state of one import: the context a builder needs and the counters it feeds."""

    language: Language
    graph: SkillGraph
    topics: Mapping[str, Topic]
    source: str  # provenance: source name, e.g. "UD English-EWT"
    licence: str
    limit: int | None = None  # stop after this many kept items
    read: int = 0
    generated: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    malformed_records: list[RecordProblem] = field(default_factory=list)
    # Called every PROGRESS_EVERY records read: some files yield few exercises for many records,
    # so progress follows reading, not building.
    on_progress: Callable[[ImportRun], None] | None = None

    def record_read(self) -> None:
        self.read += 1
        if self.on_progress is not None and self.read % PROGRESS_EVERY == 0:
            self.on_progress(self)

    def malformed(self, path: Path, line: int, message: str) -> None:
        self.malformed_records.append(RecordProblem(path.name, line, message))
        self.dropped["malformed record"] += 1

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.kept >= self.limit


class Generate(Protocol):
    def __call__(self, paths: Sequence[Path], run: ImportRun) -> Iterator[Candidate]: ...


@dataclass
class ImportReport:
    read: int
    generated: int
    kept: int
    added: int  # kept items that were new to the database (0 on a dry run or a re-import)
    dropped: dict[str, int]
    per_skill: dict[str, int]
    per_type: dict[str, int]
    per_level: dict[str, int]
    seconds: float
    malformed: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "generated": self.generated,
            "kept": self.kept,
            "added": self.added,
            "dropped": self.dropped,
            "per_skill": self.per_skill,
            "per_type": self.per_type,
            "per_level": self.per_level,
            "seconds": round(self.seconds, 3),
            "malformed": self.malformed[:100],
        }
