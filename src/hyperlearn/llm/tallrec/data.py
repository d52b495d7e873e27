"""TALLRec-style instruction data: "given the learner's last interactions, will they answer the
next exercise correctly? Yes or No".

Pure: no torch, no database. A learner's attempts come in as an ordered sequence of
`Interaction`s (from the database, a knowledge-tracing log file, or the policy's own state);
each attempt becomes one `Example` whose input holds only the attempts *before* it, so no
example ever sees its own outcome or a later one. Train and validation are split by learner, so
no learner's answers inform the model that is then scored on them.

The prompt built here is the one the tuned model is scored with (`prompt`), so training and
ranking can never drift apart.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hyperlearn.core.items import Item
from hyperlearn.core.kt.log import InteractionLog
from hyperlearn.core.skills import SkillGraph

INSTRUCTION = (
    "Given the learner's last interactions, will they answer the next exercise correctly? "
    "Answer Yes or No."
)
YES = "Yes"
NO = "No"
TRAIN = "train"
VALIDATION = "validation"
DEFAULT_HISTORY = 10
MAX_HISTORY = 100
MAX_TEXT_CHARS = 100  # of an exercise's text in a description: the gist, not the essay
# Alpaca's layout, as TALLRec uses it. Changing it invalidates every tuned adapter.
TEMPLATE = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"


class TallRecDataError(ValueError):
    """Bad export options or a malformed data file (with the line it is on)."""


@dataclass(frozen=True, slots=True)
class Interaction:
    """One answered exercise: what it was (a short description) and whether it was right."""

    item_id: str
    description: str
    correct: bool


@dataclass(frozen=True, slots=True)
class Example:
    """One instruction record, with where it came from (for checks and for the split)."""

    instruction: str
    input: str
    output: str  # YES or NO: the real outcome of the target attempt
    learner: str  # pseudonymous learner id (a hash): exported files name no account
    position: int  # the target attempt's index in the learner's sequence
    item_id: str  # the target exercise
    history_item_ids: tuple[str, ...]  # the exercises in `input`, oldest first
    split: str = TRAIN

    def to_json(self) -> dict[str, object]:
        return {
            "instruction": self.instruction,
            "input": self.input,
            "output": self.output,
            "learner": self.learner,
            "position": self.position,
            "item_id": self.item_id,
            "history_item_ids": list(self.history_item_ids),
            "split": self.split,
        }

    @classmethod
    def from_json(cls, data: object) -> Example:
        if not isinstance(data, dict):
            raise TallRecDataError("a record must be a JSON object")
        try:
            example = cls(
                instruction=_text(data, "instruction"),
                input=_text(data, "input"),
                output=_text(data, "output"),
                learner=str(data.get("learner", "")),
                position=int(data.get("position", 0)),
                item_id=str(data.get("item_id", "")),
                history_item_ids=tuple(str(i) for i in data.get("history_item_ids", ())),
                split=str(data.get("split", TRAIN)),
            )
        except (TypeError, ValueError) as exc:
            raise TallRecDataError(str(exc)) from exc
        if example.output not in (YES, NO):
            raise TallRecDataError(f"output must be {YES!r} or {NO!r}, not {example.output!r}")
        if example.split not in (TRAIN, VALIDATION):
            raise TallRecDataError(f"split must be {TRAIN!r} or {VALIDATION!r}")
        return example

    @property
    def label(self) -> bool:
        return self.output == YES

    @property
    def prompt(self) -> str:
        return prompt(self.instruction, self.input)


def _text(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise TallRecDataError(f"{key!r} must be a non-empty string")
    return value


def prompt(instruction: str, input_text: str) -> str:
    return TEMPLATE.format(instruction=instruction, input=input_text)


def describe_item(item: Item, graph: SkillGraph) -> str:
    """'Past simple (A1, cloze): "Yesterday I ___ (go) home."': skill, level, type, text."""
    skill = graph[item.primary_skill].name if item.primary_skill in graph else item.primary_skill
    text = " ".join(item.text.split())
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 3].rstrip() + "..."
    return f'{skill} ({item.level}, {item.type}): "{text}"'


def format_input(history: Sequence[Interaction], target_description: str) -> str:
    """The `input` of an example: the history (oldest first, right or wrong) and the target."""
    if history:
        lines = ["The learner's last interactions (oldest first):"]
        lines += [
            f"{n}. {h.description} -> {'right' if h.correct else 'wrong'}"
            for n, h in enumerate(history, 1)
        ]
    else:
        lines = ["The learner has no earlier interactions."]
    lines.append(f"Next exercise: {target_description}")
    return "\n".join(lines)


def pseudonym(learner_id: str) -> str:
    return hashlib.sha256(learner_id.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ExportOptions:
    history: int = DEFAULT_HISTORY
    validation_share: float = 0.1  # share of learners held out for validation
    # "No" examples per "Yes" example wanted in the train split (the majority is subsampled);
    # None keeps the data as it is. Validation always keeps the real distribution.
    negatives_ratio: float | None = None
    limit: int | None = None  # at most this many examples, drawn at random
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.history <= MAX_HISTORY:
            raise TallRecDataError(f"history must be between 0 and {MAX_HISTORY}")
        if not 0 <= self.validation_share < 1:
            raise TallRecDataError("the validation share must be in [0, 1)")
        if self.negatives_ratio is not None and not (
            math.isfinite(self.negatives_ratio) and self.negatives_ratio > 0
        ):
            raise TallRecDataError("negatives ratio must be a positive number")
        if self.limit is not None and self.limit < 1:
            raise TallRecDataError("limit must be at least 1")


LearnerSequence = tuple[str, Sequence[Interaction]]  # (learner id, attempts in time order)


def build_examples(
    sequences: Iterable[LearnerSequence], options: ExportOptions | None = None
) -> list[Example]:
    """One example per attempt, its input made of the `history` attempts before it only;
    then the limit, the split by learner and the train-split balancing, all seeded."""
    options = options or ExportOptions()
    examples: list[Example] = []
    for learner_id, attempts in sequences:
        learner = pseudonym(learner_id)
        for k, target in enumerate(attempts):
            history = attempts[max(0, k - options.history) : k]
            examples.append(
                Example(
                    instruction=INSTRUCTION,
                    input=format_input(history, target.description),
                    output=YES if target.correct else NO,
                    learner=learner,
                    position=k,
                    item_id=target.item_id,
                    history_item_ids=tuple(h.item_id for h in history),
                )
            )
    rng = random.Random(options.seed)
    if options.limit is not None and len(examples) > options.limit:
        keep = sorted(rng.sample(range(len(examples)), options.limit))
        examples = [examples[n] for n in keep]
    held_out = _validation_learners(sorted({e.learner for e in examples}), options, rng)
    split = [replace(e, split=VALIDATION if e.learner in held_out else TRAIN) for e in examples]
    if options.negatives_ratio is not None:
        split = _balance(split, options.negatives_ratio, rng)
    return split


def _validation_learners(
    learners: list[str], options: ExportOptions, rng: random.Random
) -> frozenset[str]:
    if options.validation_share <= 0 or len(learners) < 2:
        return frozenset()
    # At least one learner when a share is asked for, never all of them.
    count = min(len(learners) - 1, max(1, round(options.validation_share * len(learners))))
    shuffled = list(learners)
    rng.shuffle(shuffled)
    return frozenset(shuffled[:count])


def _balance(examples: list[Example], ratio: float, rng: random.Random) -> list[Example]:
    """Subsample the train split's majority class to `ratio` No per Yes (validation kept)."""
    train = [n for n, e in enumerate(examples) if e.split == TRAIN]
    yes = [n for n in train if examples[n].label]
    no = [n for n in train if not examples[n].label]
    if not yes or not no:
        return examples
    if len(no) > ratio * len(yes):
        dropped = set(rng.sample(no, len(no) - max(1, round(ratio * len(yes)))))
    else:
        dropped = set(rng.sample(yes, len(yes) - max(1, round(len(no) / ratio))))
    return [e for n, e in enumerate(examples) if n not in dropped]


def sequences_from_log(
    log: InteractionLog,
    learners: Sequence[str],
    items: Sequence[str],
    skills: Sequence[str],
) -> list[LearnerSequence]:
    """A knowledge-tracing log (see hyperlearn.evaluation.kt_data) as learner sequences. Public
    logs carry ids only, so an exercise is described by its skills and its id."""
    result: list[LearnerSequence] = []
    for start, end in log.learner_spans():
        attempts = []
        for row in range(start, end):
            item = items[int(log.item[row])]
            skill_names = ", ".join(skills[int(s)] for s in log.skills_of(row))
            attempts.append(
                Interaction(item, f"skill {skill_names}, exercise {item}", bool(log.correct[row]))
            )
        result.append((learners[int(log.learner[start])], attempts))
    return result


def write_jsonl(examples: Sequence[Example], path: Path) -> None:
    """Write all examples or nothing: a temporary file beside `path`, renamed at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for example in examples:
                out.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_jsonl(path: Path) -> list[Example]:
    return list(_read(path))


def _read(path: Path) -> Iterator[Example]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise TallRecDataError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield Example.from_json(json.loads(line))
            except (json.JSONDecodeError, TallRecDataError) as exc:
                raise TallRecDataError(f"{path}:{number}: {exc}") from exc


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ExportReport:
    path: Path
    learners: int
    examples: int
    train: int
    validation: int
    yes_share: float  # of all exported examples: how often the next answer was right

    @classmethod
    def of(cls, examples: Sequence[Example], path: Path) -> ExportReport:
        validation = sum(e.split == VALIDATION for e in examples)
        return cls(
            path=path,
            learners=len({e.learner for e in examples}),
            examples=len(examples),
            train=len(examples) - validation,
            validation=validation,
            yes_share=sum(e.label for e in examples) / max(1, len(examples)),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "learners": self.learners,
            "examples": self.examples,
            "train": self.train,
            "validation": self.validation,
            "yes_share": self.yes_share,
        }
