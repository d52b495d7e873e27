"""GEC corpora in M2 format -> `correction`, `choice` and `judgement` items.

An M2 file is a stream of blocks separated by blank lines: one `S` line (the learner's
tokenised text) and `A` lines, one per edit of one annotator:

    S I go to school yesterday .
    A 1 2|||R:VERB:TENSE|||went|||REQUIRED|||-NONE-|||0

Every answer key comes from the annotation; nothing is guessed. The rules, each with the drop
reason it counts:

- A block's text is cut into sentences (a lower-cased source such as ReLCo gets a capital at
  the start); an edit that crosses a sentence end joins the two. Each sentence is handled on
  its own: edits elsewhere in the paragraph do not matter to it.
- `noop` annotations say "no error": counted as "noop", they build nothing by themselves.
- Edits of different annotators that overlap are one error site. An edit that only changes
  casing (the grader ignores case), or only punctuation when no skill covers its type, is
  dropped ("punctuation or casing only"); a type listed in the graph's `unmapped_errant` or
  mapped to no skill is "unmapped error type".
- Two edits of one annotator that overlap make that annotator's corrected sentence
  ill-defined: "overlapping edits". A site that some annotator left alone (no edit there, or
  `noop`) is one where the annotators disagree whether there is an error at all: "annotators
  disagree".
- The item's sentences come from one reference annotator (the first whose single edit at the
  site works): `gold` has every edit of that annotator applied, `wrong` every edit but the
  target's. If another annotator marked an error the reference annotator left alone, `wrong`
  would still hold an unresolved error: "unresolved errors in sentence". Another annotator's
  different correction of the same site is accepted as a second answer of the correction item
  when, with the reference's other edits, it gives exactly that annotator's own corrected
  sentence; it is never a distractor.
- A one-word edit whose learner's word copies a neighbour rather than its correction is an
  alignment slip of the file: "misaligned edit".
- Both sentences pass `text.sentence_problem` (its reasons are the drop reasons).
- Russian grammatical types (case, number, gender, tense, mood, aspect) are believed only when
  pymorphy3 sees that difference between the two words: "error type does not fit the words".
- Files written the other way round (`FilePlan`: the correct text on the S line, learners'
  answers on the A lines, as in most of ReLCo's errors_tagged.m2) are turned round first. Their
  "errors" are automatic (an answer differs from the text), so only answers that are surely
  wrong there are kept (`ru_surely_wrong`: case and agreement errors within one lexeme), the
  S line must hold dictionary words only and read the same in every copy of the text.
- The skill: of the skills the graph maps the edit type to (curriculum order), the one whose
  forms fit the corrected words best (`answer_forms` patterns around the edit and closed-class
  UD features for English, pymorphy3 grammemes for Russian, plus explicit lexical rules in
  `_EN_RULES` / `_RU_RULES`, e.g. relative clauses need who/which/that, conditionals need "if");
  if nothing fits better, the first skill; if every skill is ruled out: "no skill fits the
  edit".
- Items per kept edit: a `correction` (the sentence with only this error), a `judgement` of
  that sentence ("incorrect", with the gold as its correction) and, for short replacements
  (1-3 tokens on both sides), a `choice` with a gap at the edit in the gold sentence: the gold
  words, the learner's words and inflections of the gold word (lemminflect / pymorphy3) that
  are wrong in that slot by explicit rules (`_en_forms`, `_ru_forms`); never a form that gives
  any accepted sentence back. Once per sentence whose edits are all resolved, a "correct"
  judgement of the gold sentence under the skill of its first kept edit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from hyperlearn.content.importing.base import Candidate, Evidence, ImportRun
from hyperlearn.content.importing.difficulty import estimate_level
from hyperlearn.content.importing.text import detokenize as _text_detokenize
from hyperlearn.content.importing.text import sentence_problem, truecase
from hyperlearn.content.importing.topics import tag_topics
from hyperlearn.content.morphology import PENN_TAGS, english_inflections, russian_analyzer
from hyperlearn.core import (
    GAP,
    CEFRLevel,
    Item,
    ItemType,
    Language,
    Provenance,
    Skill,
    normalize,
)

# Drop reasons (stable: they are counted and shown to users).
NOOP = "noop"
PUNCTUATION_OR_CASING = "punctuation or casing only"
UNMAPPED = "unmapped error type"
OVERLAPPING = "overlapping edits"
DISAGREE = "annotators disagree"
SPLIT = "annotators split the edit differently"
UNRESOLVED = "unresolved errors in sentence"
MISALIGNED = "misaligned edit"
IN_DOUBT = "correct text differs between copies"
NON_WORD = "non-word in the correct text"
TYPE_MISFIT = "error type does not fit the words"
UNVERIFIED = "automatic annotation: the learner's form may be right"
NO_CHANGE = "no visible change"
NO_SKILL = "no skill fits the edit"
CHOICE_SHAPE = "choice: not a short replacement"
CHOICE_GAP = "choice: gap splits a word"
CHOICE_FEW = "choice: too few distractors"

MAX_CHOICE_TOKENS = 3
MAX_DISTRACTORS = 4  # the learner's words and up to three inflections
_CACHE_SIZE = 64
_NONE = "-NONE-"
_FIELDS = 6
_BOM = "\ufeff"
_MIN_VOTES = 5
_MIN_COPIES = 3
_VOTE_RATIO = 3


class M2FormatError(ValueError):
    """The file is not M2 at all (raised before anything is built)."""


def detokenize(tokens: Sequence[str]) -> str:
    """`text.detokenize`, with a plural possessive's lone apostrophe kept on its word
    ("learners ' control" -> "learners' control")."""
    joined: list[str] = []
    for piece in tokens:
        if piece == "'" and joined and joined[-1][-1:] in ("s", "S"):
            joined[-1] += piece
        else:
            joined.append(piece)
    return _text_detokenize(joined)


# ---------------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    type: str
    correction: tuple[str, ...]
    annotator: str

    @property
    def insertion(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True, slots=True)
class Block:
    file: str
    line: int  # of the S line
    tokens: tuple[str, ...]
    annotators: tuple[str, ...]  # in order of appearance, `noop` ones included
    edits: tuple[Edit, ...]
    noops: int
    turned: bool = False  # read from a part with the learner's answers on the A lines
    automatic: bool = False  # from a file of automatic annotation (see `FilePlan`)
    doubtful: frozenset[int] = frozenset()  # tokens whose correct text is in doubt


def check_format(path: Path) -> None:
    """Refuse a file whose first non-blank line is not an M2 `S` line."""
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            if raw.strip():
                if not raw.replace(_BOM, "").startswith("S "):
                    raise M2FormatError(
                        f"{path}: not an M2 file (the first line should start with 'S ')"
                    )
                return
    raise M2FormatError(f"{path}: empty file, not an M2 file")


def read_blocks(path: Path, run: ImportRun) -> Iterator[Block]:
    """Stream the blocks of one file; a malformed block is reported (file, line) and skipped.
    Blocks of a part written the other way round (see `FilePlan`) come back turned round."""
    plan = FilePlan.of(path, run.language)
    header: tuple[int, str] | None = None
    annotations: list[tuple[int, str]] = []

    def finish() -> Iterator[Block]:
        if header is None and not annotations:
            return
        first = header[0] if header else annotations[0][0]
        yield from _finish(path, header, annotations, run, plan, first)

    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.replace(_BOM, "").rstrip("\r\n")
            if line.startswith("S ") or line == "S":
                yield from finish()
                header, annotations = (number, line), []
            elif not line.strip():
                yield from finish()
                header, annotations = None, []
            else:
                annotations.append((number, line))
    yield from finish()


CopyKey = tuple[int, bool, tuple[str, ...]]
_SAME_TEXT = 0.75


def _copy_keys(tokens: Sequence[str]) -> tuple[CopyKey, CopyKey]:
    """A sentence is filed under its length with its first three tokens and with its last
    three, so that a copy with another answer left near one end is still found."""
    return (len(tokens), True, tuple(tokens[:3])), (len(tokens), False, tuple(tokens[-3:]))


@dataclass
class FilePlan:
    """What a first pass over a file tells the second one.

    Standard M2 has the learner's text on the S line and corrections on the A lines. Some
    published files (ReLCo's errors_tagged.m2 after its first part) keep the correct text on
    the S line and the learner's answers on the A lines, and some are several files joined (a
    byte-order mark inside a file starts a new part). A part is read as turned round when its
    non-word edits say so: among single-word edits where exactly one side is a dictionary
    word, the dictionary word is on the S line at least `_MIN_VOTES` times and three times as
    often as on the A lines.

    Such a file is an export of automatic annotation (Revita's: an exercise answer that differs
    from the text counts as an error), so every block of it, in whichever direction, is
    `automatic`. Its S lines are not always clean either: the same exercise text comes back
    many times, sometimes with another learner's answer left in it. `copies` holds every
    version of each sentence of such a file, with how often it comes; the versions of a
    sentence are those of its length that share three-quarters of its tokens, and a token on
    which they differ is in doubt unless at least three copies have it and two thirds of all
    copies agree with it. Where a one-word edit of some copy shows the text's word (`confirmed`),
    that word settles it: a token is in doubt exactly when it is another word."""

    parts: list[tuple[int, bool]]
    copies: dict[CopyKey, Counter[tuple[str, ...]]]
    # (sentence key, position) -> words the annotation shows to be the text's there
    confirmed: dict[tuple[CopyKey, int], set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, path: Path, language: Language) -> FilePlan:
        votes: list[tuple[int, int, int]] = []
        start, turned, standard = 1, 0, 0
        tokens: list[str] = []
        with path.open(encoding="utf-8") as handle:
            for number, raw in enumerate(handle, start=1):
                if _BOM in raw and number > 1:
                    votes.append((start, turned, standard))
                    start, turned, standard = number, 0, 0
                line = raw.replace(_BOM, "")
                if line.startswith("S "):
                    tokens = line[2:].split()
                elif line.startswith("A "):
                    vote = _direction_vote(line, tokens, language)
                    turned += vote > 0
                    standard += vote < 0
        votes.append((start, turned, standard))
        plan = cls([(s, t >= _MIN_VOTES and t > _VOTE_RATIO * d) for s, t, d in votes], {})
        if plan.automatic:
            plan.read_copies(path)
        return plan

    def read_copies(self, path: Path) -> None:
        """Every sentence of every S line, and the words that the one-word edits show to be
        the text's: the S word of a turned block, the correction of a standard one."""
        tokens: list[str] = []
        spans: list[tuple[int, int]] = []
        turned = False
        with path.open(encoding="utf-8") as handle:
            for number, raw in enumerate(handle, start=1):
                line = raw.replace(_BOM, "")
                if line.startswith("S "):
                    tokens, turned = line[2:].split(), self.turned(number)
                    spans = sentence_spans(tokens, ())
                    for start, end in spans:
                        copy = tuple(tokens[start:end])
                        for key in _copy_keys(copy):
                            self.copies.setdefault(key, Counter())[copy] += 1
                    continue
                parsed = _parse_annotation(line.rstrip("\r\n"), len(tokens))
                if isinstance(parsed, str) or parsed[1] is None:
                    continue
                edit = parsed[1]
                if edit.end != edit.start + 1 or len(edit.correction) != 1:
                    continue
                word = tokens[edit.start] if turned else edit.correction[0]
                if not _related(tokens[edit.start], edit.correction[0]):
                    continue  # an edit aligned with the wrong token shows nothing
                for start, end in spans:
                    if start <= edit.start < end:
                        for key in _copy_keys(tokens[start:end]):
                            self.confirmed.setdefault((key, edit.start - start), set()).add(word)

    @property
    def automatic(self) -> bool:
        return any(turned for _, turned in self.parts)

    def turned(self, line: int) -> bool:
        return next((t for start, t in reversed(self.parts) if start <= line), False)

    def doubtful(self, tokens: Sequence[str]) -> set[int]:
        """Positions of an S line whose token the copies of its sentence disagree on."""
        doubtful: set[int] = set()
        for start, end in sentence_spans(tokens, ()):
            sentence = tuple(tokens[start:end])
            versions: dict[tuple[str, ...], int] = {}
            for key in _copy_keys(sentence):
                for version, n in self.copies.get(key, Counter()).items():
                    same = sum(a == b for a, b in zip(version, sentence, strict=True))
                    if same >= _SAME_TEXT * len(sentence):
                        versions[version] = n
            total = sum(versions.values())
            keys = _copy_keys(sentence)
            for i, token in enumerate(sentence):
                shown = set().union(*(self.confirmed.get((key, i), set()) for key in keys))
                if shown:
                    if shown != {token}:
                        doubtful.add(start + i)
                    continue
                agree = sum(n for version, n in versions.items() if version[i] == token)
                if agree < total and (agree < _MIN_COPIES or agree * 3 < total * 2):
                    doubtful.add(start + i)
        return doubtful


def _related(a: str, b: str) -> bool:
    """Two words that could be forms of one word: alphabetic, same beginning."""
    if not (a.isalpha() and b.isalpha()):
        return False
    a, b = a.casefold(), b.casefold()
    shared = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return shared >= min(2, len(a), len(b))


def _direction_vote(line: str, tokens: Sequence[str], language: Language) -> int:
    """+1: the S side is the real word, -1: the A side is, 0: no evidence."""
    fields = line[2:].split("|||")
    if len(fields) != _FIELDS or fields[1].strip().casefold() == "noop":
        return 0
    try:
        start, end = (int(x) for x in fields[0].split())
    except ValueError:
        return 0
    before, after = tokens[start:end], fields[2].split()
    if end != start + 1 or end > len(tokens) or len(after) != 1:
        return 0
    if not (before[0].isalpha() and after[0].isalpha()):
        return 0
    known_before, known_after = _known(before[0], language), _known(after[0], language)
    return int(known_before) - int(known_after)


@lru_cache(maxsize=65536)
def _known(word: str, language: Language) -> bool:
    if language is Language.RU:
        return bool(russian_analyzer().word_is_known(word.casefold()))
    from wordfreq import zipf_frequency

    return bool(zipf_frequency(word.casefold(), str(language)) > 0)


_NAME_ZIPF = 2.0


@lru_cache(maxsize=65536)
def _plausible(word: str, language: Language) -> bool:
    """In the dictionary, or a word (a name, say) that people write often enough that it is
    not somebody's typo."""
    from wordfreq import zipf_frequency

    return _known(word, language) or zipf_frequency(word, str(language)) >= _NAME_ZIPF


def _finish(
    path: Path,
    header: tuple[int, str] | None,
    annotations: list[tuple[int, str]],
    run: ImportRun,
    plan: FilePlan | None = None,
    first_line: int = 1,
) -> Iterator[Block]:
    run.record_read()
    if header is None:
        run.malformed(path, annotations[0][0], "annotation without a sentence (S line)")
        return
    line_number, line = header
    tokens = tuple(line[2:].split())
    if not tokens:
        run.malformed(path, line_number, "empty sentence")
        return
    annotators: list[str] = []
    edits: list[Edit] = []
    noops = 0
    for number, text in annotations:
        parsed = _parse_annotation(text, len(tokens))
        if isinstance(parsed, str):
            run.malformed(path, number, parsed)
            return
        kind, edit, annotator = parsed
        if annotator not in annotators:
            annotators.append(annotator)
        if kind == "noop":
            noops += 1
        else:
            assert edit is not None
            edits.append(edit)
    if not annotators:
        return  # a sentence nobody annotated: nothing to learn from it
    turned = plan.turned(first_line) if plan else False
    automatic = plan.automatic if plan else False
    in_doubt = plan.doubtful(tokens) if plan and automatic and edits else set()
    if turned and edits:
        if len({e.annotator for e in edits}) > 1:
            run.malformed(path, line_number, "a turned-round block with several annotators")
            return
        if any(_overlap(a, b, touching=False) for i, a in enumerate(edits) for b in edits[:i]):
            run.drop(OVERLAPPING)
            return
        tokens, edits, where = turn_round(tokens, edits)
        in_doubt = {where[i] for i in in_doubt}
    else:
        # the learner's words under an edit are not part of the correct text
        in_doubt = {i for i in in_doubt if not any(e.start <= i < e.end for e in edits)}
    yield Block(
        path.name,
        line_number,
        tokens,
        tuple(annotators),
        tuple(edits),
        noops,
        turned,
        automatic,
        frozenset(in_doubt),
    )


def turn_round(
    tokens: Sequence[str], edits: Sequence[Edit]
) -> tuple[tuple[str, ...], list[Edit], list[int]]:
    """A block whose A lines hold the learner's answers, as standard M2: the learner's text,
    edits that correct it (a missing word becomes an unnecessary one and back), and where each
    S-line token went (an edited one: where its learner's words start)."""
    learner, spans = apply_edits(tokens, edits)
    flip = {"M": "U", "U": "M"}
    turned = [
        Edit(
            spans[e][0],
            spans[e][1],
            flip.get(e.type[:1], e.type[:1]) + e.type[1:],
            tuple(tokens[e.start : e.end]),
            e.annotator,
        )
        for e in edits
    ]
    where: list[int] = []
    shift = 0
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for i in range(len(tokens)):
        inside = next((e for e in ordered if e.start <= i < e.end), None)
        if inside is not None:
            where.append(spans[inside][0])
            continue
        shift = sum(len(e.correction) - (e.end - e.start) for e in ordered if e.end <= i)
        where.append(i + shift)
    return tuple(learner), turned, where


def _parse_annotation(text: str, length: int) -> str | tuple[str, Edit | None, str]:
    """(kind, edit, annotator) of one A line, or what is wrong with it."""
    if not text.startswith("A "):
        return "expected an 'S' or 'A' line"
    fields = text[2:].split("|||")
    if len(fields) != _FIELDS:
        return f"expected {_FIELDS} fields separated by '|||', found {len(fields)}"
    span = fields[0].split()
    error_type = fields[1].strip()
    annotator = fields[5].strip()
    if not error_type:
        return "no error type"
    if error_type.casefold() == "noop":
        return "noop", None, annotator
    try:
        start, end = (int(s) for s in span)
    except ValueError:
        return f"bad span {fields[0].strip()!r}"
    if not 0 <= start <= end <= length:
        return f"span {start} {end} is outside the sentence ({length} tokens)"
    correction = fields[2].strip()
    tokens = () if correction in ("", _NONE) else tuple(correction.split())
    if start == end and not tokens:
        return "an edit that changes nothing"
    return "edit", Edit(start, end, error_type, tokens, annotator), annotator


# ------------------------------------------------------------------------ sentences and sites

_SENTENCE_END = frozenset({".", "!", "?", "…"})
_CLOSING = frozenset({'"', "»", ")", "'", "”"})
_ABBREVIATIONS = frozenset(
    {"г", "гг", "т", "д", "др", "пр", "см", "им", "ул", "тыс", "млн", "млрд", "руб", "стр", "ст"}
    | {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "no", "jr", "sr", "prof", "inc", "ltd", "co"}
)


def sentence_spans(tokens: Sequence[str], edits: Iterable[Edit]) -> list[tuple[int, int]]:
    """Token ranges of the sentences of a block; an edit never straddles two of them."""
    cuts: set[int] = set()
    for i, token in enumerate(tokens[:-1]):
        if token not in _SENTENCE_END or tokens[i + 1] in _SENTENCE_END:
            continue
        previous = tokens[i - 1].casefold() if i else ""
        if previous in _ABBREVIATIONS:
            continue
        cut = i + 1
        while cut < len(tokens) and tokens[cut] in _CLOSING:
            cut += 1
        if cut < len(tokens):
            cuts.add(cut)
    for edit in edits:
        cuts -= {c for c in cuts if edit.start < c < edit.end}
    bounds = [0, *sorted(cuts), len(tokens)]
    return list(pairwise(bounds))


def _in_sentence(edit: Edit, start: int, end: int) -> bool:
    if edit.insertion and edit.start == start and start > 0:
        return False  # an insertion at a sentence break belongs to the sentence before it
    return start <= edit.start and edit.end <= end


def _overlap(a: Edit, b: Edit, *, touching: bool) -> bool:
    """Do two edits change the same text? An insertion overlaps a replacement it falls inside
    (at its edges too when `touching`) and another insertion at the same point."""
    if a.insertion and b.insertion:
        return a.start == b.start
    if a.insertion or b.insertion:
        point, other = (a.start, b) if a.insertion else (b.start, a)
        if touching:
            return other.start <= point <= other.end
        return other.start < point < other.end
    return a.start < b.end and b.start < a.end


@dataclass(frozen=True, slots=True)
class Site:
    """Overlapping edits of all annotators: one error, as each annotator saw it."""

    edits: tuple[Edit, ...]
    conflicted: frozenset[str]  # annotators with two overlapping edits here

    def of(self, annotator: str) -> list[Edit]:
        return [e for e in self.edits if e.annotator == annotator]

    @property
    def annotators(self) -> set[str]:
        return {e.annotator for e in self.edits}


def error_sites(edits: Sequence[Edit]) -> list[Site]:
    parent = list(range(len(edits)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    conflicts: set[int] = set()
    for i, a in enumerate(edits):
        for j in range(i + 1, len(edits)):
            b = edits[j]
            if a.annotator == b.annotator:
                if _overlap(a, b, touching=False):
                    parent[find(j)] = find(i)
                    conflicts.update((i, j))
            elif _overlap(a, b, touching=True):
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(edits)):
        groups.setdefault(find(i), []).append(i)
    sites = [
        Site(
            tuple(edits[i] for i in members),
            frozenset(edits[i].annotator for i in members if i in conflicts),
        )
        for members in groups.values()
    ]
    return sorted(sites, key=lambda s: min((e.start, e.end) for e in s.edits))


def apply_edits(
    tokens: Sequence[str], edits: Iterable[Edit], offset: int = 0
) -> tuple[list[str], dict[Edit, tuple[int, int]]]:
    """The tokens with the (non-overlapping) edits applied, and where each edit's correction
    landed in them."""
    out: list[str] = []
    spans: dict[Edit, tuple[int, int]] = {}
    position = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        start, end = edit.start - offset, edit.end - offset
        out.extend(tokens[position:start])
        spans[edit] = (len(out), len(out) + len(edit.correction))
        out.extend(edit.correction)
        position = max(position, end)
    out.extend(tokens[position:])
    return out, spans


# ------------------------------------------------------------------------------ the builder


@dataclass(frozen=True, slots=True)
class Target:
    """One error site, read through its reference annotator."""

    edit: Edit
    original: tuple[str, ...]  # the learner's tokens at the site
    wrong: tuple[str, ...]  # sentence with only this error left
    gold: tuple[str, ...]  # sentence with every edit of the reference annotator applied
    span: tuple[int, int]  # where the correction sits in `gold`
    alternatives: tuple[tuple[str, ...], ...]  # other annotators' full sentences
    other_corrections: tuple[tuple[str, ...], ...]  # other annotators' words at the site
    surely_wrong: bool = True  # False: automatic annotation that may call a right form wrong


@dataclass(frozen=True, slots=True)
class Sheet:
    """What every item of one error shares: its skill, gold sentence, record and explanation."""

    skill: Skill
    gold: str
    gold_tokens: tuple[str, ...]
    record: str
    explanation: str = ""


class Builder:
    def __init__(self, run: ImportRun) -> None:
        self.run = run
        self.language = run.language
        self.skills: dict[str, Skill] = dict(run.graph.skills)
        self.unmapped = run.graph.unmapped_errant
        self._level_cache: dict[tuple[str, str], tuple[CEFRLevel, tuple[str, ...]]] = {}

    def skills_for_error(self, error_type: str) -> list[Skill]:
        return [self.skills[s.id] for s in self.run.graph.skills_for_error(error_type)]

    # A block ------------------------------------------------------------------------------

    def block(self, block: Block) -> Iterator[Candidate]:
        for _ in range(block.noops):
            self.run.drop(NOOP)
        lowered = not any(c.isupper() for token in block.tokens for c in token)
        for start, end in sentence_spans(block.tokens, block.edits):
            edits = [e for e in block.edits if _in_sentence(e, start, end)]
            if edits:
                yield from self.sentence(block, start, end, edits, lowered)

    def text(self, tokens: Sequence[str], lowered: bool) -> str:
        text = detokenize(tokens)
        return truecase(text) if lowered else text

    def sentence(
        self, block: Block, start: int, end: int, edits: list[Edit], lowered: bool
    ) -> Iterator[Candidate]:
        tokens = block.tokens[start:end]
        sites = error_sites(edits)
        record = f"{block.file}:{block.line}"
        first: tuple[Skill, Target, str] | None = None
        for site in sites:
            found = self.target(block, site, sites, tokens, start)
            if isinstance(found, str):
                self.run.drop(found)
                continue
            target, skill = found
            if first is None:
                first = (skill, target, target.edit.annotator)
            if not target.surely_wrong:
                # The gold sentence is sound (it may still be judged correct below), the
                # learner's form may not be wrong.
                self.run.drop(UNVERIFIED)
                continue
            yield from self.edit_items(target, skill, record, lowered)
        if first is None:
            return
        skill, target, reference = first
        resolved = all(
            not site.conflicted and site.annotators >= set(block.annotators) for site in sites
        ) and all(site.of(reference) for site in sites)
        if resolved:
            gold = self.text(target.gold, lowered)
            sheet = Sheet(skill, gold, target.gold, record)
            yield self.candidate(sheet, ItemType.JUDGEMENT, gold, ("correct",))

    # A site -------------------------------------------------------------------------------

    def target(
        self,
        block: Block,
        site: Site,
        sites: list[Site],
        tokens: Sequence[str],
        offset: int,
    ) -> str | tuple[Target, Skill]:
        """The site read through its first workable reference annotator, with its skill; or
        why none works."""
        type_reasons = [self.type_problem(e, block.tokens) for e in site.edits]
        if all(type_reasons):
            return next(r for r in type_reasons if r)
        if site.conflicted:
            return OVERLAPPING
        if not site.annotators >= set(block.annotators):
            return DISAGREE
        first_reason: str | None = None
        for annotator in block.annotators:
            own = site.of(annotator)
            if len(own) != 1:
                continue
            found = self.through(own[0], site, sites, block, tokens, offset)
            if not isinstance(found, str):
                return found
            first_reason = first_reason or found
        return first_reason or SPLIT

    def type_problem(self, edit: Edit, tokens: Sequence[str]) -> str | None:
        original = tokens[edit.start : edit.end]
        skills = self.skills_for_error(edit.type)
        if _casefolded(original) == _casefolded(edit.correction):
            return PUNCTUATION_OR_CASING
        if not skills and _words(original) == _words(edit.correction):
            return PUNCTUATION_OR_CASING
        if not skills or edit.type in self.unmapped:
            return UNMAPPED
        return None

    def through(
        self,
        edit: Edit,
        site: Site,
        sites: list[Site],
        block: Block,
        tokens: Sequence[str],
        offset: int,
    ) -> str | tuple[Target, Skill]:
        """The site read through `edit`'s annotator: the wrong and gold sentences, the other
        annotators' accepted sentences and the skill; or why it cannot be an item."""
        reason = self.type_problem(edit, block.tokens)
        if reason:
            return reason
        if misaligned(edit, block.tokens):
            return MISALIGNED
        if any(offset <= i < offset + len(tokens) for i in block.doubtful):
            return IN_DOUBT
        reference = edit.annotator
        if any(reference in s.conflicted for s in sites):
            return OVERLAPPING
        if any(not s.of(reference) for s in sites):
            return UNRESOLVED
        rest = [e for s in sites if s is not site for e in s.of(reference)]
        wrong, _ = apply_edits(tokens, rest, offset)
        gold, spans = apply_edits(tokens, [*rest, edit], offset)
        key = normalize(detokenize(gold), self.language)
        if normalize(detokenize(wrong), self.language) == key:
            return NO_CHANGE
        alternatives: list[tuple[str, ...]] = []
        corrections: list[tuple[str, ...]] = []
        seen = {key, normalize(detokenize(wrong), self.language)}
        for annotator in block.annotators:
            if annotator == reference:
                continue
            theirs = site.of(annotator)
            if len(theirs) == 1:
                corrections.append(theirs[0].correction)
            if any(annotator in s.conflicted for s in sites):
                continue
            # Their correction of this error is accepted when it gives their own corrected
            # sentence: the rest of it must read as the reference annotator's.
            alternative, _ = apply_edits(tokens, [*rest, *theirs], offset)
            own, _ = apply_edits(tokens, [e for s in sites for e in s.of(annotator)], offset)
            alt_key = normalize(detokenize(alternative), self.language)
            if alternative == own and alt_key not in seen:
                seen.add(alt_key)
                alternatives.append(tuple(alternative))
        for sentence in (wrong, gold):
            problem = sentence_problem(detokenize(sentence), sentence, self.language)
            if problem:
                return problem
        if block.automatic and not all(
            _plausible(w, self.language) for w in gold if w.isalpha() and w.islower()
        ):
            # No person wrote or checked this correct text.
            return NON_WORD
        target = Target(
            edit=edit,
            original=tuple(block.tokens[edit.start : edit.end]),
            wrong=tuple(wrong),
            gold=tuple(gold),
            span=spans[edit],
            alternatives=tuple(alternatives),
            other_corrections=tuple(corrections),
        )
        if self.language is Language.RU and not ru_type_fits(view(target)):
            return TYPE_MISFIT
        skill = choose_skill(self.skills_for_error(edit.type), target, self.language)
        if skill is None:
            return NO_SKILL
        if block.automatic and not (self.language is Language.RU and ru_surely_wrong(view(target))):
            target = replace(target, surely_wrong=False)
        return target, skill

    # Items --------------------------------------------------------------------------------

    def edit_items(
        self, target: Target, skill: Skill, record: str, lowered: bool
    ) -> Iterator[Candidate]:
        wrong = self.text(target.wrong, lowered)
        gold = self.text(target.gold, lowered)
        answers = (gold, *(self.text(a, lowered) for a in target.alternatives))
        sheet = Sheet(skill, gold, target.gold, record, _explanation(skill, target))
        yield self.candidate(sheet, ItemType.CORRECTION, wrong, answers, wrong=wrong)
        yield self.candidate(
            sheet, ItemType.JUDGEMENT, wrong, ("incorrect",), wrong=wrong, correction=gold
        )
        choice = self.choice(target, sheet, lowered, answers)
        if isinstance(choice, str):
            self.run.drop(choice)
        else:
            yield choice

    def choice(
        self, target: Target, sheet: Sheet, lowered: bool, accepted: tuple[str, ...]
    ) -> Candidate | str:
        original, correction = target.original, target.edit.correction
        if not (
            1 <= len(original) <= MAX_CHOICE_TOKENS and 1 <= len(correction) <= MAX_CHOICE_TOKENS
        ):
            return CHOICE_SHAPE
        start, end = target.span
        gapped = [*target.gold[:start], GAP, *target.gold[end:]]
        text = self.text(gapped, lowered)
        answer = detokenize(correction)
        lang = self.language
        if normalize(text.replace(GAP, answer), lang) != normalize(sheet.gold, lang):
            return CHOICE_GAP
        taken = {normalize(s, lang) for s in accepted}
        forbidden = {normalize(answer, lang)} | {
            normalize(detokenize(c), lang) for c in target.other_corrections
        }
        distractors: list[str] = []
        for candidate in (detokenize(original), *distractor_forms(target, lang)):
            key = normalize(candidate, lang)
            if (
                not key
                or key in forbidden
                or normalize(text.replace(GAP, candidate), lang) in taken
            ):
                continue
            forbidden.add(key)
            distractors.append(candidate)
            if len(distractors) == MAX_DISTRACTORS:
                break
        if len(distractors) < 2:
            return CHOICE_FEW
        return self.candidate(
            sheet, ItemType.CHOICE, text, (answer,), distractors=tuple(distractors)
        )

    def candidate(
        self,
        sheet: Sheet,
        item_type: ItemType,
        text: str,
        answers: tuple[str, ...],
        *,
        wrong: str = "",
        correction: str = "",
        distractors: tuple[str, ...] = (),
    ) -> Candidate:
        level, topics = self.level_and_topics(sheet.gold, sheet.gold_tokens, sheet.skill)
        item = Item.create(
            language=self.language,
            type=item_type,
            text=text,
            answers=answers,
            skills=(sheet.skill.id,),
            level=level,
            topics=topics,
            distractors=distractors,
            explanation=sheet.explanation,
            correction=correction,
            provenance=Provenance(self.run.source, self.run.licence, sheet.record),
        )
        return Candidate(item, Evidence(gold=sheet.gold, wrong=wrong))

    def level_and_topics(
        self, gold: str, tokens: Sequence[str], skill: Skill
    ) -> tuple[CEFRLevel, tuple[str, ...]]:
        key = (gold, skill.id)
        if key not in self._level_cache:
            if len(self._level_cache) > _CACHE_SIZE:
                self._level_cache.clear()
            self._level_cache[key] = (
                estimate_level(gold, tokens, self.language, skill.level),
                tag_topics(gold, self.language),
            )
        return self._level_cache[key]


def generate(paths: Sequence[Path], run: ImportRun) -> Iterator[Candidate]:
    """The `m2` format: see the module docstring for every rule."""
    from hyperlearn.content.importing.runner import ImportFailed

    for path in paths:
        try:
            check_format(path)
        except M2FormatError as exc:
            raise ImportFailed(str(exc)) from None
    builder = Builder(run)
    for path in paths:
        for block in read_blocks(path, run):
            yield from builder.block(block)
            if run.exhausted:
                return


_PREFIX = 4


def misaligned(edit: Edit, tokens: Sequence[str]) -> bool:
    """A one-word edit whose learner's word is a neighbour's word rather than a form of its
    correction (as when an answer was aligned with the wrong token): "используют
    [использовает -> вредные] пары"."""
    if edit.end - edit.start != 1 or len(edit.correction) != 1:
        return False
    learner, fixed = tokens[edit.start].casefold(), edit.correction[0].casefold()
    if len(learner) < _PREFIX or not learner.isalpha() or learner[:_PREFIX] == fixed[:_PREFIX]:
        return False
    neighbours = [*tokens[max(0, edit.start - 2) : edit.start], *tokens[edit.end : edit.end + 2]]
    return any(n.casefold()[:_PREFIX] == learner[:_PREFIX] for n in neighbours)


def _casefolded(tokens: Sequence[str]) -> list[str]:
    return [t.casefold() for t in tokens]


def _words(tokens: Sequence[str]) -> list[str]:
    return [t for t in tokens if any(c.isalnum() for c in t)]


def _explanation(skill: Skill, target: Target) -> str:
    before, after = detokenize(target.original), detokenize(target.edit.correction)
    if not before:
        change = f'"{after}" is missing.'
    elif not after:
        change = f'"{before}" is not needed.'
    else:
        change = f'"{before}" should be "{after}".'
    return f"{skill.name}: {change}"


# ----------------------------------------------------------------------------- skill choice

_LEXICAL_FIT = 1000
_FORM_FIT = 100


@dataclass(frozen=True, slots=True)
class EditView:
    """What the skill rules and distractor builders look at."""

    type: str
    category: str  # VERB, NOUN, DET, ... (the part after the operation)
    original: tuple[str, ...]
    correction: tuple[str, ...]
    gold: tuple[str, ...]
    span: tuple[int, int]

    @property
    def word(self) -> str:
        """The changed word the skill is about: the corrected one, or the removed one."""
        words = [t for t in (self.correction or self.original) if any(c.isalpha() for c in t)]
        return words[-1].casefold() if words else ""

    @property
    def lower(self) -> list[str]:
        return [t.casefold() for t in self.gold]

    @property
    def corrected(self) -> list[str]:
        return [t.casefold() for t in self.correction]

    def before(self, n: int) -> list[str]:
        return self.lower[max(0, self.span[0] - n) : self.span[0]]

    def after(self, n: int) -> list[str]:
        return self.lower[self.span[1] : self.span[1] + n]

    def around(self, n: int) -> list[str]:
        return self.lower[max(0, self.span[0] - n) : self.span[1] + n]


def view(target: Target) -> EditView:
    parts = target.edit.type.split(":")
    return EditView(
        type=target.edit.type,
        category=parts[1] if len(parts) > 1 else "",
        original=target.original,
        correction=target.edit.correction,
        gold=target.gold,
        span=target.span,
    )


def choose_skill(skills: Sequence[Skill], target: Target, language: Language) -> Skill | None:
    """The best-fitting skill; ties go to the first in curriculum order; None if every skill
    is ruled out."""
    edit = view(target)
    best: tuple[int, Skill] | None = None
    for skill in skills:
        score = _en_score(skill, edit) if language is Language.EN else _ru_score(skill, edit)
        if score is not None and (best is None or score > best[0]):
            best = (score, skill)
    return best[1] if best else None


# English ------------------------------------------------------------------------------------

_BE = frozenset(
    {"am", "is", "are", "was", "were", "be", "been", "being", "'m", "'s", "'re"}
    | {"isn't", "aren't", "wasn't", "weren't", "ain't"}
)
_BE_PRESENT = frozenset({"am", "is", "are", "'m", "'s", "'re", "isn't", "aren't"})
_HAVE = frozenset({"have", "has", "had", "having", "'ve", "haven't", "hasn't", "hadn't"})
_MODAL_TO_DO = frozenset(
    {"can", "could", "will", "would", "shall", "should", "may", "might", "must", "to", "'ll"}
    | {"do", "does", "did", "don't", "doesn't", "didn't", "can't", "cannot", "couldn't"}
    | {"won't", "wouldn't", "shouldn't", "mustn't", "mightn't"}
)
_ADVERBS_IN_VERB_GROUP = frozenset(
    {"not", "n't", "never", "already", "just", "always", "also", "still", "ever", "really"}
    | {"often", "usually", "probably", "only", "even", "all", "both"}
)
_TIME_WORDS = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "weekend"}
    | {"january", "february", "march", "april", "may", "june", "july", "august", "september"}
    | {"october", "november", "december", "morning", "afternoon", "evening", "night", "noon"}
    | {"midnight", "day", "days", "week", "weeks", "month", "months", "year", "years", "time"}
    | {"century", "decade", "hour", "hours", "minute", "minutes", "moment", "summer", "winter"}
    | {"spring", "autumn", "fall", "christmas", "easter", "o'clock", "today", "tonight"}
    | {"yesterday", "tomorrow", "birthday", "holiday", "holidays", "future", "past", "dawn"}
)
_PLACE_WORDS = frozenset(
    {"city", "town", "country", "house", "home", "room", "school", "office", "street", "park"}
    | {"table", "station", "airport", "world", "hospital", "shop", "store", "kitchen", "garden"}
    | {"floor", "wall", "building", "village", "area", "place", "region", "center", "centre"}
    | {"hotel", "restaurant", "beach", "sea", "river", "mountain", "island", "bank", "corner"}
    | {"library", "university", "church", "museum", "market", "road", "car", "bus", "train"}
    | {"box", "bed", "desk", "door", "window", "field", "forest", "lake", "ocean", "farm"}
)
_PLACE_PREPOSITIONS = frozenset(
    {"under", "behind", "above", "below", "near", "opposite", "between", "inside", "outside"}
    | {"beside", "next", "into", "onto", "across", "along", "around", "through", "toward"}
    | {"towards", "among", "beneath", "over"}
)
_REPORTING = frozenset(
    {"say", "says", "said", "tell", "tells", "told", "ask", "asks", "asked", "explain"}
    | {"explained", "reported", "claimed", "claims", "announced", "replied", "mentioned"}
    | {"admitted", "promised", "warned", "denied", "thought", "believed", "knew", "wondered"}
)
_OBLIGATION = frozenset({"must", "mustn't", "should", "shouldn't", "ought", "need", "needs"})
_SUBJUNCTIVE_TRIGGERS = frozenset(
    {"suggest", "suggested", "suggests", "insist", "insisted", "recommend", "recommended"}
    | {"demand", "demanded", "request", "requested", "require", "required", "essential"}
    | {"important", "vital", "necessary", "propose", "proposed", "crucial"}
)
_NEGATIVE_OPENERS = frozenset(
    {"never", "rarely", "seldom", "hardly", "scarcely", "barely", "little", "only", "not", "no"}
    | {"nowhere", "nor"}
)
_RELATIVES = frozenset({"who", "whom", "whose", "which", "that"})
_QUANTIFIERS = frozenset(
    {"some", "any", "many", "much", "few", "little", "several", "enough", "each", "every", "all"}
    | {"no", "both", "either", "neither", "less", "fewer", "lot", "lots", "plenty", "none"}
)
_DEMONSTRATIVES = frozenset({"this", "that", "these", "those"})


def _features(*pairs: str) -> frozenset[str]:
    return frozenset(f for pair in pairs for f in pair.split("|"))


_PRONOUN_ROWS: tuple[tuple[str, ...], ...] = (
    ("i", "me", "my", "mine"),
    ("he", "him", "his"),
    ("she", "her", "hers"),
    ("it", "its"),
    ("we", "us", "our", "ours"),
    ("they", "them", "their", "theirs"),
    ("you", "your", "yours"),
)
# UD features of English closed-class words, for matching a skill's `ud_features`.
_EN_CLOSED: dict[str, frozenset[str]] = {
    "a": _features("Definite=Ind|PronType=Art"),
    "an": _features("Definite=Ind|PronType=Art"),
    "the": _features("Definite=Def|PronType=Art"),
    "this": _features("Number=Sing|PronType=Dem"),
    "that": _features("Number=Sing|PronType=Dem"),
    "these": _features("Number=Plur|PronType=Dem"),
    "those": _features("Number=Plur|PronType=Dem"),
    **{w: _features("Case=Nom|PronType=Prs") for w in ("i", "he", "she", "we", "they")},
    **{w: _features("Case=Acc|PronType=Prs") for w in ("me", "him", "us", "them")},
    "it": _features("Case=Nom|Case=Acc|PronType=Prs"),
    "you": _features("Case=Nom|Case=Acc|PronType=Prs"),
    "her": _features("Case=Acc|PronType=Prs|Poss=Yes"),
    **{
        w: _features("Poss=Yes|PronType=Prs")
        for w in ("my", "your", "his", "its", "our", "their", "mine", "yours", "hers", "ours")
    },
    "theirs": _features("Poss=Yes|PronType=Prs"),
    **{w: _features("PronType=Rel") for w in ("who", "whom", "whose", "which")},
    **{w: _features("PronType=Ind") for w in _QUANTIFIERS},
}


def _en_word_features(edit: EditView) -> frozenset[str] | None:
    word = edit.word
    if word == "that" and edit.category == "PRON":
        return _features("PronType=Rel")
    return _EN_CLOSED.get(word)


def _en_regular_past(verb: str) -> bool | None:
    """Is a VBD form made with -ed from its lemma? None when it is not a past form."""
    for lemma in _en_lemmas(verb, "VBD"):
        if verb in english_inflections(lemma, "VBD"):
            regular = {lemma + "ed", lemma + "d", lemma[:-1] + "ied", lemma + lemma[-1:] + "ed"}
            return verb in regular
    return None


def _if_clause(edit: EditView) -> bool | None:
    return None if {"if", "unless"} & set(edit.lower) else False


def _time_follows(edit: EditView) -> bool:
    return any(w in _TIME_WORDS or (w.isdigit() and len(w) == 4) for w in edit.after(3))


def _place_follows(edit: EditView) -> bool:
    if _time_follows(edit):
        return False
    following = edit.gold[edit.span[1] : edit.span[1] + 3]
    return edit.word in _PLACE_PREPOSITIONS or any(w.casefold() in _PLACE_WORDS for w in following)


def _prep_or_none(edit: EditView, fits: bool) -> bool | None:
    if edit.category not in ("PREP", "PART"):
        return None
    return fits


# Explicit lexical rules: True = the skill surely fits, False = it surely does not, None = the
# rule has nothing to say (forms and features decide).
_EN_RULES: dict[str, Callable[[EditView], bool | None]] = {
    "en.verb_be": lambda e: e.word in _BE_PRESENT,
    "en.there_is_are": lambda e: "there" in e.before(2) or e.word == "there",
    "en.have_got": lambda e: "got" in e.correction or "got" in e.after(2),
    "en.can_ability": lambda e: (
        None if {"can", "could", "can't", "couldn't", "cannot"} & set(e.around(2)) else False
    ),
    # A bare participle (or a bare verb after did) stands for these skills' verb groups only
    # when their auxiliary is there.
    "en.present_perfect": lambda e: None if _HAVE & set(e.before(3) + e.corrected) else False,
    "en.present_continuous": lambda e: (
        None if _BE_PRESENT & set(e.before(3) + e.corrected) else False
    ),
    "en.past_simple_questions": lambda e: (
        None if {"did", "didn't"} & set(e.before(3) + e.corrected) else False
    ),
    "en.going_to": lambda e: None if "going" in e.around(3) else False,
    "en.countable_uncountable": lambda e: (
        e.word in _QUANTIFIERS if e.category in ("ADJ", "DET") else None
    ),
    "en.question_formation": lambda e: bool(e.gold) and e.gold[-1] == "?",
    "en.past_simple_regular": lambda e: _en_regular_past(e.word),
    "en.irregular_past": lambda e: (
        None if (regular := _en_regular_past(e.word)) is None else not regular
    ),
    "en.zero_conditional": _if_clause,
    "en.first_conditional": _if_clause,
    "en.second_conditional": _if_clause,
    "en.third_conditional": _if_clause,
    "en.mixed_conditionals": _if_clause,
    "en.wishes_regrets": lambda e: None if "wish" in " ".join(e.lower) else False,
    "en.reported_speech": lambda e: None if _REPORTING & set(e.before(30)) else False,
    "en.modals_obligation": lambda e: bool(
        _OBLIGATION & set(e.around(2))
        or ({"have", "has", "had"} & set(e.before(2)) and "to" in e.around(2))
    ),
    "en.used_to": lambda e: None if "used" in e.around(2) else False,
    "en.inversion": lambda e: None if e.lower and e.lower[0] in _NEGATIVE_OPENERS else False,
    "en.cleft_sentences": lambda e: (
        None if e.lower[:1] == ["what"] or e.lower[:2] in (["it", "is"], ["it", "was"]) else False
    ),
    "en.participle_clauses": lambda e: None if e.span[0] == 0 or e.before(1) == [","] else False,
    "en.subjunctive": lambda e: None if _SUBJUNCTIVE_TRIGGERS & set(e.before(30)) else False,
    "en.present_perfect_continuous": lambda e: _prep_or_none(
        e, e.word in ("for", "since") and "been" in e.lower
    ),
    "en.prepositions_time": lambda e: _prep_or_none(e, _time_follows(e)),
    "en.prepositions_place": lambda e: _prep_or_none(e, _place_follows(e)),
    "en.demonstratives": lambda e: e.word in _DEMONSTRATIVES,
    "en.quantifiers": lambda e: e.word in _QUANTIFIERS,
    "en.adverbs_manner": lambda e: e.word.endswith("ly") and len(e.word) > 4,
    "en.relative_clauses_defining": lambda e: e.word in _RELATIVES and e.before(1) != [","],
    "en.relative_clauses_non_defining": lambda e: e.word in _RELATIVES and e.before(1) == [","],
    "en.superlatives": lambda e: (
        None
        if e.category != "DET"
        else bool({"most", "best", "worst"} & set(e.after(1)))
        or any(w.endswith("est") for w in e.after(1))
    ),
}
_UPOS = {"V": ("VERB", "AUX"), "N": ("NOUN",), "J": ("ADJ",), "R": ("ADV",)}


@lru_cache(maxsize=65536)
def _en_lemmas(token: str, tag: str) -> tuple[str, ...]:
    """Lemmas of a lower-cased word for a Penn tag's part of speech; lemminflect's rules guess
    them for a word its dictionary lacks."""
    from lemminflect import getAllLemmas, getAllLemmasOOV

    found = getAllLemmas(token)
    lemmas: list[str] = []
    for upos in _UPOS.get(tag[:1], ()):
        lemmas.extend(found.get(upos, ()))
    if not found and token.isalpha():
        for upos in _UPOS.get(tag[:1], ())[:1]:
            guessed = getAllLemmasOOV(token, upos).get(upos, ())
            lemmas.extend(lemma.casefold() for lemma in guessed)
    return tuple(dict.fromkeys(lemmas))


def _en_token_fits(spec: str, token: str) -> bool:
    token = token.casefold()
    if spec in PENN_TAGS:
        return any(token in english_inflections(lemma, spec) for lemma in _en_lemmas(token, spec))
    return token in spec.casefold().split("|")


_DETERMINERS = frozenset(
    {"a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its"}
    | {"our", "their", "every", "each", "some", "any", "no"}
)
_FINITE_SPECS = frozenset({"VB", "VBD", "VBZ", "VBP"})


def _en_form_fit(skill: Skill, edit: EditView) -> int | None:
    """The longest window of gold tokens, holding the whole correction, that one of the skill's
    `answer_forms` patterns matches; None when none does. A removed word is matched alone. A
    word right after a determiner is not a verb of a verb group ("the reduced section")."""
    start, end = edit.span
    if start == end:
        removed = [t.casefold() for t in edit.original]
        fits = any(
            len(pattern) == len(removed)
            and all(_en_token_fits(spec, t) for spec, t in zip(pattern, removed, strict=True))
            for pattern in skill.answer_forms
        )
        return len(removed) if fits else None
    best: int | None = None
    for left in range(4):
        for right in range(4):
            lo, hi = start - left, end + right
            if lo < 0 or hi > len(edit.gold):
                continue
            window = edit.gold[lo:hi]
            after_determiner = lo > 0 and edit.gold[lo - 1].casefold() in _DETERMINERS
            for pattern in skill.answer_forms:
                if after_determiner and pattern[0] in _FINITE_SPECS:
                    continue
                if len(pattern) == len(window) and all(
                    _en_token_fits(spec, token) for spec, token in zip(pattern, window, strict=True)
                ):
                    best = max(best or 0, len(window))
    return best


def _en_score(skill: Skill, edit: EditView) -> int | None:
    score = 0
    rule = _EN_RULES.get(skill.id)
    verdict = rule(edit) if rule else None
    if verdict is False:
        return None
    if verdict:
        score += _LEXICAL_FIT
    if skill.answer_forms:
        fit = _en_form_fit(skill, edit)
        if fit is None:
            return None
        score += _FORM_FIT * fit - min(len(skill.answer_forms), _FORM_FIT - 1)
    features = _en_word_features(edit)
    if skill.ud_features and features is not None:
        matched = [len(_features(f)) for f in skill.ud_features if _features(f) <= features]
        if not matched:
            return None
        score += _FORM_FIT + max(matched)
    return score


# Russian ------------------------------------------------------------------------------------

_RU_POS = {
    "NOUN": frozenset({"NOUN"}),
    "ADJ": frozenset({"ADJF", "ADJS", "COMP", "PRTF"}),
    "VERB": frozenset({"VERB", "INFN", "PRTF", "PRTS", "GRND"}),
    "AUX": frozenset({"VERB", "INFN", "PRCL"}),
    "PRON": frozenset({"NPRO", "ADJF"}),
    "DET": frozenset({"ADJF", "NPRO"}),
    "NUM": frozenset({"NUMR", "ADJF"}),
}
_UD_TO_OC = {
    "Case=Nom": "nomn", "Case=Gen": "gent", "Case=Dat": "datv", "Case=Acc": "accs",
    "Case=Ins": "ablt", "Case=Loc": "loct", "Number=Sing": "sing", "Number=Plur": "plur",
    "Gender=Masc": "masc", "Gender=Fem": "femn", "Gender=Neut": "neut",
    "Animacy=Anim": "anim", "Animacy=Inan": "inan", "Tense=Past": "past",
    "Tense=Pres": "pres", "Tense=Fut": "futr", "Aspect=Perf": "perf", "Aspect=Imp": "impf",
    "Mood=Imp": "impr", "VerbForm=Inf": "INFN", "VerbForm=Conv": "GRND",
    "Degree=Cmp": "COMP", "Person=1": "1per", "Person=2": "2per", "Person=3": "3per",
}  # fmt: skip
_MOTION = frozenset(
    {"идти", "ходить", "ехать", "ездить", "бежать", "бегать", "лететь", "летать", "плыть"}
    | {"плавать", "нести", "носить", "вести", "водить", "везти", "возить", "брести", "бродить"}
)
# Prefixed verbs of motion: these stems with a prefix, not reflexive, and not the prefixed
# verbs that no longer mean moving (найти "find", повезти "be lucky"). The carry/lead stems
# (нести, вести, ...) make too many such verbs (произнести, провести), so only a few count.
_MOTION_STEMS = (
    "ходить", "йти", "ехать", "ездить", "бежать", "бегать", "лететь", "летать", "плыть",
    "плывать", "везти", "возить",
)  # fmt: skip
_NOT_MOTION = frozenset({"найти", "находить", "повезти", "произойти", "происходить"})
_CARRYING = frozenset(
    {"принести", "приносить", "унести", "уносить", "отнести", "занести", "заносить"}
    | {"вынести", "донести", "поднести", "подносить", "увести", "отвести"}
)
_PERSONAL = frozenset({"я", "ты", "он", "она", "оно", "мы", "вы", "они"})
_POSSESSIVE = frozenset({"мой", "твой", "свой", "наш", "ваш", "его", "её", "ее", "их"})
_BUDU = frozenset({"буду", "будешь", "будет", "будем", "будете", "будут"})


@dataclass(frozen=True, slots=True)
class RuReading:
    """pymorphy3 parses of the gold and the learner's word, narrowed to one lexeme when the two
    share one."""

    gold: tuple[Any, ...]
    original: tuple[Any, ...]


@lru_cache(maxsize=65536)
def _ru_parse(word: str) -> tuple[Any, ...]:
    return tuple(russian_analyzer().parse(word))


def _yo(text: str) -> str:
    return text.replace("ё", "е")


def _ru_head(tokens: Sequence[str]) -> str:
    words = [t for t in tokens if t.isalpha()]
    return words[-1].casefold() if words else ""


@lru_cache(maxsize=4096)
def ru_reading(edit: EditView) -> RuReading:
    if edit.category == "ADP":
        # A preposition's skill is the case it governs: read the first inflected word after it.
        for word in edit.after(3):
            cased = tuple(p for p in _ru_parse(word) if p.tag.case)
            if cased and word.isalpha():
                return RuReading(cased, ())
        return RuReading((), ())
    pos = _RU_POS.get(edit.category)
    gold_word, original_word = _ru_head(edit.correction), _ru_head(edit.original)
    if not gold_word or not _known(gold_word, Language.RU):
        return RuReading((), ())

    def parses(word: str) -> list[Any]:
        if not word:
            return []
        found = _ru_parse(word)
        return [p for p in found if pos is None or p.tag.POS in pos] or list(found)

    gold, original = parses(gold_word), parses(original_word)
    shared = {p.normal_form for p in gold} & {p.normal_form for p in original}
    if shared:
        gold = [p for p in gold if p.normal_form in shared]
        original = [p for p in original if p.normal_form in shared]
    governed = set().union(*(_PREPOSITION_CASES.get(w, set()) for w in edit.before(3)))
    if governed:
        gold = [p for p in gold if p.tag.case in governed] or gold
    dims = _error_dims(edit.type)
    if dims and original:
        kept = _DIMENSIONS - dims
        paired = [g for g in gold if any(all(_same(g, o, d) for d in kept) for o in original)]
        gold = paired or gold
    return RuReading(tuple(gold), tuple(original))


_DIMENSIONS = frozenset({"case", "number", "gender"})
_TYPE_DIMENSIONS = {"CASE": "case", "NUM": "number", "GEN": "gender", "TENSE": "tense"}
_TYPE_DIMENSIONS |= {"MOOD": "mood", "ASPECT": "aspect"}


def _error_dims(error_type: str) -> frozenset[str]:
    return frozenset(
        _TYPE_DIMENSIONS[p] for p in error_type.split(":")[2:] if p in _TYPE_DIMENSIONS
    )


def ru_type_fits(edit: EditView) -> bool:
    """A grammatical error type (case, number, gender, tense, mood, aspect) is believed only
    when both words are in the dictionary and some reading of each, of one lexeme (any two
    lexemes for aspect), differ in that dimension, or when the learner's word is no word at
    all. ReLCo's automatic types are noisy: a misspelling such as "видешь" for "видишь" comes
    typed R:VERB:ASPECT."""
    dims = _error_dims(edit.type)
    if not dims:
        return True
    gold, original = _ru_head(edit.correction), _ru_head(edit.original)
    if not (gold and original and _known(gold, Language.RU)):
        return False
    if not _plausible(original, Language.RU):
        # No word at all: the type cannot be checked, the gold form alone says what the skill
        # is (aspect, a property of the lexeme, excepted).
        return "aspect" not in dims
    if not _known(original, Language.RU):
        return False
    pos = _RU_POS.get(edit.category)
    gold_parses = [p for p in _ru_parse(gold) if pos is None or p.tag.POS in pos]
    original_parses = [p for p in _ru_parse(original) if pos is None or p.tag.POS in pos]
    for g in gold_parses:
        for o in original_parses:
            if "aspect" in dims and g.tag.aspect and o.tag.aspect and g.tag.aspect != o.tag.aspect:
                return True
            if g.normal_form == o.normal_form and any(
                getattr(g.tag, d) != getattr(o.tag, d) for d in dims - {"aspect"}
            ):
                return True
    return False


_NOMINAL = frozenset({"NOUN", "NPRO", "NUMR", "ADJF", "ADJS", "PRTF", "PRTS"})
_AGREEING = frozenset({"ADJF", "ADJS", "PRTF", "PRTS"})


def ru_surely_wrong(edit: EditView) -> bool:
    """For a learner's answer that only differs from the text (automatic annotation, no person
    judged it): is it surely wrong there? When it is no Russian word at all (neither in the
    dictionary nor a word people write); when both are forms of one nominal lexeme, of one
    part of speech (a short and a full adjective can both be a predicate), and no reading of
    the learner's form could be the text's form in another guise: a noun or pronoun in a case
    none of the text's readings has, an adjective or participle in a case, number or gender
    none of them has; when a noun disagrees with the adjective right before it
    (`_modifier_disagrees`); or when a verb disagrees with the subject right before it
    (`_subject_disagrees`). Cases that alternate (genitive / accusative after a negation,
    nominative / instrumental in a sentence with a copula such as быть or стать, two cases
    after one preposition, as "в канаве" / "в канаву") do not count as different. Tense,
    aspect, mood, a verb's person or number without its subject (it may be dropped or in
    another sentence) and a noun's number are often free choices, so they never count."""
    if len(edit.correction) != 1 or len(edit.original) != 1:
        return False
    gold, original = edit.correction[0].casefold(), edit.original[0].casefold()
    if not _known(gold, Language.RU):
        return False
    if original.isalpha() and not _plausible(original, Language.RU):
        return True  # not a Russian word at all
    if not _known(original, Language.RU):
        return False
    all_gold, all_original = _ru_parse(gold), _ru_parse(original)
    lemmas = {p.normal_form for p in all_gold} & {p.normal_form for p in all_original}
    gold_parses = [p for p in all_gold if p.normal_form in lemmas]
    original_parses = [p for p in all_original if p.normal_form in lemmas]
    parses = gold_parses + original_parses
    if gold_parses and all(p.tag.POS == "VERB" for p in parses):
        return _subject_disagrees(edit, gold_parses, original_parses)
    if not gold_parses or any(p.tag.POS not in _NOMINAL for p in parses):
        return False
    if len({p.tag.POS for p in parses}) > 1:
        return False
    if all(p.tag.POS == "NOUN" for p in parses) and _modifier_disagrees(
        edit, gold_parses, original_parses
    ):
        return True
    governed = set().union(*(_PREPOSITION_CASES.get(w, set()) for w in edit.before(3)))
    copula = any(_lemmas(w) & _COPULAS for w in edit.lower)

    def cases(case: str | None) -> set[str | None]:
        near = {case} | _CASE_ALTERNATIONS.get(case or "", set())
        if not copula:
            near -= _PREDICATIVE - {case}
        return near | governed if case in governed else near

    for g in gold_parses:
        for o in original_parses:
            if o.tag.case not in cases(g.tag.case):
                continue
            if g.tag.POS not in _AGREEING or (
                (g.tag.number, g.tag.gender) == (o.tag.number, o.tag.gender)
            ):
                return False
    return True


_ADVERB_LIKE = frozenset({"ADVB", "PRCL", "CONJ", "PRED"})
_MODIFIERS = frozenset({"ADJF", "PRTF"})


def _agree(modifier: Any, noun: Any) -> bool:
    """An adjective-like word and a noun agree in case, number and, in the singular, gender."""
    tag, other = modifier.tag, noun.tag
    if (tag.case, tag.number) != (other.case, other.number):
        return False
    return bool(tag.number == "plur" or tag.gender == other.gender)


def _modifier_disagrees(edit: EditView, gold: list[Any], original: list[Any]) -> bool:
    """A noun whose case or number differs from the text's is surely wrong when the word right
    before it is an adjective, participle or pronoun-adjective (the text's, kept) that agrees
    with the text's noun and with no reading of the learner's: "простого прыжком"."""
    before = edit.lower[: edit.span[0]]
    if not before or not before[-1].isalpha():
        return False
    parses = _ru_parse(before[-1])
    if not parses or parses[0].tag.POS not in _MODIFIERS:
        return False  # pymorphy3's likeliest reading must be the adjective
    modifier = [p for p in parses if p.tag.POS in _MODIFIERS]
    return any(_agree(m, g) for m in modifier for g in gold) and not any(
        _agree(m, o) for m in modifier for o in original
    )


def _subject_disagrees(edit: EditView, gold: list[Any], original: list[Any]) -> bool:
    """A finite verb whose number or gender differs from the text's is surely wrong when the
    subject stands right before it (only adverbs or particles between): a word that can only
    be a nominative noun or third-person pronoun, agreeing with the text's verb and not with
    the learner's (tense, person and mood the same in both)."""
    if not all(
        (g.tag.tense, g.tag.person, g.tag.mood) == (o.tag.tense, o.tag.person, o.tag.mood)
        for g in gold
        for o in original
    ):
        return False
    before = edit.lower[: edit.span[0]]
    while before and all(p.tag.POS in _ADVERB_LIKE for p in _ru_parse(before[-1])):
        before.pop()
    if not before or not before[-1].isalpha():
        return False
    subject = _ru_parse(before[-1])
    if not subject or not all(
        p.tag.POS in ("NOUN", "NPRO") and p.tag.case == "nomn" and p.tag.person in (None, "3per")
        for p in subject
    ):
        return False

    def agrees(verb: Any, noun: Any) -> bool:
        if verb.tag.number != noun.tag.number:
            return False
        gendered = verb.tag.tense == "past" and verb.tag.number == "sing"
        return not gendered or verb.tag.gender == noun.tag.gender

    return all(any(agrees(g, n) for g in gold) for n in subject) and not any(
        agrees(o, n) for o in original for n in subject
    )


def _same(a: Any, b: Any, dimension: str) -> bool:
    left, right = getattr(a.tag, dimension), getattr(b.tag, dimension)
    return left is None or right is None or left == right


def _ru_motion(prefixed: bool) -> Callable[[EditView], bool | None]:
    def rule(edit: EditView) -> bool | None:
        if edit.category == "ADP":
            if not prefixed:
                return False
            return any(
                _is_motion(lemma, prefixed=True) for w in edit.before(3) for lemma in _lemmas(w)
            )
        return any(_is_motion(lemma, prefixed) for lemma in _lemmas(_ru_head(edit.correction)))

    return rule


@lru_cache(maxsize=65536)
def _lemmas(word: str) -> frozenset[str]:
    if not word:
        return frozenset()
    return frozenset(_yo(p.normal_form) for p in _ru_parse(word))


def _is_motion(lemma: str, prefixed: bool) -> bool:
    if not prefixed:
        return lemma in _MOTION
    if lemma in _CARRYING:
        return True
    return (
        lemma not in _MOTION
        and lemma not in _NOT_MOTION
        and not lemma.endswith(("ся", "сь"))
        and lemma.endswith(_MOTION_STEMS)
    )


def _reflexive(edit: EditView) -> bool:
    if "VOICE" in edit.type:
        return True
    gold, original = _lemmas(_ru_head(edit.correction)), _lemmas(_ru_head(edit.original))

    def base(lemma: str) -> str:
        return lemma[:-2] if lemma.endswith(("ся", "сь")) else lemma

    return any(base(g) == base(o) and g != o for g in gold for o in original)


def _ru_future(edit: EditView) -> bool | None:
    gold = _ru_head(edit.correction)
    if gold in _BUDU or _BUDU & set(edit.before(3)):
        return True
    return any("futr" in p.tag for p in _ru_parse(gold)) if gold else False


def _other_aspect(edit: EditView) -> bool:
    gold, original = _ru_head(edit.correction), _ru_head(edit.original)
    if not (_known(gold, Language.RU) and _known(original, Language.RU)):
        return False
    aspects = {p.tag.aspect for p in _ru_parse(gold) if p.tag.aspect}
    return any(p.tag.aspect and p.tag.aspect not in aspects for p in _ru_parse(original))


_RU_RULES: dict[str, Callable[[EditView], bool | None]] = {
    "ru.aspect_pairs": _other_aspect,
    "ru.verbs_of_motion": _ru_motion(prefixed=False),
    "ru.prefixed_motion": _ru_motion(prefixed=True),
    "ru.reflexive_verbs": _reflexive,
    "ru.conditional_mood": lambda e: bool({"бы", "б"} & set(e.around(4))),
    "ru.future_tense": _ru_future,
    "ru.relative_kotoryj": lambda e: "который" in _lemmas(_ru_head(e.correction)),
    "ru.personal_pronouns_cases": lambda e: bool(_PERSONAL & _lemmas(_ru_head(e.correction))),
    "ru.possessive_pronouns": lambda e: bool(_POSSESSIVE & _lemmas(_ru_head(e.correction))),
    "ru.numerals_nouns": lambda e: any(
        w.isdigit() or any(p.tag.POS == "NUMR" for p in _ru_parse(w)) for w in e.before(2)
    ),
}


def _ru_score(skill: Skill, edit: EditView) -> int | None:
    score = 0
    rule = _RU_RULES.get(skill.id)
    verdict = rule(edit) if rule else None
    if verdict is False:
        return None
    if verdict:
        score += _LEXICAL_FIT
    reading = ru_reading(edit)
    grammemes = [p.tag.grammemes for p in reading.gold]
    if skill.answer_grammemes and grammemes:
        matched = [len(a) for a in skill.answer_grammemes if any(a <= g for g in grammemes)]
        if not matched:
            return None
        score += _FORM_FIT + 10 * max(matched)
    if grammemes:
        bonus = 0
        for feature in skill.ud_features:
            wanted = [_UD_TO_OC.get(f) for f in feature.split("|")]
            if all(wanted) and any(set(wanted) <= g for g in grammemes):
                bonus = max(bonus, len(wanted))
        score += bonus
    return score


# ----------------------------------------------------------------------------- distractors


def distractor_forms(target: Target, language: Language) -> list[str]:
    """Inflections of the gold word that are wrong in the gap, by the rules below; in the gold
    word's capitalisation, inside the rest of the correction's words."""
    edit = view(target)
    correction = list(edit.correction)
    heads = [i for i, t in enumerate(correction) if any(c.isalpha() for c in t)]
    if not heads:
        return []
    at = heads[-1]
    head = correction[at]
    forms = _en_forms(edit, at) if language is Language.EN else _ru_forms(edit)
    out: list[str] = []
    sentence_start = edit.span[0] + at == 0
    for form in forms:
        if sentence_start and head[:1].isupper():
            form = form[:1].upper() + form[1:]
        out.append(detokenize([*correction[:at], form, *correction[at + 1 :]]))
    return out


# English: per (gold tag, what comes before the verb), the tags whose forms could also be right
# there; every other form of the verb is a distractor. After a modal, "to" or do, only the
# base form; after be, either participle (progressive or passive); after have, the past
# participle; elsewhere a finite verb could change tense ("goes" / "went"), a bare verb could
# be an -ing form ("saw him go / going") and a participle could be the other one ("a broken /
# breaking window").
_VERB_POSSIBLE: dict[tuple[str, str], frozenset[str]] = {
    ("VB", "modal"): frozenset({"VB", "VBP"}),
    ("VBG", "be"): frozenset({"VBG", "VBN"}),
    ("VBN", "be"): frozenset({"VBN", "VBG"}),
    ("VBN", "have"): frozenset({"VBN"}),
    ("VBZ", "other"): frozenset({"VBZ", "VBD"}),
    ("VBP", "other"): frozenset({"VB", "VBP", "VBD", "VBG"}),
    ("VB", "other"): frozenset({"VB", "VBP", "VBD", "VBG"}),
    ("VBD", "other"): frozenset({"VBD", "VBZ", "VBP", "VB"}),
    ("VBG", "other"): frozenset({"VBG", "VB", "VBP"}),
    ("VBN", "other"): frozenset({"VBN", "VBG"}),
}
_TAG_PRIORITY = ("VBZ", "VBD", "VBG", "VBN", "VBP", "VB")
_CONTEXT_TAGS = {"modal": ("VB",), "be": ("VBG", "VBN"), "have": ("VBN",)}
_BE_AGREEMENT = {
    "is": ("are", "am"), "are": ("is", "am"), "am": ("is", "are"),
    "was": ("were",), "were": ("was",),
}  # fmt: skip
_NEXT_NOT_POSSESSED = frozenset(
    {".", ",", "!", "?", ";", ":", "and", "or", "but", "in", "on", "at", "to", "of", "with"}
    | {"for", "from", "by", "that", "which", "who", "because", "when", "if", "as", "than"}
)


def _verb_context(edit: EditView, at: int) -> str:
    before = [t.casefold() for t in edit.gold[: edit.span[0] + at]]
    while before and before[-1] in _ADVERBS_IN_VERB_GROUP:
        before.pop()
    last = before[-1] if before else ""
    if last in _MODAL_TO_DO:
        return "modal"
    if last in _BE:
        return "be"
    if last in _HAVE:
        return "have"
    return "other"


_MODALS = frozenset({"can", "could", "may", "might", "must", "shall", "should", "will", "would"})
_POSSESSIVE_MARKS = frozenset({"'", "'s", "’", "’s"})


def _en_forms(edit: EditView, at: int) -> list[str]:
    head = edit.correction[at].casefold()
    if _POSSESSIVE_MARKS & set(edit.corrected) or head in _MODALS:
        return []  # a possessive 's is not an inflection; modal verbs have none
    if edit.category == "VERB":
        return _en_verb_forms(head, _verb_context(edit, at), edit)
    if edit.category == "NOUN":
        following = edit.after(1)
        return _en_noun_forms(head, not following or following[0] in _NEXT_NOT_POSSESSED)
    if edit.category in ("ADJ", "ADV") and edit.type.endswith(":FORM"):
        prefix = [t.casefold() for t in edit.correction[:at]]
        if prefix and prefix[-1] in ("more", "most"):
            return []  # "more/most X" is a phrase, not an inflection
        return _en_degree_forms(head, "ADJ" if edit.category == "ADJ" else "ADV")
    if edit.category in ("PRON", "DET"):
        return _en_closed_forms(head)
    return []


_VERB_TAGS = ("VB", "VBD", "VBG", "VBN", "VBP", "VBZ")


def _en_verb_forms(head: str, context: str, edit: EditView) -> list[str]:
    for lemma in _en_lemmas(head, "VB"):
        table = {tag: tuple(sorted(english_inflections(lemma, tag))) for tag in _VERB_TAGS}
        tags = {tag for tag, forms in table.items() if head in forms}
        if tags:
            break
    else:
        return []
    wanted = [t for t in _CONTEXT_TAGS.get(context, ()) if t in tags]
    if wanted:
        tag = wanted[0]
    else:
        context = "other"
        tag = next(t for t in _TAG_PRIORITY if t in tags)
    possible = _VERB_POSSIBLE.get((tag, context), frozenset(_VERB_TAGS))
    blocked = {f for t in possible for f in table[t]} | {head}
    out = [
        next(f for f in table[t] if f not in blocked)
        for t in _VERB_TAGS
        if any(f not in blocked for f in table[t])
    ]
    if lemma == "be" and context == "other":
        subjunctive = {"if", "wish", "though"} & set(edit.before(30))
        out += [
            f
            for f in _BE_AGREEMENT.get(head, ())
            if not (subjunctive and {head, f} == {"was", "were"})
        ]
    return list(dict.fromkeys(out))


def _en_noun_forms(head: str, possessive_slot_free: bool) -> list[str]:
    from lemminflect import getAllInflections

    for lemma in _en_lemmas(head, "NN"):
        table = getAllInflections(lemma, upos="NOUN")
        singular = {f.casefold() for f in table.get("NN", ())}
        plural = {f.casefold() for f in table.get("NNS", ())}
        if head in singular and head not in plural:
            out = sorted(plural)
        elif head in plural and head not in singular:
            out = sorted(singular)
        else:
            continue
        if possessive_slot_free and head.isalpha():
            out.append(f"{head}'" if head.endswith("s") else f"{head}'s")
        return out
    return []


def _en_degree_forms(head: str, upos: str) -> list[str]:
    from lemminflect import getAllInflections

    tags = ("JJ", "JJR", "JJS") if upos == "ADJ" else ("RB", "RBR", "RBS")
    for lemma in _en_lemmas(head, tags[0]):
        table = {t: {f.casefold() for f in fs} for t, fs in getAllInflections(lemma, upos).items()}
        if upos == "ADJ" or "RB" not in table:
            table.setdefault(tags[0], set()).add(lemma)
        gold = {t for t in tags if head in table.get(t, set())}
        if not gold:
            continue
        blocked = {f for t in gold for f in table.get(t, set())}
        return [f for t in tags if t not in gold for f in sorted(table.get(t, set()) - blocked)]
    return []


def _en_closed_forms(head: str) -> list[str]:
    if head in ("a", "an"):
        return ["an" if head == "a" else "a"]
    swaps = {"this": "these", "these": "this", "that": "those", "those": "that"}
    if head in swaps:
        return [swaps[head]]
    for row in _PRONOUN_ROWS:
        if head in row:
            return [w if w != "i" else "I" for w in row if w != head]
    return []


# Russian: vary the gold word along the error's own dimension (case, number or gender), never
# into a case that the context could also take; and take forms of the learner's word that keep
# its error.
_CASES = ("nomn", "gent", "datv", "accs", "ablt", "loct")
_CASE_ALTERNATIONS = {"gent": {"accs"}, "accs": {"gent"}, "nomn": {"ablt"}, "ablt": {"nomn"}}
# nominative / instrumental alternate in a predicate, after these verbs
_PREDICATIVE = frozenset({"nomn", "ablt"})
_COPULAS = frozenset(
    {"быть", "стать", "становиться", "являться", "оказаться", "оказываться", "казаться"}
    | {"считаться", "остаться", "оставаться", "назвать", "называться", "служить"}
)
_PREPOSITION_CASES: dict[str, set[str]] = {
    **{p: {"accs", "loct"} for p in ("в", "во", "на", "о", "об", "обо")},
    **{p: {"accs", "ablt"} for p in ("за", "под", "подо")},
    **{p: {"gent", "ablt", "accs"} for p in ("с", "со")},
    "по": {"datv", "accs", "loct"},
    **{p: {"gent"} for p in ("из", "от", "до", "у", "без", "для", "около", "после", "кроме")},
    **{p: {"datv"} for p in ("к", "ко")},
    **{p: {"accs"} for p in ("через", "про", "сквозь")},
    **{p: {"ablt"} for p in ("над", "перед", "между")},
    "при": {"loct"},
}
_VARIATIONS = (
    frozenset({"sing"}), frozenset({"plur"}), frozenset({"masc"}), frozenset({"femn"}),
    frozenset({"neut"}), frozenset({"1per"}), frozenset({"2per"}), frozenset({"3per"}),
)  # fmt: skip


def _ru_forms(edit: EditView) -> list[str]:
    if edit.category == "ADP":
        return []
    reading = ru_reading(edit)
    if not reading.gold:
        return []
    gold = reading.gold[0]
    gold_word = _ru_head(edit.correction)
    dims = _error_dims(edit.type)
    if not dims and reading.original:
        dims = frozenset(
            d
            for d in ("case", "number", "gender", "tense", "mood", "person")
            if not _same(gold, reading.original[0], d)
        )
    out: list[str] = []

    def homograph(word: str) -> bool:
        return word == gold_word or any(
            p.normal_form == gold.normal_form and gold.tag.grammemes <= p.tag.grammemes
            for p in _ru_parse(word)
        )

    # 1. The gold word in other values of the error's dimension.
    excluded = set(_CASE_ALTERNATIONS.get(gold.tag.case or "", set()))
    for word in edit.before(3):
        excluded |= _PREPOSITION_CASES.get(word, set())
    changes: list[frozenset[str]] = []
    if "case" in dims and gold.tag.case in _CASES:
        changes += [frozenset({c}) for c in _CASES if c != gold.tag.case and c not in excluded]
    if "number" in dims and gold.tag.number:
        changes.append(frozenset({"plur" if gold.tag.number == "sing" else "sing"}))
    if "gender" in dims and gold.tag.gender:
        changes += [frozenset({g}) for g in ("masc", "femn", "neut") if g != gold.tag.gender]
    for change in changes:
        form = gold.inflect(set(change))
        if form is None or not all(_same(form, gold, d) for d in _DIMENSIONS - dims):
            continue
        if not homograph(form.word):
            out.append(form.word)
    # 2. Other forms of the learner's word that keep its error (same values in the error's
    # dimensions, or the same lexeme when the error is the lexeme itself, as with aspect).
    if reading.original and _known(_ru_head(edit.original), Language.RU):
        original = reading.original[0]
        for change in _VARIATIONS:
            form = original.inflect(set(change))
            if form is None or form.tag.POS != original.tag.POS:
                continue
            if not all(getattr(form.tag, d) == getattr(original.tag, d) for d in dims):
                continue
            if form.tag.tense != original.tag.tense or form.tag.mood != original.tag.mood:
                continue
            if not homograph(form.word):
                out.append(form.word)
    original_word = _ru_head(edit.original)
    return [w for w in dict.fromkeys(out) if w != original_word]
