"""Readers for knowledge-tracing logs in the public formats and in HyperLearn's own export.

Every reader streams its file line by line and returns `(InteractionLog, problems)`: a malformed
record (wrong number of lines, columns of different lengths, a response that is not 0 or 1, an id
that is not an integer) is skipped whole and reported as a `RecordProblem` with its file and line;
it never stops the load. Pass the same `Vocabularies` to the train and the test file of a fold so
that a problem, a skill or a learner keeps one index in both logs.

Formats:

- ``akt``: 4 lines per learner, as in the AKT repository's ``*_pid`` files:
  ``<learner index>,<original id>`` / problem ids / skill ids / responses (0 or 1), comma
  separated. Item = problem id. Those files expand a multi-skill attempt into consecutive rows
  with the same problem id and response but different skills: such a run is read back as ONE
  attempt with several skills (see `collapse_multiskill_runs`), never as several attempts that
  would reveal each other's answer.
- ``dkvmn``: 3 lines per learner: sequence length / skill ids / responses. Item = skill. The
  files carry no learner ids, so a learner is named ``<file name>:<line>``.
- ``pykt``: pyKT's CSV (``fold,uid,concepts,responses[,questions][,timestamps]...``) with quoted
  comma lists. Item = question when a ``questions`` column exists, else the concept; a concept
  ``12_45`` is one attempt on skills 12 and 45 (pyKT's multi-skill notation); positions padded
  with -1 are dropped; ``timestamps`` (milliseconds, pyKT's unit) become seconds.
- ``hyperlearn``: the CSV of our own attempts, header
  ``learner_id,item_id,skills,correct,answered_at``, skills separated by ``;``, answered_at in
  ISO-8601 UTC (a time without offset is read as UTC). Rows may come in any order; each learner's
  rows are put in time order (ties keep file order).

When a source has no timestamps, `InteractionLog.time` is the attempt's position (an order only).
A learner id that appears twice in one file is reported and read as a separate learner
``<id>#2``, so each learner's rows stay one contiguous block.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO, get_args

from hyperlearn.core.kt.log import InteractionLog, LogBuilder, Vocabulary
from hyperlearn.records import RecordProblem

LogFormat = Literal["akt", "dkvmn", "pykt", "hyperlearn"]
FORMATS: tuple[str, ...] = get_args(LogFormat)
HYPERLEARN_COLUMNS = ("learner_id", "item_id", "skills", "correct", "answered_at")
_TRUE = {"1", "true"}
_FALSE = {"0", "false"}


@dataclass
class Vocabularies:
    """The label-to-index maps of one benchmark fold, shared by its train and test logs."""

    items: Vocabulary = field(default_factory=Vocabulary)
    skills: Vocabulary = field(default_factory=Vocabulary)
    learners: Vocabulary = field(default_factory=Vocabulary)


class UnknownFormatError(ValueError):
    pass


class _RecordError(Exception):
    """A malformed record: skip it, report `line` and the message."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Sink:
    """What every reader shares: the builder, the vocabularies, the problem list."""

    def __init__(self, path: Path, vocab: Vocabularies, max_learners: int | None) -> None:
        self.path = path
        self.vocab = vocab
        self.max_learners = max_learners
        self.builder = LogBuilder()
        self.problems: list[RecordProblem] = []
        self._seen: dict[str, int] = {}

    @property
    def full(self) -> bool:
        return self.max_learners is not None and len(self._seen) >= self.max_learners

    def problem(self, line: int, message: str) -> None:
        self.problems.append(RecordProblem(str(self.path), line, message))

    def learner(self, label: str, line: int) -> int:
        times = self._seen.get(label, 0) + 1
        self._seen[label] = times
        if times > 1:
            renamed = f"{label}#{times}"
            self.problem(line, f"learner {label!r} appears again; read as learner {renamed!r}")
            self._seen[renamed] = 1
            label = renamed
        return self.vocab.learners.index(label)

    def add(
        self,
        learner: int,
        item: str,
        skills: Sequence[str],
        correct: bool,
        time: float | None = None,
    ) -> None:
        self.builder.add(
            learner,
            self.vocab.items.index(item),
            [self.vocab.skills.index(s) for s in skills],
            correct,
            time,
        )


def load_log(
    path: str | Path,
    fmt: str,
    vocab: Vocabularies | None = None,
    *,
    max_learners: int | None = None,
) -> tuple[InteractionLog, list[RecordProblem]]:
    """Read one file of format `fmt` (see the module docstring). `max_learners` keeps only the
    first N learners of the file, for quick runs."""
    readers = {
        "akt": _read_akt,
        "dkvmn": _read_dkvmn,
        "pykt": _read_pykt,
        "hyperlearn": _read_hyperlearn,
    }
    reader = readers.get(fmt)
    if reader is None:
        raise UnknownFormatError(f"unknown log format {fmt!r}; expected one of {FORMATS}")
    sink = _Sink(Path(path), vocab if vocab is not None else Vocabularies(), max_learners)
    with sink.path.open(encoding="utf-8-sig", newline="") as handle:
        reader(handle, sink)
    return sink.builder.build(), sink.problems


def collapse_multiskill_runs(
    items: Sequence[str], skills: Sequence[str], correct: Sequence[bool]
) -> list[tuple[str, list[str], bool]]:
    """Undo the expansion of multi-skill attempts: consecutive rows with the same item and the
    same response whose skills are all different are one attempt with those skills. A row whose
    skill is already in the current run starts a new attempt (a genuine repeat)."""
    attempts: list[tuple[str, list[str], bool]] = []
    for item, skill, right in zip(items, skills, correct, strict=True):
        if attempts:
            last_item, last_skills, last_right = attempts[-1]
            if last_item == item and last_right == right and skill not in last_skills:
                last_skills.append(skill)
                continue
        attempts.append((item, [skill], right))
    return attempts


# ---------------------------------------------------------------- fixed-line formats


def _groups(handle: TextIO, size: int, sink: _Sink) -> Iterator[list[tuple[int, str]]]:
    """Consecutive groups of `size` non-blank lines, with their 1-based line numbers."""
    group: list[tuple[int, str]] = []
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        group.append((number, text.strip()))
        if len(group) == size:
            yield group
            group = []
    if group:
        sink.problem(
            group[0][0],
            f"incomplete record: {len(group)} of {size} lines before the end of the file",
        )


def _fields(line: int, text: str, what: str) -> list[str]:
    fields = [f.strip() for f in text.rstrip(",").split(",")]
    if not fields or any(not f for f in fields):
        raise _RecordError(line, f"empty field in the {what} line")
    return fields


def _ints(line: int, text: str, what: str) -> list[str]:
    """Integer labels, normalised ("007" -> "7")."""
    out = []
    for position, value in enumerate(_fields(line, text, what), start=1):
        try:
            out.append(str(int(value)))
        except ValueError:
            raise _RecordError(
                line, f"{what} #{position} is not an integer: {value[:20]!r}"
            ) from None
    return out


def _responses(line: int, values: Sequence[str], what: str = "response") -> list[bool]:
    out = []
    for position, value in enumerate(values, start=1):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            out.append(True)
        elif lowered in _FALSE:
            out.append(False)
        else:
            where = f"{what} #{position}" if len(values) > 1 else what
            raise _RecordError(line, f"{where} is not 0 or 1: {value[:20]!r}")
    return out


def _read_akt(handle: TextIO, sink: _Sink) -> None:
    for group in _groups(handle, 4, sink):
        if sink.full:
            return
        (l_head, head), (l_items, items), (l_skills, skills), (l_resp, resp) = group
        try:
            header = [f.strip() for f in head.split(",")]
            if len(header) > 2 or not header[0]:
                raise _RecordError(
                    l_head,
                    "expected a learner line '<index>,<original id>' "
                    f"(records are 4 lines; is one missing above?): {head[:40]!r}",
                )
            item_ids = _ints(l_items, items, "problem id")
            skill_ids = _ints(l_skills, skills, "skill id")
            correct = _responses(l_resp, _fields(l_resp, resp, "response"))
            if not len(item_ids) == len(skill_ids) == len(correct):
                raise _RecordError(
                    l_head,
                    f"length mismatch: {len(item_ids)} problem ids, {len(skill_ids)} skill ids, "
                    f"{len(correct)} responses",
                )
        except _RecordError as error:
            sink.problem(error.line, error.message)
            continue
        learner = sink.learner(header[0], l_head)
        for item, item_skills, right in collapse_multiskill_runs(item_ids, skill_ids, correct):
            sink.add(learner, item, item_skills, right)


def _read_dkvmn(handle: TextIO, sink: _Sink) -> None:
    for group in _groups(handle, 3, sink):
        if sink.full:
            return
        (l_len, length_text), (l_skills, skills), (l_resp, resp) = group
        try:
            try:
                length = int(length_text)
            except ValueError:
                raise _RecordError(
                    l_len,
                    "expected the sequence length "
                    f"(records are 3 lines; is one missing above?): {length_text[:40]!r}",
                ) from None
            skill_ids = _ints(l_skills, skills, "skill id")
            correct = _responses(l_resp, _fields(l_resp, resp, "response"))
            if not length == len(skill_ids) == len(correct):
                raise _RecordError(
                    l_len,
                    f"length mismatch: length {length}, {len(skill_ids)} skill ids, "
                    f"{len(correct)} responses",
                )
        except _RecordError as error:
            sink.problem(error.line, error.message)
            continue
        learner = sink.learner(f"{sink.path.name}:{l_len}", l_len)
        for skill, right in zip(skill_ids, correct, strict=True):
            sink.add(learner, skill, [skill], right)


# ---------------------------------------------------------------- CSV formats


def _header(reader: Iterator[list[str]], sink: _Sink, required: Sequence[str]) -> dict[str, int]:
    first = next(reader, None)
    if first is None:
        sink.problem(1, "empty file: no header")
        return {}
    columns = {name.strip(): n for n, name in enumerate(first)}
    missing = [name for name in required if name not in columns]
    if missing:
        sink.problem(1, f"header lacks column(s) {', '.join(missing)}; nothing read")
        return {}
    return columns


def _read_pykt(handle: TextIO, sink: _Sink) -> None:
    reader = csv.reader(handle)
    columns = _header(reader, sink, ("uid", "concepts", "responses"))
    if not columns:
        return
    has_questions = "questions" in columns
    has_times = "timestamps" in columns
    for row in reader:
        if sink.full:
            return
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != len(columns):
                raise _RecordError(line, f"{len(row)} columns, the header has {len(columns)}")
            uid = row[columns["uid"]].strip()
            if not uid:
                raise _RecordError(line, "empty uid")
            concepts = _fields(line, row[columns["concepts"]], "concept")
            responses = _fields(line, row[columns["responses"]], "response")
            lists = {"concepts": concepts, "responses": responses}
            if has_questions and row[columns["questions"]].strip().upper() != "NA":
                lists["questions"] = _fields(line, row[columns["questions"]], "question")
            if has_times and row[columns["timestamps"]].strip().upper() != "NA":
                lists["timestamps"] = _fields(line, row[columns["timestamps"]], "timestamp")
            lengths = {name: len(values) for name, values in lists.items()}
            if len(set(lengths.values())) != 1:
                counts = ", ".join(f"{n} {name}" for name, n in lengths.items())
                raise _RecordError(line, f"length mismatch: {counts}")
            keep = [
                n
                for n in range(len(concepts))
                if not (concepts[n] == "-1" and responses[n] == "-1")  # pyKT's padding
            ]
            if not keep:
                raise _RecordError(line, "no attempts")
            correct = _responses(line, [responses[n] for n in keep])
            skills = []
            for n in keep:
                try:
                    skills.append([str(int(s)) for s in concepts[n].split("_")])
                except ValueError:
                    raise _RecordError(
                        line, f"concept #{n + 1} is not an integer: {concepts[n][:20]!r}"
                    ) from None
            questions = lists.get("questions")
            items = [questions[n] if questions else "_".join(skills[k]) for k, n in enumerate(keep)]
            times: list[float | None] = [None] * len(keep)
            if "timestamps" in lists:
                try:
                    times = [float(lists["timestamps"][n]) / 1000.0 for n in keep]
                except ValueError:
                    raise _RecordError(line, "a timestamp is not a number") from None
        except _RecordError as error:
            sink.problem(error.line, error.message)
            continue
        learner = sink.learner(uid, line)
        for item, item_skills, right, time in zip(items, skills, correct, times, strict=True):
            sink.add(learner, item, item_skills, right, time)


def _parse_time(line: int, text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _RecordError(line, f"answered_at is not ISO-8601: {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _read_hyperlearn(handle: TextIO, sink: _Sink) -> None:
    reader = csv.reader(handle)
    columns = _header(reader, sink, HYPERLEARN_COLUMNS)
    if not columns:
        return
    width = max(columns.values()) + 1
    # Rows may be in any order: gather each learner's rows, then emit learner by learner.
    learners: dict[str, list[tuple[float, int, str, list[str], bool]]] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) < width:
                raise _RecordError(line, f"{len(row)} columns, the header has {len(columns)}")
            learner = row[columns["learner_id"]].strip()
            item = row[columns["item_id"]].strip()
            if not learner or not item:
                raise _RecordError(line, "empty learner_id or item_id")
            skills = [s.strip() for s in row[columns["skills"]].split(";") if s.strip()]
            if not skills:
                raise _RecordError(line, "no skills")
            (right,) = _responses(line, [row[columns["correct"]]], "correct")
            time = _parse_time(line, row[columns["answered_at"]])
        except _RecordError as error:
            sink.problem(error.line, error.message)
            continue
        if learner not in learners:
            if sink.max_learners is not None and len(learners) >= sink.max_learners:
                continue
            learners[learner] = []
            first_line[learner] = line
        learners[learner].append((time, line, item, skills, right))
    for label, rows in learners.items():
        index = sink.learner(label, first_line[label])
        for time, _, item, skills, right in sorted(rows, key=lambda r: (r[0], r[1])):
            sink.add(index, item, skills, right, time)
