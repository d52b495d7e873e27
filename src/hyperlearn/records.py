"""Where a bad record of an input file is and why it was skipped, for every reader."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """One skipped (or, for a repeated learner in a log, renamed) record."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"
