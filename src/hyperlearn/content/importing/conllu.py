"""CoNLL-U treebanks (Universal Dependencies) -> `cloze` and `choice` items from gold morphology.

The files are streamed sentence by sentence with `conllu.parse_incr`. For each sentence the
words whose gold annotation (lemma, UPOS/XPOS, FEATS, dependency relation) matches a rule of
the tables below become a gap: the word (or the whole verb group where the skill needs it, e.g.
past continuous = was/were + -ing) is blanked, its lemma is the hint, and

- a `cloze` item accepts exactly the original form(s);
- a `choice` item offers the original form and distractors that are other forms of the same
  lemma (lemminflect for English, pymorphy3 for Russian), each of them wrong in that context.

Evidence.gold is the original sentence, so the verifier recomputes every answer from the
treebank. A gap is dropped, with a named reason, wherever more than one form could be right:
tense gaps without a time anchor, subjects whose number or gender is unclear, a case after a
preposition that takes two cases without a verb that decides between them, a noun whose number
the context does not fix, and so on. Only forms that the morphology engine also recognises are
used, so a cloze answer always passes the skill's `answer_forms` / `answer_grammemes` check.

The rules are tables: `EN_RULES` and `RU_RULES` (what a rule covers, the UPOS it looks at, the
rule), and `EN_VERB_GROUPS` (auxiliaries + main verb tag -> skill, what to blank, how to make
distractors, when a cloze is safe). Each rule returns a `Gap`, a drop reason, or None when it
does not apply; drop reasons are short, stable strings that the import report counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import conllu
from conllu.exceptions import ParseException

from hyperlearn.content.importing.base import Candidate, Evidence, ImportRun
from hyperlearn.content.importing.difficulty import estimate_level
from hyperlearn.content.importing.text import (
    MAX_TOKENS,
    MIN_TOKENS,
    detokenize,
    sentence_problem,
    truecase,
)
from hyperlearn.content.importing.topics import tag_topics
from hyperlearn.content.morphology import english_inflections, russian_analyzer
from hyperlearn.core import GAP, Item, ItemType, Language, Provenance, normalize

MAX_DISTRACTORS = 3


def _words(text: str) -> frozenset[str]:
    """A lexicon written as one string of space-separated words."""
    return frozenset(text.split())


# ------------------------------------------------------------------------------------ reading


class Malformed(ValueError):
    """A record that is not valid CoNLL-U (reported with file and line, then skipped)."""


class Word(NamedTuple):
    """One syntactic word of a sentence (a CoNLL-U line with an integer id)."""

    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: Mapping[str, str]
    head: int
    deprel: str
    low: str  # the form, casefolded

    def feat(self, key: str) -> str:
        return self.feats.get(key, "")


class Piece(NamedTuple):
    """A surface token: one word, or a multi-word token such as `don't` (words first..last)."""

    text: str
    first: int
    last: int
    space_after: bool


@dataclass
class Sentence:
    file: str
    line: int
    sent_id: str
    words: list[Word]
    pieces: list[Piece]
    lowercase: bool  # a lower-cased source (UD Atis): truecased when read
    genre: str = ""  # from "# genre = ..." (UD Taiga)
    detok: bool = False  # no spacing information (no SpaceAfter=No): join with text.detokenize
    kids: list[list[Word]] = field(default_factory=list)
    piece_of: list[int] = field(default_factory=list)  # word id -> index in pieces
    _lows: list[str] = field(default_factory=list)
    _past_anchor: bool | None = None

    def __post_init__(self) -> None:
        self._lows = [w.low for w in self.words]
        self.kids = [[] for _ in range(len(self.words) + 1)]
        for word in self.words:
            self.kids[word.head].append(word)
        self.piece_of = [0] * (len(self.words) + 1)
        for n, piece in enumerate(self.pieces):
            for i in range(piece.first, piece.last + 1):
                self.piece_of[i] = n

    def word(self, index: int) -> Word | None:
        return self.words[index - 1] if 1 <= index <= len(self.words) else None

    def head_of(self, word: Word) -> Word | None:
        return self.word(word.head)

    def children(self, word: Word, *deprels: str) -> list[Word]:
        kids = self.kids[word.id]
        if not deprels:
            return kids
        return [k for k in kids if k.deprel in deprels or k.deprel.split(":")[0] in deprels]

    def lows(self) -> list[str]:
        return self._lows


class _Lines:
    """A CoNLL-U file read block by block for `conllu.parse_incr`: it remembers the line where
    the current block began, and blocks that `block_drop` rejects without parsing (most of the
    cost of an import is parsing) are counted as read and dropped, never handed to the parser.
    Iterating it again goes on where the last iteration stopped."""

    def __init__(self, handle: Any, run: ImportRun | None = None) -> None:
        self.handle = handle
        self.run = run
        self.line = 0  # the last line handed on
        self.block_start = 1

    def __iter__(self) -> Iterator[str]:
        return self._lines()

    def _lines(self) -> Iterator[str]:
        n = self.line
        block: list[str] = []
        start = n + 1
        for text in self.handle:
            n += 1
            if not text.isspace():
                if not block:
                    start = n
                block.append(text)
                continue
            if block:
                reason = block_drop(block) if self.run is not None else None
                if reason is None:
                    self.block_start, self.line = start, n
                    yield from block
                    yield text
                else:
                    assert self.run is not None
                    self.run.record_read()
                    self.run.drop(reason)
                block = []
        if block:
            self.block_start, self.line = start, n
            yield from block
        self.line = n

    def read(self, size: int = -1) -> str:  # conllu.parse_incr asks for a file-like object
        raise NotImplementedError


def block_drop(block: Sequence[str]) -> str | None:
    """Sentence-level drops decided on the raw lines of a well-formed block (the same reasons,
    in the same order, as `sentence_drop` would give after parsing), or None."""
    pieces = 0
    for line in block:
        if line.startswith("#"):
            continue
        if line.count("\t") != _COLUMNS - 1:
            return None  # malformed: the parser reports it
        ident = line[: line.find("\t")]
        if ident.isdigit():
            pieces += 1
            continue
        first, sep, last = ident.partition("-" if "-" in ident else ".")
        if not (sep and first.isdigit() and last.isdigit()):
            return None
        if sep == "-":
            pieces -= int(last) - int(first)
    text = "".join(block)
    if "# genre = poetry\n" in text:
        return "verse"
    if "Typo=Yes" in text or "Abbr=Yes" in text:
        return "typo or abbreviation in the sentence"
    if "\tVERB\t" not in text and "\tAUX\t" not in text:
        return "no verb"
    if not MIN_TOKENS <= pieces <= MAX_TOKENS:
        return "sentence length"
    return None


def _id(line: list[str], i: int) -> Any:
    value = line[i]
    if value.isdigit():
        return int(value)
    for sep in ("-", "."):
        left, found, right = value.partition(sep)
        if found and left.isdigit() and right.isdigit():
            return (int(left), sep, int(right))
    raise ParseException(f"{value!r} is not a valid ID")


def _head(line: list[str], i: int) -> Any:
    value = line[i]
    if value.isdigit():
        return int(value)
    if value == "_":
        return None
    raise ParseException(f"{value!r} is not a valid HEAD")


def _feats(line: list[str], i: int) -> Any:
    value = line[i]
    if value in ("_", ""):
        return {}
    out = {}
    for part in value.split("|"):
        key, sep, val = part.partition("=")
        if not sep or not key:
            raise ParseException(f"{part!r} is not a feature (Name=Value)")
        out[key] = val
    return out


def _raw(line: list[str], i: int) -> Any:
    return line[i]


# Light field parsers: the default ones parse DEPS and MISC into structures we do not use.
_PARSERS: dict[str, Any] = {
    "id": _id,
    "form": _raw,
    "lemma": _raw,
    "upos": _raw,
    "xpos": _raw,
    "feats": _feats,
    "head": _head,
    "deprel": _raw,
    "deps": _raw,
    "misc": _raw,
}
_COLUMNS = 10


def sniff(path: Path) -> str | None:
    """Why the file is not CoNLL-U (looked at its first token line), or None."""
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip() or text.startswith("#"):
                continue
            columns = text.rstrip("\n").split("\t")
            if len(columns) != _COLUMNS or not re.fullmatch(r"\d+([-.]\d+)?", columns[0]):
                return f"line {number} is not a CoNLL-U token line (10 tab-separated columns)"
            return None
    return "no token lines"


def read_sentences(path: Path, run: ImportRun) -> Iterator[Sentence]:
    """Stream the sentences of one file; malformed ones are reported and skipped."""
    with path.open(encoding="utf-8") as handle:
        lines = _Lines(handle, run)
        while True:
            records = conllu.parse_incr(lines, field_parsers=dict(_PARSERS))  # type: ignore[arg-type]
            try:
                for tokens in records:
                    run.record_read()
                    try:
                        yield _sentence(tokens, path.name, lines.block_start)
                    except Malformed as exc:
                        run.malformed(path, lines.block_start, str(exc))
                return
            except ParseException as exc:
                run.record_read()
                run.malformed(path, lines.block_start, str(exc))


def _sentence(tokens: conllu.TokenList, file: str, line: int) -> Sentence:
    words: list[Word] = []
    ranges: dict[int, tuple[int, str, bool]] = {}
    spaces: list[bool] = []
    for token in tokens:
        if len(token) != _COLUMNS:
            raise Malformed(f"a token line has {len(token)} columns, not {_COLUMNS}")
        ident = token["id"]
        space = "SpaceAfter=No" not in token["misc"]
        if type(ident) is not int:
            if ident[1] == "-":
                if ident[2] < ident[0]:
                    raise Malformed(f"bad multi-word token range {ident[0]}-{ident[2]}")
                ranges[ident[0]] = (ident[2], str(token["form"]), space)
            continue  # empty nodes (n.m) belong to enhanced graphs only
        if ident != len(words) + 1:
            raise Malformed(f"word ids are not 1, 2, 3...: found {ident} after {len(words)}")
        head = token["head"]
        if head is None:
            raise Malformed(f"word {ident} has no HEAD")
        feats, deprel = token["feats"], token["deprel"]
        form, lemma, upos, xpos = token["form"], token["lemma"], token["upos"], token["xpos"]
        words.append(Word(ident, form, lemma, upos, xpos, feats, head, deprel, form.casefold()))
        spaces.append(space)
    if not words:
        raise Malformed("a sentence without words")
    for word in words:
        if not 0 <= word.head <= len(words):
            raise Malformed(f"word {word.id} has HEAD {word.head}, outside the sentence")
    meta_text = str(tokens.metadata.get("text") or "")
    sample = meta_text or " ".join(w.form for w in words)
    lowercase = sample == sample.casefold() and any(c.isalpha() for c in sample)
    if lowercase:
        words = [_true_case(w) for w in words]
    pieces: list[Piece] = []
    index = 1
    while index <= len(words):
        if index in ranges:
            last, form, space = ranges[index]
            if last > len(words):
                raise Malformed(f"multi-word token {index}-{last} runs past the last word")
            pieces.append(Piece(form, index, last, space))
            index = last + 1
        else:
            pieces.append(Piece(words[index - 1].form, index, index, spaces[index - 1]))
            index += 1
    sent_id = str(tokens.metadata.get("sent_id") or "")
    spaced = " ".join(p.text for p in pieces)
    detok = all(p.space_after for p in pieces) and (
        not meta_text or meta_text.casefold() == spaced.casefold()
    )
    if lowercase:
        pieces[0] = pieces[0]._replace(text=truecase(pieces[0].text))
    genre = str(tokens.metadata.get("genre") or "")
    return Sentence(file, line, sent_id, words, pieces, lowercase, genre, detok)


def _true_case(word: Word) -> Word:
    """In a lower-cased source: I, and names, months and days as their lemma writes them
    (boston -> Boston, april -> April)."""
    if word.form == "i" and word.upos == "PRON":
        return word._replace(form="I")
    lemma = word.lemma
    if lemma[:1].isupper() and lemma.casefold() == word.form and lemma != word.form:
        return word._replace(form=lemma)
    return word


# ------------------------------------------------------------------------------ rendering


def _join(parts: Sequence[tuple[str, bool]]) -> str:
    out: list[str] = []
    for text, space in parts:
        out.append(text)
        if space:
            out.append(" ")
    return "".join(out).strip()


def render(s: Sentence) -> str:
    if s.detok:
        return detokenize([p.text for p in s.pieces])
    return _join([(p.text, p.space_after) for p in s.pieces])


def render_gap(s: Sentence, first_piece: int, last_piece: int) -> str:
    if s.detok:
        texts = [p.text for p in s.pieces]
        return detokenize([*texts[:first_piece], GAP, *texts[last_piece + 1 :]])
    parts = [(p.text, p.space_after) for p in s.pieces[:first_piece]]
    parts.append((GAP, s.pieces[last_piece].space_after))
    parts += [(p.text, p.space_after) for p in s.pieces[last_piece + 1 :]]
    return _join(parts)


def span_text(s: Sentence, first: int, last: int, replace: Mapping[int, str] | None = None) -> str:
    """The surface text of words first..last (whole pieces), with some words replaced."""
    replace = replace or {}
    parts: list[tuple[str, bool]] = []
    a, b = s.piece_of[first], s.piece_of[last]
    for n in range(a, b + 1):
        piece = s.pieces[n]
        ids = range(piece.first, piece.last + 1)
        if not any(i in replace for i in ids):
            text = piece.text
        elif piece.first == piece.last:
            text = _same_case(piece.text, replace[piece.first])
        else:
            text = _contract([replace.get(i, s.words[i - 1].form) for i in ids])
            text = _same_case(piece.text, text)
        parts.append((text, piece.space_after if n < b else False))
    if s.detok:
        return detokenize([text for text, _ in parts])
    return _join(parts)


_IRREGULAR_NEGATIVES = {"will": "won't", "wo": "won't", "can": "can't", "ca": "can't"}


def _contract(forms: list[str]) -> str:
    if len(forms) == 2 and forms[1].casefold() == "n't":
        return _IRREGULAR_NEGATIVES.get(forms[0].casefold(), forms[0] + forms[1])
    return "".join(forms)


def _same_case(model: str, text: str) -> str:
    """Give `text` the capitalisation of `model` (a capital first letter, or all capitals)."""
    if len(model) > 1 and model.isupper() and model.isalpha():
        return text.upper()
    if model[:1].isupper():
        return text[:1].upper() + text[1:]
    return text


# ---------------------------------------------------------------------------------- gaps


@dataclass(frozen=True, slots=True)
class Gap:
    """An item idea: words first..last are blanked; the skill, hint and choice distractors.

    `cloze_drop` / `choice_drop` name why that item type is not made ("" when it is)."""

    skill: str
    first: int
    last: int
    hint: str
    distractors: tuple[str, ...] = ()
    cloze_drop: str = ""
    choice_drop: str = ""
    extra_skills: tuple[str, ...] = ()
    explanation: str = ""
    copy_ok: bool = False  # a cloze whose answer is its hint still teaches something


Rule = Callable[["Sentence", Word], "Gap | str | None"]


def generate(paths: Sequence[Path], run: ImportRun) -> Iterator[Candidate]:
    """Cloze and choice candidates from CoNLL-U files (see the module docstring)."""
    from hyperlearn.content.importing.runner import ImportFailed

    for path in paths:
        problem = sniff(path)
        if problem:
            raise ImportFailed(f"{path}: not a CoNLL-U file ({problem})")
    table = EN_RULES if run.language is Language.EN else RU_RULES
    rules: dict[str, list[Rule]] = {}
    for _, tags, rule in table:
        for tag in tags:
            rules.setdefault(tag, []).append(rule)
    for path in paths:
        for sentence in read_sentences(path, run):
            yield from sentence_candidates(sentence, run, rules)
            if run.exhausted:
                return


# At most this many gaps per sentence (each gives a cloze and a choice item): a bank of many
# sentences teaches more than many items on one sentence. Rarer skills are chosen first.
MAX_GAPS_PER_SENTENCE = 1
# Skills that nearly every sentence could feed: chosen only when nothing rarer is there.
_COMMON_SKILLS = (
    "en.personal_pronouns", "en.possessives", "en.verb_be", "en.present_simple",
    "en.demonstratives", "ru.adjective_agreement", "ru.genitive_case",
)  # fmt: skip
_FINAL_PUNCTUATION = (".", "!", "?", "…", '"', "»", ")", ":", ";")


def sentence_candidates(
    s: Sentence, run: ImportRun, rules: Mapping[str, Sequence[Rule]]
) -> Iterator[Candidate]:
    reason = sentence_drop(s)
    if reason:
        run.drop(reason)
        return
    gold = render(s)
    surface = [p.text for p in s.pieces]
    problem = sentence_problem(gold, surface, run.language)
    if problem:
        run.drop(problem)
        return
    gaps: list[Gap] = []
    for word in s.words:
        for rule in rules.get(word.upos, ()):
            found = rule(s, word)
            if found is None:
                continue
            if isinstance(found, str):
                run.drop(found)
            else:
                problem = gap_problem(s, found)
                if problem:
                    run.drop(problem)
                else:
                    gaps.append(found)
            break  # the first rule that applies to a word decides
    if not gaps:
        return
    gaps.sort(key=lambda g: (g.skill in _COMMON_SKILLS, g.first))
    chosen: list[Gap] = []
    for gap in gaps:
        if len(chosen) < MAX_GAPS_PER_SENTENCE and all(g.skill != gap.skill for g in chosen):
            chosen.append(gap)
        else:
            run.drop("sentence already has its gaps")
    topics = tag_topics(gold, run.language)
    levels: dict[str, Any] = {}
    record = f"{s.file}:{s.sent_id or s.line}"
    for gap in sorted(chosen, key=lambda g: g.first):
        if gap.skill not in run.graph:
            run.drop("skill not in the graph")
            continue
        skill_level = run.graph[gap.skill].level
        if skill_level not in levels:
            levels[skill_level] = estimate_level(gold, surface, run.language, skill_level)
        yield from _items(s, gap, gold, levels[skill_level], topics, record, run)


def sentence_drop(s: Sentence) -> str | None:
    """Sentence-level reasons that apply before any rule (see also `block_drop`)."""
    if s.genre == "poetry":
        return "verse"  # line breaks, free word order and no punctuation
    if any(w.feat("Typo") == "Yes" or w.feat("Abbr") == "Yes" for w in s.words):
        return "typo or abbreviation in the sentence"
    if not any(w.upos in ("VERB", "AUX") for w in s.words):
        return "no verb"
    if not MIN_TOKENS <= len(s.pieces) <= MAX_TOKENS:
        return "sentence length"
    if not s.lowercase and not s.pieces[-1].text.endswith(_FINAL_PUNCTUATION):
        return "no final punctuation"  # fragments, headlines, verse lines
    return None


def gap_problem(s: Sentence, gap: Gap) -> str | None:
    """Why a gap cannot be shown, whatever its rule: it would cut a surface token."""
    first_piece, last_piece = s.piece_of[gap.first], s.piece_of[gap.last]
    if s.pieces[first_piece].first != gap.first or s.pieces[last_piece].last != gap.last:
        return "gap inside a contraction"
    before = s.pieces[first_piece - 1] if first_piece > 0 else None
    after = s.pieces[last_piece + 1] if last_piece + 1 < len(s.pieces) else None
    if (before is not None and not before.space_after and before.text[-1:].isalnum()) or (
        after is not None and not s.pieces[last_piece].space_after and after.text in ("-", "/")
    ):
        return "gap inside a compound word"
    if before is not None and before.text == "-" and not before.space_after:
        return "gap inside a compound word"
    for n in range(first_piece, last_piece + 1):
        if not re.fullmatch(r"[^\W\d_]+(['’][^\W\d_]+)?", s.pieces[n].text):
            return "gap word with digits or a hyphen"
    return None


def _items(
    s: Sentence,
    gap: Gap,
    gold: str,
    level: Any,
    topics: tuple[str, ...],
    record: str,
    run: ImportRun,
) -> Iterator[Candidate]:
    first_piece, last_piece = s.piece_of[gap.first], s.piece_of[gap.last]
    answer = span_text(s, gap.first, gap.last)
    text = render_gap(s, first_piece, last_piece)
    skills = (gap.skill, *(x for x in gap.extra_skills if x in run.graph and x != gap.skill))
    evidence = Evidence(gold=gold)
    common: dict[str, Any] = {
        "language": run.language,
        "text": text,
        "answers": (answer,),
        "skills": skills,
        "level": level,
        "topics": topics,
        "hint": gap.hint,
        "explanation": gap.explanation,
        "provenance": Provenance(run.source, run.licence, record),
    }
    if gap.cloze_drop:
        run.drop(gap.cloze_drop)
    elif not gap.copy_ok and _key(answer) == _key(gap.hint):
        run.drop("cloze: answer equals the hint")
    else:
        yield Candidate(Item.create(type=ItemType.CLOZE, **common), evidence)
    distractors = _clean_distractors(answer, gap.distractors, run.language)
    if gap.choice_drop:
        run.drop(gap.choice_drop)
    elif len(distractors) < 2:
        run.drop("choice: fewer than two safe distractors")
    else:
        yield Candidate(
            Item.create(type=ItemType.CHOICE, distractors=distractors, **common), evidence
        )


def _key(text: str) -> str:
    return text.casefold().replace("ё", "е")


def _clean_distractors(answer: str, found: Sequence[str], language: Language) -> tuple[str, ...]:
    seen = {normalize(answer, language)}
    out: list[str] = []
    for candidate in found:
        text = _same_case(answer, candidate)
        key = normalize(text, language)
        if key and key not in seen:
            seen.add(key)
            out.append(text)
        if len(out) == MAX_DISTRACTORS:
            break
    return tuple(out)


# ============================================================================== English

# ---- lexicons

_PRONOUN_PERSON = {
    "i": "1sg", "you": "2", "he": "3sg", "she": "3sg", "it": "3sg", "we": "pl", "they": "pl",
    "this": "3sg", "that": "3sg", "these": "pl", "those": "pl", "one": "3sg",
    "everyone": "3sg", "everybody": "3sg", "everything": "3sg", "someone": "3sg",
    "somebody": "3sg", "something": "3sg", "anyone": "3sg", "anybody": "3sg",
    "anything": "3sg", "nobody": "3sg", "nothing": "3sg",
}  # fmt: skip
# Nouns that take a singular or a plural verb (team, staff...) or that head quantities.
_COLLECTIVE = _words(
    "army audience band board class club committee company council couple crew crowd data "
    "department enemy faculty family firm government group half jury kind lot majority management "
    "media minority number pair panel party percent police population press public range rest "
    "series sort staff team total type union variety youth"
)
_BE_PRESENT = {"1sg": "am", "3sg": "is", "2": "are", "pl": "are"}
_BE_PAST = {"1sg": "was", "3sg": "was", "2": "were", "pl": "were"}
_HAVE_PRESENT = {"1sg": "have", "3sg": "has", "2": "have", "pl": "have"}
_MODALS = {
    "can": "CAN", "ca": "CAN", "could": "COULD", "will": "WILL", "wo": "WILL", "'ll": "WILL",
    "would": "WOULD",
    "must": "MUST", "should": "SHOULD", "might": "MIGHT", "may": "MAY", "shall": "SHALL",
}  # fmt: skip
_TIME_NOUNS = _words(
    "night week month year summer winter spring autumn fall weekend century decade morning "
    "evening afternoon monday tuesday wednesday thursday friday saturday sunday january february "
    "march april may june july august september october november december semester season"
)
# Verbs followed only by -ing, and verbs followed only by to + infinitive, in an xcomp.
_ING_VERBS = _words(
    "enjoy avoid finish mind keep suggest consider practise practice miss deny imagine risk quit "
    "postpone delay admit resist dislike appreciate involve mention"
)
_TO_VERBS = _words(
    "want decide hope plan promise refuse expect afford manage fail learn offer seem tend pretend "
    "threaten choose wish deserve arrange attempt aim appear claim demand hesitate prepare "
    "volunteer"
)
# "... that she work / works": after these the base form (subjunctive) is right as well.
_SUBJUNCTIVE_TRIGGERS = _words(
    "suggest recommend insist demand propose require request ask urge important essential vital "
    "necessary crucial imperative advisable desirable"
)
_ING_PREPOSITIONS = _words(
    "about after at before by for from in of on without against despite besides"
)
# Dependent prepositions: head lemma -> (preposition, wrong alternatives, cloze is safe).
_DEPENDENT_PREPOSITIONS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "interested": ("in", ("on", "at", "for"), True),
    "afraid": ("of", ("from", "at", "with"), True),
    "proud": ("of", ("on", "at", "with"), True),
    "aware": ("of", ("from", "on", "at"), True),
    "capable": ("of", ("to", "for", "in"), True),
    "fond": ("of", ("on", "with", "about"), True),
    "keen": ("on", ("in", "at", "of"), True),
    "participate": ("in", ("on", "at", "to"), True),
    "depend": ("on", ("in", "of", "from"), False),  # also: depend upon
    "rely": ("on", ("in", "of", "from"), False),
    "insist": ("on", ("in", "at", "to"), False),
    "consist": ("of", ("from", "with", "by"), False),  # consist in: another meaning
    "belong": ("to", ("of", "for", "from"), False),
    "believe": ("in", ("at", "to", "for"), False),
    "succeed": ("in", ("on", "to", "for"), False),
    "responsible": ("for", ("of", "about", "at"), False),
    "famous": ("for", ("of", "with", "at"), False),
    "similar": ("to", ("with", "as", "from"), False),
    "focus": ("on", ("at", "to", "with"), False),
    "concentrate": ("on", ("at", "to", "with"), False),
}
_NOT_COMPARED = _words(
    "more most less least many much few fewer fewest little other further farther later latter "
    "earlier elder eldest former inner outer upper lower utmost"
)
_SUPERLATIVE_ANCHORS = (("ever",), ("of", "all"), ("in", "the", "world"), ("in", "history"))


@cache
def _lemmas(form: str) -> frozenset[str]:
    from lemminflect import getAllLemmas

    return frozenset(getAllLemmas(form.casefold()))


def only_verb(form: str) -> bool:
    """True when lemminflect knows `form` only as a verb (not also a noun or adjective), so it
    cannot make a grammatical phrase where a noun or adjective would fit."""
    return _lemmas(form) <= {"VERB", "AUX"}


def is_word(form: str) -> bool:
    return bool(_lemmas(form))


@cache
def verb_forms(lemma: str) -> dict[str, tuple[str, ...]]:
    from lemminflect import getAllInflections, getAllInflectionsOOV

    lemma = lemma.casefold()
    forms = getAllInflections(lemma, upos="VERB") or getAllInflectionsOOV(lemma, upos="VERB")
    out = {tag: tuple(f.casefold() for f in found) for tag, found in forms.items()}
    out.setdefault("VB", (lemma,))
    return out


def vform(lemma: str, tag: str) -> str:
    found = verb_forms(lemma).get(tag, ())
    return found[0] if found else ""


def penn(w: Word) -> str:
    """The Penn Treebank tag: XPOS where the treebank has it, else derived from UPOS + FEATS."""
    if w.xpos not in ("", "_"):
        return w.xpos
    f = w.feats
    if w.upos in ("VERB", "AUX"):
        if w.lemma.casefold() in _MODALS:
            return "MD"
        form = f.get("VerbForm", "")
        if form == "Inf" or f.get("Mood") == "Imp":
            return "VB"
        if form == "Ger":
            return "VBG"
        if form == "Part":
            return "VBG" if f.get("Tense") == "Pres" else "VBN"
        if f.get("Tense") == "Past":
            return "VBD"
        if f.get("Tense") == "Pres":
            third = f.get("Person") == "3" and f.get("Number") == "Sing"
            return "VBZ" if third else "VBP"
        return "VB"
    degree = f.get("Degree", "")
    if w.upos == "ADJ":
        return {"Cmp": "JJR", "Sup": "JJS"}.get(degree, "JJ")
    if w.upos == "ADV":
        return {"Cmp": "RBR", "Sup": "RBS"}.get(degree, "RB")
    if w.upos in ("NOUN", "PROPN"):
        plural = f.get("Number") == "Plur"
        return ("NNP" if w.upos == "PROPN" else "NN") + ("S" if plural else "")
    return w.upos


def subject_person(s: Sentence, head: Word) -> str | None:
    """ "1sg", "2", "3sg" or "pl" for the one clear subject of `head`, else None. A relative
    pronoun (the file that follows) takes the person of the noun the clause belongs to."""
    subjects = s.children(head, "nsubj")
    if len(subjects) != 1:
        return None
    subj = subjects[0]
    if "Rel" in subj.feat("PronType") or subj.low in ("who", "which"):
        if head.deprel != "acl:relcl" or head.upos not in ("VERB", "AUX", "ADJ", "NOUN"):
            return None
        antecedent = s.head_of(head)
        if antecedent is None or antecedent.upos != "NOUN":
            return None
        subj = antecedent
    if s.children(subj, "conj", "nummod", "appos"):
        return None
    if subj.upos == "PRON":
        return _PRONOUN_PERSON.get(subj.low)
    if subj.upos == "NOUN" and subj.lemma.casefold() not in _COLLECTIVE:
        number = subj.feat("Number")
        return {"Sing": "3sg", "Plur": "pl"}.get(number)
    return None


def past_anchor(s: Sentence) -> bool:
    """A time expression that rules out the present and the present perfect."""
    if s._past_anchor is None:
        s._past_anchor = _past_anchor(s.lows())
    return s._past_anchor


def _past_anchor(lows: list[str]) -> bool:
    for n, word in enumerate(lows):
        if word in ("yesterday", "ago"):
            return True
        if word == "last" and n + 1 < len(lows) and lows[n + 1] in _TIME_NOUNS:
            return True
        if (
            word == "in"
            and n + 1 < len(lows)
            and re.fullmatch(r"1[89]\d\d|200\d|201\d", lows[n + 1])
        ):
            return True
    return "the other day" in " ".join(lows)


# ---- verb groups


@dataclass(frozen=True, slots=True)
class GroupRule:
    """A verb group: its auxiliaries' signature and the main verb's tag map onto a skill.

    blank: "main" (only the main verb) or "group" (auxiliaries and main verb);
    variants: how distractors are made (see `_group_variants`);
    cloze: "" (always), "past" (only with a past time anchor), or the reason it is never safe.
    """

    skill: str
    blank: str
    variants: str
    cloze: str
    explanation: str


_FREE_TENSE = "cloze: tense is free without an anchor"
_FREE_MODAL = "cloze: the modal is not given by the hint"
# fmt: off
EN_VERB_GROUPS: dict[tuple[tuple[str, ...], str, bool], GroupRule] = {
    # (auxiliaries, main verb tag, passive): GroupRule(skill, blank, variants, cloze, explanation)
    ((), "VBZ", False):
        GroupRule("en.third_person_s", "main", "finite_present", _FREE_TENSE,
                  "The subject is third person singular, so the present simple verb ends in -s."),
    ((), "VBP", False):
        GroupRule("en.present_simple", "main", "finite_present", _FREE_TENSE,
                  "With I, you, we, they or a plural subject the present simple is the base form."),
    ((), "VBD", False):
        GroupRule("en.past_simple_regular", "main", "finite_past", "past",
                  "A finished action at a finished past time: the past simple."),
    (("DID",), "VB", False):
        GroupRule("en.past_simple_questions", "main", "after_do", "",
                  "After did / didn't the main verb is the base form."),
    (("DO_PRES",), "VB", False):
        GroupRule("en.present_simple", "main", "after_do", "",
                  "After do / does / don't / doesn't the main verb is the base form."),
    (("BE_PAST",), "VBG", False):
        GroupRule("en.past_continuous", "group", "be_ing", _FREE_TENSE,
                  "An action in progress in the past: was / were + -ing."),
    (("BE_PRES",), "VBG", False):
        GroupRule("en.present_continuous", "group", "be_ing", _FREE_TENSE,
                  "An action in progress now: am / is / are + -ing."),
    (("HAVE_PRES",), "VBN", False):
        GroupRule("en.present_perfect", "group", "have_en", _FREE_TENSE,
                  "The present perfect: have / has + past participle."),
    (("HAD",), "VBN", False):
        GroupRule("en.past_perfect", "group", "have_en", _FREE_TENSE,
                  "The past perfect: had + past participle."),
    (("HAVE_PRES", "BEEN"), "VBG", False):
        GroupRule("en.present_perfect_continuous", "group", "been_ing", _FREE_TENSE,
                  "The present perfect continuous: have / has been + -ing."),
    (("BE_PRES",), "VBN", True):
        GroupRule("en.passive_basic", "group", "passive", _FREE_TENSE,
                  "The passive: am / is / are + past participle."),
    (("BE_PAST",), "VBN", True):
        GroupRule("en.passive_basic", "group", "passive", "past",
                  "The past passive: was / were + past participle."),
    (("HAVE_PRES", "BEEN"), "VBN", True):
        GroupRule("en.passive_advanced", "group", "been_en", _FREE_TENSE,
                  "The present perfect passive: have / has been + past participle."),
    (("HAD", "BEEN"), "VBN", True):
        GroupRule("en.passive_advanced", "group", "been_en", _FREE_TENSE,
                  "The past perfect passive: had been + past participle."),
    (("BE_PRES", "BEING"), "VBN", True):
        GroupRule("en.passive_advanced", "group", "being_en", _FREE_TENSE,
                  "The continuous passive: am / is / are being + past participle."),
    (("BE_PAST", "BEING"), "VBN", True):
        GroupRule("en.passive_advanced", "group", "being_en", _FREE_TENSE,
                  "The continuous passive: was / were being + past participle."),
    (("WILL", "BE"), "VBG", False):
        GroupRule("en.future_continuous_perfect", "main", "after_be", _FREE_MODAL,
                  "The future continuous: will be + -ing."),
    (("WILL", "HAVE"), "VBN", False):
        GroupRule("en.future_continuous_perfect", "main", "after_have", _FREE_MODAL,
                  "The future perfect: will have + past participle."),
    (("WILL",), "VB", False):
        GroupRule("en.will_future", "main", "after_modal", _FREE_MODAL,
                  "After will / won't comes the base form, without to and without -s."),
    (("CAN",), "VB", False):
        GroupRule("en.can_ability", "main", "after_modal", _FREE_MODAL,
                  "After can / can't comes the base form, without to and without -s."),
    (("COULD",), "VB", False):
        GroupRule("en.can_ability", "main", "after_modal", _FREE_MODAL,
                  "After could / couldn't comes the base form, without to and without -s."),
    (("MUST",), "VB", False):
        GroupRule("en.modals_obligation", "main", "after_modal", _FREE_MODAL,
                  "After must comes the base form, without to and without -s."),
    (("SHOULD",), "VB", False):
        GroupRule("en.modals_obligation", "main", "after_modal", _FREE_MODAL,
                  "After should comes the base form, without to and without -s."),
    (("MIGHT",), "VB", False):
        GroupRule("en.modals_deduction", "main", "after_modal", _FREE_MODAL,
                  "After might comes the base form, without to and without -s."),
    (("MAY",), "VB", False):
        GroupRule("en.modals_deduction", "main", "after_modal", _FREE_MODAL,
                  "After may comes the base form, without to and without -s."),
    (("MUST", "HAVE"), "VBN", False):
        GroupRule("en.modals_deduction", "main", "after_have", _FREE_MODAL,
                  "Deduction about the past: must have + past participle."),
    (("MIGHT", "HAVE"), "VBN", False):
        GroupRule("en.modals_deduction", "main", "after_have", _FREE_MODAL,
                  "Deduction about the past: might have + past participle."),
    (("MAY", "HAVE"), "VBN", False):
        GroupRule("en.modals_deduction", "main", "after_have", _FREE_MODAL,
                  "Deduction about the past: may have + past participle."),
}
# fmt: on
for _modal in ("WILL", "CAN", "COULD", "MUST", "SHOULD", "MIGHT", "MAY", "WOULD"):
    EN_VERB_GROUPS[((_modal, "BE"), "VBN", True)] = GroupRule(
        "en.passive_advanced",
        "group",
        "modal_be_en",
        _FREE_MODAL,
        "The passive after a modal: modal + be + past participle.",
    )


def _aux_code(w: Word) -> str:
    lemma, low = w.lemma.casefold(), w.low
    if lemma == "be":
        return {
            "am": "BE_PRES", "is": "BE_PRES", "are": "BE_PRES", "'m": "BE_PRES", "'s": "BE_PRES",
            "'re": "BE_PRES", "was": "BE_PAST", "were": "BE_PAST", "be": "BE", "been": "BEEN",
            "being": "BEING",
        }.get(low, "?")  # fmt: skip
    if lemma == "have":
        finite = w.feat("VerbForm") == "Fin"
        return {
            "has": "HAVE_PRES", "have": "HAVE_PRES" if finite else "HAVE", "had": "HAD",
            "'ve": "HAVE_PRES", "'d": "HAD",
        }.get(low, "?")  # fmt: skip
    if lemma == "do":
        if w.feat("Mood") == "Imp":
            return "?"
        return {"do": "DO_PRES", "does": "DO_PRES", "did": "DID"}.get(low, "?")
    if low == "'d":
        return "WOULD" if lemma == "would" else "?"
    return _MODALS.get(low, "?")  # by form: Atis lemmatises would as will


def verb_group(s: Sentence, main: Word) -> Gap | str | None:
    if main.upos != "VERB" or main.lemma.casefold() == "be":
        return None
    auxes = s.children(main, "aux")
    if any(a.id > main.id for a in auxes):
        return None
    auxes.sort(key=lambda a: a.id)
    passive = any(a.deprel == "aux:pass" for a in auxes)
    signature = tuple(_aux_code(a) for a in auxes)
    rule = EN_VERB_GROUPS.get((signature, penn(main), passive))
    if rule is None:
        return None
    lemma = main.lemma.casefold()
    tag = penn(main)
    if main.low not in english_inflections(lemma, tag if tag != "VBP" else "VB"):
        return "form unknown to lemminflect"
    first = auxes[0].id if (auxes and rule.blank == "group") else main.id
    inside = [w for w in s.words[first - 1 : main.id - 1] if w not in auxes and w.id != main.id]
    if rule.blank == "group" and any(w.upos not in ("ADV", "PART") for w in inside):
        return "words inside the verb group"
    skill = rule.skill
    if skill == "en.past_simple_regular" and not _regular_past(lemma, main.low):
        skill = "en.irregular_past"
    person = subject_person(s, main)
    anchor = past_anchor(s)
    variants = _group_variants(rule.variants, s, main, auxes, person, anchor)
    if isinstance(variants, str):
        return variants
    cloze_drop = rule.cloze
    if cloze_drop == "past":
        cloze_drop = "" if anchor else "cloze: no past time anchor"
    if not cloze_drop and inside:
        cloze_drop = "cloze: negation or adverb inside the gap"
    distractors = tuple(span_text(s, first, main.id, r) for r in variants)
    extra = ("en.subject_verb_agreement",) if _distant_subject(s, main) else ()
    return Gap(
        skill, first, main.id, main.lemma, distractors, cloze_drop,
        extra_skills=extra, explanation=rule.explanation, copy_ok=rule.variants == "after_do",
    )  # fmt: skip


def _distant_subject(s: Sentence, verb: Word) -> bool:
    """The subject's head noun is separated from its verb by a modifier (of-phrase, clause)."""
    subjects = s.children(verb, "nsubj")
    if len(subjects) != 1 or subjects[0].upos != "NOUN":
        return False
    return any(k.id > subjects[0].id and k.deprel in ("nmod", "acl", "acl:relcl")
               for k in s.kids[subjects[0].id])  # fmt: skip


def _regular_past(lemma: str, form: str) -> bool:
    regular = {lemma + "ed", lemma + lemma[-1:] + "ed", lemma + "ked"}
    if lemma.endswith("e"):
        regular.add(lemma + "d")
    if len(lemma) > 1 and lemma.endswith("y") and lemma[-2] not in "aeiou":
        regular.add(lemma[:-1] + "ied")
    return form in regular


def _group_variants(
    kind: str,
    s: Sentence,
    main: Word,
    auxes: list[Word],
    person: str | None,
    anchor: bool,
) -> list[dict[int, str]] | str:
    """Replacements (word id -> form) that make wrong versions of the gap, one per distractor."""
    lemma = main.lemma.casefold()
    forms = verb_forms(lemma)
    vb, vbd, vbn, vbg, vbz = (vform(lemma, t) for t in ("VB", "VBD", "VBN", "VBG", "VBZ"))
    past_forms = set(forms.get("VBD", ()))
    participles = set(forms.get("VBN", ()))
    out: list[dict[int, str]] = []

    def main_as(*forms_: str) -> None:
        for form in forms_:
            if form and form != main.low:
                out.append({main.id: form})

    def verb_only(*forms_: str) -> None:
        """After be or have, a form that is also a noun or adjective can make a grammatical
        phrase (is works -> are hosts, have work): only forms that are nothing but verbs."""
        main_as(*(f for f in forms_ if only_verb(f)))

    if kind == "finite_present":
        if person is None:
            return "subject number unclear"
        governor = s.head_of(main) if main.deprel in ("ccomp", "csubj") else None
        if governor is not None and governor.lemma.casefold() in _SUBJUNCTIVE_TRIGGERS:
            return "subjunctive possible"  # it is essential that she work(s)
        # Never a past form: without a time anchor the past would be right too.
        if (person == "3sg") != (penn(main) == "VBZ"):
            return "treebank and agreement table disagree"
        if person != "3sg":
            main_as(vbz)
        elif vb not in past_forms:
            main_as(vb)
        main_as(vbg)
        if not participles & past_forms and vbn != vb:
            main_as(vbn)
    elif kind == "finite_past":
        main_as(vbg)
        if not participles & past_forms:
            main_as(vbn)
        if anchor or person == "3sg":
            main_as(vb)
        if anchor or person in ("1sg", "2", "pl"):
            main_as(vbz)
    elif kind == "after_do":
        main_as(vbd if vbd != vb else "", vbz, vbg)
    elif kind == "after_modal":
        main_as(vbz, vbg, vbd if vbd != vb else "")
        if not participles & (past_forms | {vb}):
            main_as(vbn)
    elif kind in ("after_have", "after_be"):
        wanted = vbg if kind == "after_be" else vbn
        if main.low != wanted:
            return "form unknown to lemminflect"
        if kind == "after_have":
            verb_only(vbd if vbd not in participles else "", vb if vb not in participles else "")
            verb_only(vbg)
        else:
            verb_only(vb, vbz, vbd if vbd != vb and vbd not in participles else "")
    else:
        aux = auxes[0]
        swap = _aux_swap(aux, person)
        if swap:
            out.append({aux.id: swap})
        if kind == "be_ing":
            verb_only(vbz, vb)
        elif kind == "have_en":
            verb_only(vbd if vbd not in participles else "")
            verb_only(vb if vb not in participles else "", vbg)
        elif kind == "passive":
            verb_only(vbd if vbd not in participles else "", vbz)
            verb_only(vb if vb not in participles else "")
        if kind in ("be_ing", "passive") and aux.low in ("am", "is", "are", "was", "were"):
            # A finite clause needs a finite be: "they been watching", "it be built" are wrong.
            out += [{aux.id: "been"}, {aux.id: "be"}]
        elif kind in ("been_ing", "been_en", "being_en", "modal_be_en"):
            middle = auxes[1] if len(auxes) > 1 else auxes[0]
            if kind == "modal_be_en":
                out = [{middle.id: f} for f in ("been", "being")]
            elif kind == "being_en":
                out = [{middle.id: f} for f in ("been", "be")] + ([{aux.id: swap}] if swap else [])
            else:
                out = [{middle.id: f} for f in ("being", "be")] + ([{aux.id: swap}] if swap else [])
            if kind != "been_ing" and vbd not in participles:
                verb_only(vbd)
            if kind == "been_ing":
                verb_only(vbz)
    return out


def _aux_swap(aux: Word, person: str | None) -> str:
    """The auxiliary in a form that does not agree with the subject ("" when unsure)."""
    if person is None:
        return ""
    code = _aux_code(aux)
    table = {"BE_PRES": _BE_PRESENT, "BE_PAST": _BE_PAST, "HAVE_PRES": _HAVE_PRESENT}.get(code)
    if table is None:
        return ""
    right = table[person]
    if aux.low != right or right == "was":
        # was -> were is no distractor: "if I were", "I wish it were" are right.
        return ""  # (or the treebank disagrees with our agreement table: leave it alone)
    wrong = {"am": "is", "is": "are", "are": "is", "was": "were", "were": "was",
             "has": "have", "have": "has"}[right]  # fmt: skip
    if person == "1sg" and right == "am":
        wrong = "is"
    return wrong


# ---- word rules


def en_be(s: Sentence, w: Word) -> Gap | str | None:
    """verb_be (copula am/is/are) and there_is_are (existential be)."""
    if w.lemma.casefold() != "be" or w.feat("VerbForm") != "Fin" or w.feat("Mood") == "Imp":
        return None
    if w.deprel == "cop" and w.upos == "AUX":
        head = s.head_of(w)
        if head is None or w.low not in ("am", "is", "are"):
            return None
        person = subject_person(s, head)
        if person is None:
            return "subject number unclear"
        if _BE_PRESENT[person] != w.low:
            return "treebank and agreement table disagree"
        wrong = [f for f in ("am", "is", "are") if f != w.low]
        return Gap(
            "en.verb_be", w.id, w.id, "be", tuple(wrong), _FREE_TENSE,
            explanation="am with I, is with he/she/it and singular nouns, are with you, we, "
            "they and plural nouns.",
        )  # fmt: skip
    if w.upos == "VERB" and any(k.deprel == "expl" for k in s.kids[w.id]):
        if s.children(w, "aux"):
            return None
        subjects = s.children(w, "nsubj")
        if len(subjects) != 1 or s.children(subjects[0], "conj", "nummod"):
            return "subject number unclear"
        number = subjects[0].feat("Number")
        if subjects[0].upos != "NOUN" or subjects[0].lemma.casefold() in _COLLECTIVE:
            return "subject number unclear"
        right = {
            ("Sing", "Pres"): "is", ("Plur", "Pres"): "are",
            ("Sing", "Past"): "was", ("Plur", "Past"): "were",
        }.get((number, w.feat("Tense")))  # fmt: skip
        if right != w.low:
            return "treebank and agreement table disagree"
        # Never "were" for "was": "if there were a problem" is right.
        wrong_be = {"is": ("are", "am"), "are": ("is", "am"), "was": ("been",),
                    "were": ("was", "been")}[right]  # fmt: skip
        if right == "was" and past_anchor(s):
            wrong_be = ("been", "is", "are")
        return Gap(
            "en.there_is_are",
            w.id,
            w.id,
            "be",
            wrong_be,
            _FREE_TENSE,
            explanation="After there, be agrees with the noun that follows it.",
        )
    return None


def en_plural(s: Sentence, w: Word) -> Gap | str | None:
    if w.upos != "NOUN" or w.feat("Number") != "Plur" or penn(w) != "NNS":
        return None
    lemma = w.lemma.casefold()
    if lemma == w.low or not lemma.isalpha():
        return None
    if s.children(w, "case", "conj", "compound") or not _plural_forced(s, w):
        return "plural not forced by context"
    plurals = english_inflections(lemma, "NNS")
    if w.low not in plurals:
        return "form unknown to lemminflect"
    if _invariant(lemma):
        return "plural same as singular"
    regular = w.low == lemma + "s"
    wrong = [lemma]
    # Typical learner errors: a regular -s on an irregular or -es/-ies plural, a double plural.
    guesses = [lemma + "s"] + ([] if w.low.endswith("s") else [w.low + "s"])
    wrong += [g for g in guesses if g != w.low and g not in plurals and not is_word(g)]
    return Gap(
        "en.plural_nouns", w.id, w.id, w.lemma, tuple(wrong),
        choice_drop="choice: regular plural has no second wrong form" if regular else "",
        explanation="A number or a plural determiner before the noun makes it plural.",
    )  # fmt: skip


@cache
def _invariant(lemma: str) -> bool:
    """A noun whose usual plural is its singular (sheep, series)."""
    from lemminflect import getInflection

    plurals = getInflection(lemma, tag="NNS")
    return not plurals or plurals[0].casefold() == lemma


_PLURAL_DETERMINERS = _words("these those many few several both various numerous")


def _plural_forced(s: Sentence, noun: Word) -> bool:
    for k in s.kids[noun.id]:
        if k.deprel == "det" and k.low in _PLURAL_DETERMINERS:
            return True
        if k.deprel == "nummod" and k.upos == "NUM":
            value = k.low.replace(",", "")
            if value.isdigit() and int(value) > 1:
                return True
            if value in ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                         "twelve", "twenty", "hundred", "thousand", "dozen"):  # fmt: skip
                return True
    return False


_OBJECT_PRONOUNS = {"me": "i", "him": "he", "her": "she", "us": "we", "them": "they"}
_SUBJECT_PRONOUNS = {"i": "i", "he": "he", "she": "she", "we": "we", "they": "they"}
_PRONOUN_FORMS = {
    "i": ("I", "me", "my", "mine"), "he": ("he", "him", "his"), "she": ("she", "her", "hers"),
    "we": ("we", "us", "our", "ours"), "they": ("they", "them", "their", "theirs"),
    "you": ("you", "your", "yours"), "it": ("it", "its", "it's"),
}  # fmt: skip
_INDEPENDENT = frozenset({"mine", "yours", "his", "hers", "ours", "theirs"})
_POSSESSIVE_BASE = {"my": "i", "his": "he", "her": "she", "our": "we", "their": "they",
                    "your": "you", "its": "it"}  # fmt: skip


def en_pronoun(s: Sentence, w: Word) -> Gap | str | None:
    """Subject vs object pronouns, fixed by the pronoun's place in the clause."""
    if w.upos != "PRON" or w.feat("PronType") != "Prs" or w.feat("Reflex") == "Yes":
        return None
    if w.feat("Poss") == "Yes":
        return en_possessive(s, w)
    head = s.head_of(w)
    if head is None or s.children(w, "conj") or w.deprel == "conj":
        return None
    if any(k.deprel == "cc" for k in s.kids[w.id]):
        return None
    if w.low in _OBJECT_PRONOUNS and w.feat("Case") == "Acc":
        base = _OBJECT_PRONOUNS[w.low]
        before = s.word(w.id - 1)
        direct = w.deprel in ("obj", "iobj") and head.upos == "VERB"
        after_prep = w.deprel in ("obl", "nmod") and any(
            k.deprel == "case" and k.id == w.id - 1 and k.low not in ("than", "as", "like")
            for k in s.kids[w.id]
        )
        if not (direct or after_prep) or (before is not None and before.low in ("than", "as")):
            return None
    elif w.low in _SUBJECT_PRONOUNS and w.feat("Case") == "Nom":
        base = _SUBJECT_PRONOUNS[w.low]
        if w.deprel != "nsubj" or w.id > head.id:
            return None
    else:
        return None
    # Not mine/yours/his/hers/ours/theirs: they fill a subject or object slot too ("Mine broke").
    wrong = [f for f in _PRONOUN_FORMS[base] if f.casefold() != w.low and f not in _INDEPENDENT]
    return Gap(
        "en.personal_pronouns", w.id, w.id, "I" if base == "i" else base, tuple(wrong),
        explanation="Subject pronouns (I, he, she, we, they) come before the verb; object "
        "pronouns (me, him, her, us, them) follow a verb or a preposition.",
    )  # fmt: skip


def en_possessive(s: Sentence, w: Word) -> Gap | str | None:
    if w.deprel != "nmod:poss" or w.low not in _POSSESSIVE_BASE:
        return None
    head = s.head_of(w)
    if head is None or head.upos != "NOUN" or head.id < w.id:
        return None
    base = _POSSESSIVE_BASE[w.low]
    wrong = [f for f in _PRONOUN_FORMS[base] if f.casefold() != w.low]
    return Gap(
        "en.possessives",
        w.id,
        w.id,
        "I" if base == "i" else base,
        tuple(wrong),
        explanation="Before a noun, use the possessive adjective: my, your, his, her, its, "
        "our, their.",
    )


_DEMONSTRATIVE = {"this": ("these", "those"), "these": ("this", "that"),
                  "that": ("those", "these"), "those": ("that", "this")}  # fmt: skip


def en_demonstrative(s: Sentence, w: Word) -> Gap | str | None:
    if w.deprel != "det" or w.feat("PronType") != "Dem" or w.low not in _DEMONSTRATIVE:
        return None
    head = s.head_of(w)
    if head is None or head.upos != "NOUN" or head.id < w.id or s.children(head, "conj"):
        return None
    lemma = head.lemma.casefold()
    if _invariant(lemma):
        return "plural same as singular"
    number = head.feat("Number")
    if (number == "Plur") != (w.low in ("these", "those")) or not number:
        return "treebank and agreement table disagree"
    if number == "Plur" and head.low not in english_inflections(lemma, "NNS"):
        return "form unknown to lemminflect"
    if number == "Sing" and head.low != lemma:
        return "form unknown to lemminflect"
    return Gap(
        "en.demonstratives", w.id, w.id, w.lemma, _DEMONSTRATIVE[w.low],
        explanation="this / that go with a singular noun, these / those with a plural one.",
    )  # fmt: skip


_AN_EXCEPTIONS = ("hour", "honest", "honour", "honor", "heir")
_A_EXCEPTIONS = ("uni", "use", "usu", "uti", "eu", "ewe", "one", "once", "ufo", "ura", "uro")


def en_article(s: Sentence, w: Word) -> Gap | str | None:
    """a vs an: fixed by the sound of the next word (the choice a vs the is free: not made)."""
    if w.upos != "DET" or w.lemma.casefold() != "a" or w.low not in ("a", "an"):
        return None
    nxt = s.word(w.id + 1)
    if nxt is None or not nxt.form.isalpha() or nxt.form.isupper():
        return "a/an: next word's sound unclear"
    low = nxt.low
    if low.startswith(_AN_EXCEPTIONS):
        sound = "an"
    elif low.startswith(_A_EXCEPTIONS):
        sound = "a"
    elif low[0] in "aeio" or (low[0] == "u" and not low.startswith("u")):
        sound = "an"
    elif low[0] == "u":
        return "a/an: next word's sound unclear"
    else:
        sound = "a"
    if sound != w.low:
        return "a/an: treebank and sound rule disagree"
    if sound == "a" and low[0] not in "aeiouh":
        return "a/an: consonant letter (trivial)"
    return Gap(
        "en.articles_a_an", w.id, w.id, "a", (), choice_drop="choice: a/an has one alternative",
        explanation="Use an before a vowel sound and a before a consonant sound.",
    )  # fmt: skip


def en_comparison(s: Sentence, w: Word) -> Gap | str | None:
    if w.upos != "ADJ" or w.lemma.casefold() in _NOT_COMPARED:
        return None
    degree = w.feat("Degree")
    lemma = w.lemma.casefold()
    lows = s.lows()
    more = s.word(w.id - 1)
    analytic = (
        degree in ("Pos", "")
        and more is not None
        and more.low in ("more", "most")
        and more.head == w.id
    )
    if degree not in ("Cmp", "Sup") and not analytic:
        return None
    if not lemma.isalpha():
        return None
    first = more.id if analytic and more is not None else w.id
    is_comparative = degree == "Cmp" or (analytic and more is not None and more.low == "more")
    if is_comparative:
        if not _governs(s, [w, *([more] if analytic and more is not None else [])], "than"):
            return "comparative without than"
        if analytic:
            if w.low != lemma:
                return "form unknown to lemminflect"
            wrong: tuple[str, ...] = (lemma, "most " + lemma)
        else:
            if w.low not in english_inflections(lemma, "JJR"):
                return "form unknown to lemminflect"
            wrong = (lemma, *english_inflections(lemma, "JJS"))
        return Gap(
            "en.comparatives", first, w.id, w.lemma, wrong,
            explanation="Comparing two things with than needs the comparative.",
        )  # fmt: skip
    before = s.word(first - 1)
    if before is None or before.low != "the":
        return "superlative without the"
    after = " ".join(lows[w.id :])
    if not any(" ".join(anchor) in after for anchor in _SUPERLATIVE_ANCHORS):
        return "superlative without an anchor (ever, of all, in the world)"
    if analytic:
        if w.low != lemma:
            return "form unknown to lemminflect"
        wrong = (lemma, "more " + lemma)
    else:
        if w.low not in english_inflections(lemma, "JJS"):
            return "form unknown to lemminflect"
        wrong = (lemma, *english_inflections(lemma, "JJR"))
    return Gap(
        "en.superlatives",
        first,
        w.id,
        w.lemma,
        wrong,
        explanation="More than all the others in a group: the superlative.",
    )


def _governs(s: Sentence, heads: Sequence[Word], marker: str) -> bool:
    """Whether `marker` (than, чем) introduces a dependent of one of `heads`."""
    for head in heads:
        for kid in s.kids[head.id]:
            if kid.low == marker or any(g.low == marker for g in s.kids[kid.id]):
                return True
    return False


def en_gerund_infinitive(s: Sentence, w: Word) -> Gap | str | None:
    if w.upos != "VERB":
        return None
    tag = penn(w)
    head = s.head_of(w)
    if head is None or s.children(w, "aux"):
        return None
    lemma = w.lemma.casefold()
    vb, vbz, vbg = vform(lemma, "VB"), vform(lemma, "VBZ"), vform(lemma, "VBG")
    marks = s.children(w, "mark")
    if tag == "VBG" and w.low == vbg:
        if w.deprel == "xcomp" and head.lemma.casefold() in _ING_VERBS and head.id == w.id - 1:
            wrong = ["to " + vb] + [f for f in (vb, vbz) if only_verb(f)]
            return Gap(
                "en.gerund_infinitive", w.id, w.id, w.lemma, tuple(wrong),
                explanation=f"{head.lemma} is followed by the -ing form.",
            )  # fmt: skip
        prep = [m for m in marks if m.id == w.id - 1 and m.low in _ING_PREPOSITIONS]
        if prep and w.deprel in ("advcl", "acl"):
            wrong = ([] if prep[0].low == "about" else ["to " + vb]) + [
                f for f in (vb, vbz) if only_verb(f)
            ]
            return Gap(
                "en.gerund_infinitive", w.id, w.id, w.lemma, tuple(wrong),
                explanation="After a preposition, use the -ing form.",
            )  # fmt: skip
        return None
    if tag == "VB" and w.deprel == "xcomp" and w.low == vb:
        to = [m for m in marks if m.low == "to" and m.id == w.id - 1]
        head_lemma = head.lemma.casefold()
        would_like = head_lemma in ("like", "love", "prefer") and any(
            a.low in ("would", "'d") for a in s.children(head, "aux")
        )
        if not to or head.id != w.id - 2 or not (head_lemma in _TO_VERBS or would_like):
            return None
        wrong = [f for f in (vbg, "to " + vbg, vb) if only_verb(f.split()[-1])]
        return Gap(
            "en.gerund_infinitive", w.id - 1, w.id, w.lemma, tuple(wrong),
            explanation=f"{head.lemma} is followed by to + infinitive.",
        )  # fmt: skip
    return None


def en_dependent_preposition(s: Sentence, w: Word) -> Gap | str | None:
    if w.upos != "ADP" or w.deprel != "case":
        return None
    noun = s.head_of(w)
    governor = s.head_of(noun) if noun is not None else None
    if noun is None or governor is None or governor.id != w.id - 1:
        return None
    entry = _DEPENDENT_PREPOSITIONS.get(governor.lemma.casefold())
    if entry is None or entry[0] != w.low:
        return None
    prep, wrong, cloze_safe = entry
    return Gap(
        "en.dependent_prepositions", w.id, w.id, "", wrong,
        cloze_drop="" if cloze_safe else "cloze: another preposition is possible",
        explanation=f"{governor.lemma} takes the preposition {prep}.",
    )  # fmt: skip


# (what it covers, the UPOS of the words it looks at, the rule); the first rule that returns a
# gap or a drop reason for a word decides.
EN_RULES: tuple[tuple[str, frozenset[str], Rule], ...] = (
    ("verb group (tense, aspect, voice, modals)", frozenset({"VERB"}), verb_group),
    ("be: am/is/are, there is/are", frozenset({"AUX", "VERB"}), en_be),
    ("plural nouns", frozenset({"NOUN"}), en_plural),
    ("pronouns and possessives", frozenset({"PRON"}), en_pronoun),
    ("demonstratives", frozenset({"DET"}), en_demonstrative),
    ("a/an", frozenset({"DET"}), en_article),
    ("comparatives and superlatives", frozenset({"ADJ"}), en_comparison),
    ("gerund or infinitive", frozenset({"VERB"}), en_gerund_infinitive),
    ("dependent prepositions", frozenset({"ADP"}), en_dependent_preposition),
)


# ============================================================================== Russian

_CASE_GRAMMEMES = {
    "Nom": {"nomn"}, "Gen": {"gent", "gen2"}, "Dat": {"datv"}, "Acc": {"accs", "acc2"},
    "Ins": {"ablt"}, "Loc": {"loct", "loc2"}, "Par": {"gen2"}, "Voc": {"voct"},
}  # fmt: skip
_NUMBER = {"Sing": "sing", "Plur": "plur"}
_GENDER = {"Masc": "masc", "Fem": "femn", "Neut": "neut"}
_CASE_ORDER = ("nomn", "accs", "gent", "datv", "ablt", "loct")

# Prepositions that govern one case only.
_ONE_CASE = {
    **dict.fromkeys(
        _words(
            "без для до из от у около возле после кроме вокруг среди из-за из-под мимо вместо вне "
            "внутри напротив ради сверх посреди вдоль помимо насчет против позади накануне "
            "вследствие относительно посредством"
        ),
        "Gen",
    ),
    **dict.fromkeys(_words("к ко благодаря согласно вопреки навстречу"), "Dat"),
    **dict.fromkeys(_words("при"), "Loc"),
    **dict.fromkeys(_words("между меж над надо перед передо пред"), "Ins"),
    **dict.fromkeys(_words("через про сквозь"), "Acc"),
}
_ABOUT = frozenset({"о", "об", "обо"})  # + Loc "about"; + Acc only after contact verbs
_CONTACT_VERBS = _words(
    "удариться ударить опереться опираться споткнуться разбить разбиться тереться вытереть"
)
# в / на (and под / за) + Loc "where" after these verbs only; + Acc "where to" after the others.
_STATIC_VERBS = _words(
    "быть находиться жить проживать работать учиться стоять лежать сидеть висеть родиться умереть "
    "погибнуть остаться оставаться бывать отдыхать участвовать нуждаться сомневаться заключаться "
    "располагаться состояться жениться настаивать основываться сказаться отразиться "
    "специализироваться сосредоточиться найти находить храниться хранить проводиться скрываться "
    "прятаться ночевать служить преподавать выступать побывать пожить поработать"
)
_DIRECTION_VERBS = _words(
    "идти пойти прийти приехать поехать войти въехать вернуться возвращаться попасть поступить "
    "поступать отправиться отправить отправлять переехать уехать положить поставить класть "
    "ставить ответить отвечать надеяться влиять повлиять превратиться превращаться превратить "
    "верить поверить вступить вступать входить войти обратить обращать перевести переводить "
    "разделить делить пригласить приглашать опоздать опаздывать уходить уйти приходить приезжать"
)
_ZA_ACC = _words(
    "благодарить поблагодарить платить заплатить бороться голосовать проголосовать отвечать "
    "ответить спасибо"
)
_ZA_INS = _words("следить наблюдать ухаживать")
# с + Gen "from, since" after these; с + Ins "with" otherwise.
_FROM_VERBS = _words(
    "прийти приехать вернуться уйти уехать снять взять начать начаться начинать начинаться упасть "
    "встать сойти слезть спрыгнуть убрать стереть прилететь улететь"
)
# Verbs whose object may also be in the genitive (partitive, intensional) or may be missing.
_GEN_OR_ACC_VERBS = _words(
    "купить выпить налить дать взять принести добавить съесть поесть попить насыпать хотеть ждать "
    "подождать искать просить попросить требовать потребовать ожидать желать пожелать заслуживать "
    "достигать бояться избегать"
)
_INS_VERBS = _words(
    "заниматься интересоваться увлекаться пользоваться воспользоваться владеть руководить "
    "управлять стать становиться являться оказаться оказываться гордиться обладать считаться "
    "командовать"
)
# Nouns after which another noun may be dative (addressee) or instrumental, not only genitive.
_NOT_GENITIVE_HEADS = _words(
    "подарок письмо памятник помощь звонок ответ телеграмма приказ привет благодарность "
    "управление руководство владение пользование обладание занятие увлечение интерес командование"
)
_QUANTIFIERS = _words("много мало немного несколько сколько столько")
_PAST_ANCHORS = _words(
    "вчера позавчера раньше недавно давно когда-то однажды назад прошлом прошлого прошлой прошлую "
    "прошлый тогда"
)
_PRESENT_ANCHORS = frozenset({"сейчас"})
_PERSONAL = _words("я ты он она оно мы вы они")


def _yo(text: str) -> str:
    return text.casefold().replace("ё", "е")


@cache
def _parses(form: str) -> tuple[Any, ...]:
    return tuple(russian_analyzer().parse(form.casefold()))


def _lemma_parses(form: str, lemma: str) -> list[Any]:
    target = _yo(lemma)
    return [p for p in _parses(form) if _yo(p.normal_form) == target]


def _ud_match(p: Any, w: Word, keys: Sequence[str] = ("Case", "Number")) -> bool:
    tag = p.tag
    for key in keys:
        value = w.feat(key)
        if not value:
            continue
        if key == "Case":
            if not _CASE_GRAMMEMES.get(value, set()) & tag.grammemes:
                return False
        elif key == "Number":
            if _NUMBER.get(value) not in tag.grammemes:
                return False
        elif (
            key == "Gender"
            and value in _GENDER
            and tag.number != "plur"
            and _GENDER[value] not in tag.grammemes
        ):
            return False
    return True


def _has_case(form: str, cases: set[str]) -> bool:
    grammemes = set().union(*(_CASE_GRAMMEMES[c] for c in cases))
    return any(grammemes & p.tag.grammemes for p in _parses(form))


def _pick(forms: Sequence[str], answer: str) -> list[str]:
    out: list[str] = []
    for form in forms:
        if _yo(form) != _yo(answer) and _yo(form) not in {_yo(f) for f in out}:
            out.append(form)
    return out


def _number_fixed(s: Sentence, noun: Word, parse: Any) -> bool:
    """Whether the context shows the noun's number: an agreeing modifier, a numeral, or a noun
    that has one number only."""
    if {"Sgtm", "Pltm"} & parse.tag.grammemes or noun.upos == "PRON":
        return True
    for k in s.kids[noun.id]:
        if k.deprel.startswith("nummod"):
            return True
        if k.deprel in ("amod", "det") and k.feat("Number") == noun.feat("Number"):
            return True
    return False


def _case_context(s: Sentence, w: Word) -> tuple[str, str] | str | None:
    """(allowed case, what fixes it) for a noun or pronoun, a drop reason, or None."""
    case = w.feat("Case")
    head = s.head_of(w)
    preps = [k for k in s.kids[w.id] if k.deprel == "case" and k.id < w.id]
    if preps:
        prep = preps[0]
        if s.children(prep, "fixed") or len(preps) > 1:
            return "multiword preposition"
        lemma = _yo(prep.low)
        verb = _yo(head.lemma) if head is not None and head.upos in ("VERB", "AUX") else ""
        noun_head = head is not None and head.upos in ("NOUN", "PROPN")
        if lemma in _ONE_CASE:
            fixed = _ONE_CASE[lemma]
            return (fixed, "preposition") if fixed == case else "case differs from the preposition"
        if lemma in _ABOUT:
            if case == "Loc" and verb not in _CONTACT_VERBS:
                return ("Loc", "preposition")
            return "preposition takes two cases"
        if lemma == "по":
            return ("Dat", "preposition") if case == "Dat" else "preposition takes two cases"
        if lemma in ("в", "во", "на"):
            if case == "Loc" and (verb in _STATIC_VERBS or w.lemma in ("год", "век", "месяц")):
                return ("Loc", "verb")
            if case == "Acc" and verb in _DIRECTION_VERBS:
                return ("Acc", "verb")
            return "в/на: no verb decides between location and direction"
        if lemma in ("под", "подо", "за"):
            if lemma == "за":
                word = verb or (_yo(head.lemma) if noun_head and head is not None else "")
                if case == "Acc" and word in _ZA_ACC:
                    return ("Acc", "verb")
                if case == "Ins" and verb in _ZA_INS:
                    return ("Ins", "verb")
                return "за: no verb decides the case"
            if case == "Ins" and verb in _STATIC_VERBS:
                return ("Ins", "verb")
            if case == "Acc" and verb in _DIRECTION_VERBS:
                return ("Acc", "verb")
            return "под: no verb decides the case"
        if lemma in ("с", "со"):
            if case == "Ins" and verb not in _FROM_VERBS:
                return ("Ins", "preposition")
            return "с takes two cases"
        return "preposition not in the case table"
    if head is None:
        return None
    head_lemma = _yo(head.lemma)
    numerals = [k for k in s.kids[w.id] if k.deprel == "nummod:gov"]
    if numerals:
        return None  # ru_numeral_noun
    if any(k.lemma in _QUANTIFIERS for k in s.kids[w.id] if k.deprel in ("amod", "det", "advmod")):
        return ("Gen", "quantifier") if case == "Gen" else None
    negated = any(k.low == "не" for k in s.kids[head.id])
    if w.deprel == "obj" and case == "Acc" and head.upos == "VERB":
        if negated:
            return "negated verb: genitive or accusative"
        if head_lemma in _GEN_OR_ACC_VERBS:
            return "verb takes genitive or accusative"
        return ("Acc", "verb")
    if w.deprel in ("obj", "nsubj") and case == "Gen" and head_lemma == "нет":
        return ("Gen", "нет")
    if w.deprel == "iobj" and case == "Dat" and head.upos == "VERB":
        return ("Dat", "verb")
    verb_ins = case == "Ins" and head.upos == "VERB" and head_lemma in _INS_VERBS
    if verb_ins and w.deprel in ("obj", "obl", "xcomp"):
        return ("Ins", "verb")
    if w.deprel == "nmod" and case == "Gen" and head.upos == "NOUN" and head.id < w.id:
        if head_lemma in _NOT_GENITIVE_HEADS:
            return "head noun also takes dative or instrumental"
        if not any(k.deprel.startswith("nummod") for k in s.kids[head.id]):
            return ("Gen", "noun")
    return None


def _case_skill(w: Word, case: str) -> str:
    plural = w.feat("Number") == "Plur"
    if w.upos == "PRON":
        return "ru.personal_pronouns_cases"
    if case == "Loc":
        return "ru.plural_oblique_cases" if plural else "ru.prepositional_case"
    if case == "Gen":
        return "ru.genitive_plural" if plural else "ru.genitive_case"
    if case == "Dat":
        return "ru.plural_oblique_cases" if plural else "ru.dative_case"
    if case == "Ins":
        return "ru.plural_oblique_cases" if plural else "ru.instrumental_case"
    animate_masc = w.feat("Animacy") == "Anim" and w.feat("Gender") == "Masc" and not plural
    return "ru.accusative_animate" if animate_masc else "ru.accusative_case"


_CASE_EXPLANATION = {
    "preposition": "The preposition {prep} takes the {case}.",
    "verb": "Here the verb decides the case: {case}.",
    "quantifier": "After words of quantity the noun is in the genitive.",
    "нет": "After нет the noun is in the genitive.",
    "noun": "The owner or the whole after a noun is in the genitive.",
}
_CASE_NAMES = {"Gen": "genitive", "Dat": "dative", "Acc": "accusative", "Ins": "instrumental",
               "Loc": "prepositional case", "Nom": "nominative"}  # fmt: skip


def ru_case(s: Sentence, w: Word) -> Gap | str | None:
    """Case skills: a noun or personal pronoun whose case its governor fixes."""
    if w.upos not in ("NOUN", "PROPN", "PRON") or not w.feat("Case"):
        return None
    if w.upos == "PRON" and (_yo(w.lemma) not in _PERSONAL or w.feat("Reflex") == "Yes"):
        return None  # GSD and PUD have no PronType: personal pronouns by lemma
    case = w.feat("Case")
    if case == "Nom":
        return ru_nominative_plural(s, w)
    if s.children(w, "conj") or w.deprel == "conj" or w.deprel == "flat":
        return None
    context = _case_context(s, w)
    if context is None or isinstance(context, str):
        return context
    allowed, why = context
    parses = [p for p in _lemma_parses(w.form, w.lemma) if _ud_match(p, w)]
    if not parses:
        return "morphology engine disagrees"
    parse = parses[0]
    number = parse.tag.number
    forms = [
        f.word
        for f in parse.lexeme
        if f.tag.case in _CASE_ORDER
        and f.tag.number == number
        and not any(g.startswith("V-") or g == "Af-p" for g in f.tag.grammemes)
    ]
    forms.sort(key=lambda f: _case_rank(f))
    wrong = [f for f in _pick(forms, w.form) if not _has_case(f, {allowed})]
    if w.upos == "PRON":
        after_prep = any(k.deprel == "case" for k in s.kids[w.id])
        table = _pronoun_distractors(_yo(w.lemma), w.form, allowed, after_prep)
        if table is None:
            return "pronoun form not in the table"
        wrong = table
    prep = next((k.low for k in s.kids[w.id] if k.deprel == "case"), "")
    cloze_drop = "" if _number_fixed(s, w, parse) else "cloze: number not fixed by the context"
    skill = _case_skill(w, allowed)
    return Gap(
        skill, w.id, w.id, w.lemma, tuple(_same_case(w.form, f) for f in wrong), cloze_drop,
        explanation=_CASE_EXPLANATION[why].format(prep=prep, case=_CASE_NAMES[allowed]),
    )  # fmt: skip


def _case_rank(form: str) -> int:
    ranks = [_CASE_ORDER.index(p.tag.case) for p in _parses(form) if p.tag.case in _CASE_ORDER]
    return min(ranks, default=len(_CASE_ORDER))


# Personal pronouns: case -> form (ё read as е); third-person forms after a preposition take н-.
_PRONOUNS: dict[str, dict[str, str]] = {
    "я": {"Nom": "я", "Gen": "меня", "Dat": "мне", "Acc": "меня", "Ins": "мной", "Loc": "мне"},
    "ты": {"Nom": "ты", "Gen": "тебя", "Dat": "тебе", "Acc": "тебя", "Ins": "тобой",
           "Loc": "тебе"},
    "мы": {"Nom": "мы", "Gen": "нас", "Dat": "нам", "Acc": "нас", "Ins": "нами", "Loc": "нас"},
    "вы": {"Nom": "вы", "Gen": "вас", "Dat": "вам", "Acc": "вас", "Ins": "вами", "Loc": "вас"},
    "он": {"Nom": "он", "Gen": "его", "Dat": "ему", "Acc": "его", "Ins": "им", "Loc": "нём"},
    "оно": {"Nom": "оно", "Gen": "его", "Dat": "ему", "Acc": "его", "Ins": "им", "Loc": "нём"},
    "она": {"Nom": "она", "Gen": "её", "Dat": "ей", "Acc": "её", "Ins": "ей", "Loc": "ней"},
    "они": {"Nom": "они", "Gen": "их", "Dat": "им", "Acc": "их", "Ins": "ими", "Loc": "них"},
}  # fmt: skip
_N_FORMS = {"его": "него", "ему": "нему", "им": "ним", "её": "неё", "ей": "ней", "их": "них",
            "ими": "ними"}  # fmt: skip


def _pronoun_distractors(lemma: str, form: str, allowed: str, after_prep: bool) -> list[str] | None:
    """Forms of the pronoun in cases other than `allowed`, plus the same case with or without
    н- where that is wrong; None when the treebank form is not the table's."""
    paradigm = _PRONOUNS.get(lemma)
    if paradigm is None:
        return None
    right = paradigm[allowed]
    if after_prep and right in _N_FORMS:
        right = _N_FORMS[right]
    if _yo(form) != _yo(right):
        return None
    same = {f for c, f in paradigm.items() if f == paradigm[allowed]}
    out = [f for c, f in paradigm.items() if c != allowed and f not in same]
    plain = paradigm[allowed]
    if plain in _N_FORMS:
        out.insert(0, plain if after_prep else _N_FORMS[plain])
    return out


def ru_nominative_plural(s: Sentence, w: Word) -> Gap | str | None:
    """A plural subject of a plural verb: the nominative plural is forced."""
    if w.upos != "NOUN" or w.feat("Number") != "Plur" or w.deprel != "nsubj":
        return None
    head = s.head_of(w)
    if head is None or head.feat("Number") != "Plur" or head.upos not in ("VERB", "AUX"):
        return None
    if s.children(w, "conj", "nummod", "nummod:gov") or w.deprel == "conj":
        return None
    parses = [p for p in _lemma_parses(w.form, w.lemma) if _ud_match(p, w)]
    if not parses:
        return "morphology engine disagrees"
    parse = parses[0]
    if "Pltm" in parse.tag.grammemes:
        return "plural-only noun"
    wanted = ({"nomn", "sing"}, {"gent", "plur"}, {"datv", "plur"}, {"gent", "sing"})
    found = [parse.inflect(g) for g in wanted]
    wrong = [
        f.word for f in found if f is not None and not _has_case_number(f.word, "nomn", "plur")
    ]
    return Gap(
        "ru.nominative_plural", w.id, w.id, w.lemma,
        tuple(_same_case(w.form, f) for f in _pick(wrong, w.form)),
        explanation="The verb is plural, so its subject is in the nominative plural.",
    )  # fmt: skip


def _has_case_number(form: str, case: str, number: str) -> bool:
    return any({case, number} <= p.tag.grammemes for p in _parses(form))


def _agreeing_forms(adjective: Any, noun_parses: Sequence[Any]) -> set[str]:
    """Every form of the adjective that agrees with some reading of the noun."""
    out: set[str] = set()
    for p in noun_parses:
        tag = p.tag
        wanted = {tag.case, tag.number}
        if tag.number == "sing" and tag.gender:
            wanted.add(tag.gender)
        if tag.case == "accs" and (tag.number == "plur" or tag.gender == "masc"):
            wanted.add(tag.animacy or "inan")
        if None in wanted:
            continue
        found = adjective.inflect(wanted)
        if found is not None:
            out.add(_yo(found.word))
    return out


def ru_agreement(s: Sentence, w: Word) -> Gap | str | None:
    """Adjectives, possessives and participles agree with their noun."""
    if w.deprel not in ("amod", "det", "acl"):
        return None
    participle = w.upos == "VERB" and w.feat("VerbForm") == "Part"
    possessive = w.upos == "DET" and _yo(w.lemma) in ("мой", "твой", "наш", "ваш", "свой")
    adjective = w.upos == "ADJ" and w.feat("Degree") in ("Pos", "") and not w.feat("NumType")
    if not (participle or possessive or adjective) or w.feat("Variant") == "Short":
        return None
    if participle and w.deprel not in ("amod", "acl"):
        return None
    if not participle and w.deprel == "acl":
        return None
    noun = s.head_of(w)
    if noun is None or noun.upos not in ("NOUN", "PROPN") or not noun.feat("Case"):
        return None
    if s.children(w, "conj") or w.deprel == "conj" or s.children(noun, "conj"):
        return "coordinated modifier or noun"
    if not participle and noun.id < w.id:
        return None
    pos = "PRTF" if participle else "ADJF"
    parses = [p for p in _lemma_parses(w.form, w.lemma) if pos == p.tag.POS and _ud_match(p, w)]
    noun_parses = [p for p in _lemma_parses(noun.form, noun.lemma) if p.tag.POS == "NOUN"]
    if not parses or not noun_parses:
        return "morphology engine disagrees"
    parse = parses[0]
    agreeing = _agreeing_forms(parse, noun_parses)
    if _yo(w.form) not in agreeing:
        return "morphology engine disagrees"
    same_kind = [
        f.word
        for f in parse.lexeme
        if pos == f.tag.POS
        and f.tag.tense == parse.tag.tense
        and f.tag.voice == parse.tag.voice
        and not {"V-oy", "V-ey", "Cmp2", "Supr"} & f.tag.grammemes
    ]
    wrong = [f for f in _pick(same_kind, w.form) if _yo(f) not in agreeing]
    wrong.sort(key=_case_rank)
    if participle:
        skill, cloze_drop = "ru.participles", "cloze: participle tense or voice is free"
    elif possessive:
        skill, cloze_drop = "ru.possessive_pronouns", ""
    else:
        skill, cloze_drop = "ru.adjective_agreement", ""
    if not cloze_drop and len(agreeing) > 1:
        cloze_drop = "cloze: the noun's form has several readings"
    return Gap(
        skill, w.id, w.id, w.lemma, tuple(_same_case(w.form, f) for f in wrong), cloze_drop,
        explanation=f"The {'participle' if participle else 'word'} agrees with {noun.form} in "
        "gender, number and case.",
    )  # fmt: skip


def _subject_agreement(s: Sentence, verb: Word) -> tuple[Word, str] | str:
    """The one nominal subject and the past-tense form class it demands (masc, femn, neut,
    plur), or a drop reason."""
    subjects = s.children(verb, "nsubj")
    if len(subjects) != 1:
        return "subject missing or unclear"
    subj = subjects[0]
    if s.children(subj, "conj", "nummod", "nummod:gov") or any(
        k.lemma in _QUANTIFIERS for k in s.kids[subj.id]
    ):
        return "subject number unclear"
    low = _yo(subj.form)
    if subj.upos == "PRON":
        if low in ("я", "ты"):
            return "speaker's gender unknown"
        if low in ("мы", "вы", "они"):
            return subj, "plur"
        if low in ("он", "она", "оно"):
            return subj, {"он": "masc", "она": "femn", "оно": "neut"}[low]
        if _yo(subj.lemma) != "который":
            return "subject number unclear"
    elif subj.upos not in ("NOUN", "PROPN"):
        return "subject number unclear"
    if subj.feat("Number") == "Plur":
        return subj, "plur"
    gender = _GENDER.get(subj.feat("Gender"), "")
    if not gender or subj.feat("Case") not in ("Nom", ""):
        return "subject gender unknown"
    if subj.upos in ("NOUN", "PROPN"):
        # The dictionary's gender, not the referent's: "Представитель (a woman) заявила" is
        # annotated Fem, and "представитель заявил" would be right too; a name the dictionary
        # does not know (Гун Лицзяо) does not show its bearer's gender to the learner.
        genders = {
            p.tag.gender
            for p in _lemma_parses(subj.form, subj.lemma)
            if p.tag.POS == "NOUN" and p.is_known
        }
        if genders != {gender}:
            return "subject gender depends on the referent"
    return subj, gender


def ru_past(s: Sentence, w: Word) -> Gap | str | None:
    if w.upos not in ("VERB", "AUX") or w.feat("Tense") != "Past" or w.feat("VerbForm") != "Fin":
        return None
    if w.upos == "AUX" and w.deprel == "cop":
        head = s.head_of(w)
        agreement = _subject_agreement(s, head) if head is not None else "subject missing"
    else:
        agreement = _subject_agreement(s, w)
    if isinstance(agreement, str):
        return agreement
    _, needed = agreement
    verb_class = "plur" if w.feat("Number") == "Plur" else _GENDER.get(w.feat("Gender"), "")
    if verb_class != needed:
        return "subject and verb disagree in the treebank"
    parses = [p for p in _lemma_parses(w.form, w.lemma) if {"VERB", "past"} <= p.tag.grammemes]
    if not parses:
        return "morphology engine disagrees"
    parse = parses[0]
    wrong = []
    for wanted in ({"masc", "sing"}, {"femn", "sing"}, {"neut", "sing"}, {"plur"}):
        found = parse.inflect(wanted)
        if found is not None:
            wrong.append(found.word)
    conditional = any(k.low == "бы" for k in s.kids[w.id])
    anchor = any(_yo(x) in _PAST_ANCHORS for x in s.lows()) or _past_year(s)
    cloze_drop = "" if anchor and not conditional else "cloze: no past time anchor"
    skill = "ru.conditional_mood" if conditional else "ru.past_tense_gender"
    return Gap(
        skill, w.id, w.id, w.lemma,
        tuple(_same_case(w.form, f) for f in _pick(wrong, w.form)), cloze_drop,
        extra_skills=("ru.past_tense_gender",) if conditional else (),
        explanation="In the past tense the verb agrees with its subject in gender and number.",
    )  # fmt: skip


def _past_year(s: Sentence) -> bool:
    lows = s.lows()
    for n, low in enumerate(lows[:-1]):
        if re.fullmatch(r"1[0-9]\d\d|200\d|201\d", low) and lows[n + 1].startswith("год"):
            return True
    return False


_PERSON_FORMS = (
    ({"1per", "sing"}, "я"), ({"2per", "sing"}, "ты"), ({"3per", "sing"}, "он"),
    ({"1per", "plur"}, "мы"), ({"2per", "plur"}, "вы"), ({"3per", "plur"}, "они"),
)  # fmt: skip
_MIXED_CONJUGATION = _words("хотеть бежать есть дать создать надоесть")


def ru_present(s: Sentence, w: Word) -> Gap | str | None:
    """Present (imperfective) and simple future (perfective) forms agree in person and number;
    буду + infinitive as well."""
    if w.upos not in ("VERB", "AUX") or w.feat("VerbForm") != "Fin" or w.feat("Mood") != "Ind":
        return None
    tense = w.feat("Tense")
    if tense not in ("Pres", "Fut"):
        return None
    lemma = _yo(w.lemma)
    if lemma in ("нет", "быть") and not (w.upos == "AUX" and tense == "Fut"):
        return None
    head = s.head_of(w) if w.upos == "AUX" else w
    if head is None:
        return None
    subjects = s.children(head, "nsubj")
    if len(subjects) != 1 or s.children(subjects[0], "conj", "nummod", "nummod:gov"):
        return "subject missing or unclear"
    subj = subjects[0]
    if subj.upos == "PRON" and _yo(subj.form) in _PERSONAL:
        person = {"я": 0, "ты": 1, "он": 2, "она": 2, "оно": 2, "мы": 3, "вы": 4, "они": 5}[
            _yo(subj.form)
        ]
    elif subj.upos in ("NOUN", "PROPN") and subj.feat("Case") == "Nom":
        person = 5 if subj.feat("Number") == "Plur" else 2
    else:
        return "subject missing or unclear"
    grammemes, _ = _PERSON_FORMS[person]
    gold_person = (w.feat("Person"), w.feat("Number"))
    if gold_person != (str(person % 3 + 1), "Plur" if person > 2 else "Sing"):
        return "subject and verb disagree in the treebank"
    kind = "futr" if tense == "Fut" else "pres"
    parses = [
        p for p in _lemma_parses(w.form, w.lemma)
        if {"VERB", kind} <= p.tag.grammemes and grammemes <= p.tag.grammemes
    ]  # fmt: skip
    if not parses:
        return "morphology engine disagrees"
    parse = parses[0]
    forms = [parse.inflect(g) for g, _ in _PERSON_FORMS]
    wrong = [f.word for f in forms if f is not None and not grammemes <= f.tag.grammemes]
    wrong = [f for f in wrong if not any(grammemes <= p.tag.grammemes for p in _parses(f))]
    if w.upos == "AUX":
        skill, cloze_drop = "ru.future_tense", ""
        if head.id != w.id + 1 or head.feat("VerbForm") != "Inf":
            cloze_drop = "cloze: words between буду and the infinitive"
    elif tense == "Fut":
        skill, cloze_drop = "ru.future_tense", "cloze: tense is free without an anchor"
    else:
        if lemma in _MIXED_CONJUGATION:
            return "mixed conjugation"
        third_plural = parse.inflect({"3per", "plur"})
        if third_plural is None:
            return "morphology engine disagrees"
        ending = third_plural.word.removesuffix("ся").removesuffix("сь")
        if ending.endswith(("ут", "ют")):
            skill = "ru.present_first_conjugation"
        elif ending.endswith(("ат", "ят")):
            skill = "ru.present_second_conjugation"
        else:
            return "conjugation unclear"
        anchor = any(x in _PRESENT_ANCHORS for x in s.lows())
        cloze_drop = "" if anchor else "cloze: tense is free without an anchor"
    return Gap(
        skill, w.id, w.id, w.lemma,
        tuple(_same_case(w.form, f) for f in _pick(wrong, w.form)), cloze_drop,
        explanation="The verb agrees with its subject in person and number.",
    )  # fmt: skip


def ru_short(s: Sentence, w: Word) -> Gap | str | None:
    """Short adjectives and short passive participles agree with the subject."""
    if w.feat("Variant") != "Short" or w.upos not in ("ADJ", "VERB"):
        return None
    agreement = _subject_agreement(s, w)
    if isinstance(agreement, str):
        return agreement
    _, needed = agreement
    own = "plur" if w.feat("Number") == "Plur" else _GENDER.get(w.feat("Gender"), "")
    if own != needed:
        return "subject and predicate disagree in the treebank"
    pos = "PRTS" if w.upos == "VERB" else "ADJS"
    parses = [p for p in _parses(w.form) if pos == p.tag.POS]
    if w.upos == "VERB":
        parses = [p for p in parses if _yo(p.normal_form) == _yo(w.lemma)]
    if not parses:
        return "morphology engine disagrees"
    parse = parses[0]
    wrong = []
    for wanted in ({"masc", "sing"}, {"femn", "sing"}, {"neut", "sing"}, {"plur"}):
        found = parse.inflect(wanted)
        if found is not None and pos == found.tag.POS:
            wrong.append(found.word)
    skill = "ru.participles" if w.upos == "VERB" else "ru.short_adjectives"
    return Gap(
        skill, w.id, w.id, w.lemma,
        tuple(_same_case(w.form, f) for f in _pick(wrong, w.form)),
        "cloze: long or short form is free",
        explanation="The short form agrees with the subject in gender and number.",
    )  # fmt: skip


def ru_comparative(s: Sentence, w: Word) -> Gap | str | None:
    if w.upos != "ADJ" or w.feat("Degree") != "Cmp":
        return None
    if not _governs(s, [w], "чем"):
        return "comparative without чем"
    if _yo(w.lemma) in ("много", "мало"):
        return None
    parses = [p for p in _lemma_parses(w.form, w.lemma) if p.tag.POS == "COMP"]
    if not parses:
        return "morphology engine disagrees"
    base = [p for p in _parses(w.lemma) if p.tag.POS == "ADJF"]
    wrong = [w.lemma]
    if base:
        short = base[0].inflect({"ADJS", "neut", "sing"})
        if short is not None:
            wrong.append(short.word)
    return Gap(
        "ru.comparatives", w.id, w.id, w.lemma,
        tuple(_same_case(w.form, f) for f in _pick(wrong, w.form)),
        explanation="Comparing with чем needs the comparative.",
    )  # fmt: skip


def ru_converb(s: Sentence, w: Word) -> Gap | str | None:
    if w.upos != "VERB" or w.feat("VerbForm") != "Conv":
        return None
    parses = [p for p in _lemma_parses(w.form, w.lemma) if p.tag.POS == "GRND"]
    if not parses:
        return "morphology engine disagrees"
    parse = parses[0]
    rivals = [
        f.word for f in parse.lexeme
        if f.tag.POS == "GRND" and f.tag.tense == parse.tag.tense
        and "V-sh" not in f.tag.grammemes and _yo(f.word) != _yo(w.form)
    ]  # fmt: skip
    if rivals:
        return "another verbal adverb form is possible"
    return Gap(
        "ru.verbal_adverbs", w.id, w.id, w.lemma,
        choice_drop="choice: no safe distractors for verbal adverbs",
        explanation="A second action of the same subject: the verbal adverb (деепричастие).",
    )  # fmt: skip


def ru_numeral_noun(s: Sentence, w: Word) -> Gap | str | None:
    """The noun after a numeral: 2-4 + genitive singular, 5+ and много + genitive plural."""
    if w.upos != "NOUN" or w.feat("Case") != "Gen":
        return None
    numerals = [k for k in s.kids[w.id] if k.deprel == "nummod:gov" and k.id < w.id]
    if len(numerals) != 1:
        return None
    numeral = numerals[0]
    if numeral.feat("Case") not in ("Nom", "Acc") or s.children(w, "conj"):
        return "numeral in an oblique case"
    value = numeral.low
    if value.isdigit():
        n = int(value)
        wanted = "Sing" if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14) else "Plur"
        if n % 10 == 1 and n % 100 != 11:
            return "numeral ending in one"
    elif _yo(value) in ("два", "две", "три", "четыре", "оба", "обе"):
        wanted = "Sing"
    elif _yo(value) in _QUANTIFIERS or value in (
        "пять", "шесть", "семь", "восемь", "девять", "десять", "двадцать", "тридцать", "сто",
    ):  # fmt: skip
        wanted = "Plur"
    else:
        return "numeral not in the table"
    if w.feat("Number") != wanted:
        return "treebank and numeral rule disagree"
    parses = [p for p in _lemma_parses(w.form, w.lemma) if _ud_match(p, w)]
    if not parses:
        return "morphology engine disagrees"
    parse = parses[0]
    wanted_tags = ({"nomn", "sing"}, {"gent", "sing"}, {"gent", "plur"}, {"nomn", "plur"})
    wrong = []
    for tags in wanted_tags:
        found = parse.inflect(tags)
        if found is not None and not _has_case_number(
            found.word, "gent", "sing" if wanted == "Sing" else "plur"
        ):
            wrong.append(found.word)
    skill = "ru.genitive_plural" if wanted == "Plur" else "ru.numerals_nouns"
    return Gap(
        skill, w.id, w.id, w.lemma, tuple(_same_case(w.form, f) for f in _pick(wrong, w.form)),
        extra_skills=("ru.numerals_nouns",),
        explanation=f"After {numeral.form} the noun is genitive "
        f"{'singular' if wanted == 'Sing' else 'plural'}.",
    )  # fmt: skip


RU_RULES: tuple[tuple[str, frozenset[str], Rule], ...] = (
    ("noun after a numeral", frozenset({"NOUN"}), ru_numeral_noun),
    ("case governed by a preposition, verb or noun", frozenset({"NOUN", "PROPN", "PRON"}), ru_case),
    (
        "agreement of adjectives, possessives, participles",
        frozenset({"ADJ", "DET", "VERB"}),
        ru_agreement,
    ),
    ("past tense gender and number", frozenset({"VERB", "AUX"}), ru_past),
    ("present and future person", frozenset({"VERB", "AUX"}), ru_present),
    ("short forms", frozenset({"ADJ", "VERB"}), ru_short),
    ("comparatives", frozenset({"ADJ"}), ru_comparative),
    ("verbal adverbs", frozenset({"VERB"}), ru_converb),
)
