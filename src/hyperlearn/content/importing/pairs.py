"""Minimal pairs (BLiMP JSONL, RuBLiMP CSV) and acceptability judgements (RuCoLA CSV) to items.

A minimal pair is a correct sentence and a wrong one that differ in one place, both written by
the source's linguists. Each pair whose phenomenon practises a skill (data/pairs_skills.yaml)
gives:

- two `judgement` items: the correct sentence, answered "correct", and the wrong one, answered
  "incorrect" with the correct one as its correction;
- a `choice` item when the sentences differ in one span of one or two words: the correct
  sentence with a gap there, the correct words as the answer, and as distractors the wrong
  words of this pair plus other words the source marks wrong in the same place of the same
  sentence (RuBLiMP often perturbs one word several ways: "пришло" -> "пришли", "пришла").
  A choice needs two distractors; the only ones added beyond the source are English forms that
  are wrong by a stated rule (`_english_extra`). With fewer than two, the pair gives judgements
  only.

Nothing is guessed: the correct sentence, the wrong sentence and the wrong words all come from
the annotation. To find the other wrong words of the same place, a first pass over the files
keeps a small index (a hash of sentence and place -> wrong words), not the records.

RuCoLA labels single sentences acceptable or not, with a coarse error type and no correction;
see the `rucola` section of pairs_skills.yaml for why it yields no items yet.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from hyperlearn.content.bank import DATA_DIR
from hyperlearn.content.importing.base import Candidate, Evidence, ImportRun
from hyperlearn.content.importing.difficulty import estimate_level
from hyperlearn.content.importing.runner import ImportFailed
from hyperlearn.content.importing.text import sentence_problem
from hyperlearn.content.importing.topics import tag_topics
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import GAP, Item, ItemType, Language, Provenance, SkillGraph, normalize

SKILLS_FILE = DATA_DIR / "pairs_skills.yaml"
MAX_GAP_WORDS = 2
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")

Kind = Literal["blimp", "rublimp", "rucola"]
_LANGUAGE: dict[str, Language] = {
    "blimp": Language.EN,
    "rublimp": Language.RU,
    "rucola": Language.RU,
}
_NAMES = {"blimp": "BLiMP", "rublimp": "RuBLiMP", "rucola": "RuCoLA"}
_BLIMP_FIELDS = ("sentence_good", "sentence_bad", "UID")
_RUBLIMP_FIELDS = ("id", "source_sentence", "target_sentence", "source_word", "target_word", "PID")
_RUCOLA_FIELDS = ("id", "sentence", "acceptable", "error_type")


# --- the phenomenon -> skill map --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    skill: str
    grammemes: frozenset[str] = frozenset()
    lemma: str = ""
    conjugation: int = 0


@cache
def skill_rules(path: Path = SKILLS_FILE) -> dict[str, dict[str, tuple[Rule, ...]]]:
    """source (blimp, rublimp, rucola) -> phenomenon -> rules, from pairs_skills.yaml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        source: {
            str(phenomenon): tuple(_rule(r) for r in rules)
            for phenomenon, rules in (data.get(source) or {}).items()
        }
        for source in ("blimp", "rublimp", "rucola")
    }


def _rule(raw: Any) -> Rule:
    if isinstance(raw, str):
        return Rule(raw)
    return Rule(
        skill=str(raw["skill"]),
        grammemes=frozenset(str(g) for g in raw.get("grammemes", ())),
        lemma=str(raw.get("lemma", "")),
        conjugation=int(raw.get("conjugation", 0)),
    )


def pick_skill(
    rules: Sequence[Rule],
    good_word: str,
    bad_word: str,
    language: Language,
    graph: SkillGraph | None = None,
) -> str:
    """The skill of the first rule that fits the pair's words, or "" when none does. With the
    skill graph, a Russian word must also have a form the skill names (`answer_grammemes`)."""
    for rule in rules:
        if language is Language.EN:
            return rule.skill
        forms = graph[rule.skill].answer_grammemes if graph and rule.skill in graph else ()
        if _russian_fits(rule, good_word, bad_word, forms):
            return rule.skill
    return ""


def _russian_fits(
    rule: Rule, good_word: str, bad_word: str, forms: Sequence[frozenset[str]] = ()
) -> bool:
    if not (rule.grammemes or rule.lemma or rule.conjugation or forms):
        return True
    readings = russian_readings(good_word, bad_word)
    if not readings:
        return False
    return all(
        rule.grammemes <= grammemes
        and (not rule.lemma or lemma == rule.lemma)
        and (not rule.conjugation or conjugation == rule.conjugation)
        and (not forms or any(form <= grammemes for form in forms))
        for lemma, grammemes, conjugation in readings
    )


@cache
def russian_readings(good_word: str, bad_word: str) -> tuple[tuple[str, frozenset[str], int], ...]:
    """(lemma, grammemes, conjugation) of each pymorphy3 reading of the correct word that shares
    a lemma with the wrong word (all its readings when none does: a non-word, or another verb
    of an aspect pair). The dictionary must know the word."""
    analyzer = russian_analyzer()
    word = good_word.casefold()
    if not analyzer.word_is_known(word):
        return ()
    parses = analyzer.parse(word)
    wrong = {_yo(p.normal_form) for p in analyzer.parse(bad_word.casefold())}
    shared = [p for p in parses if _yo(p.normal_form) in wrong] or parses
    return tuple((_yo(p.normal_form), frozenset(p.tag.grammemes), _conjugation(p)) for p in shared)


def _conjugation(parse: Any) -> int:
    """1 or 2 for a present-tense verb (by its 3rd person plural ending), else 0."""
    if "pres" not in parse.tag.grammemes:
        return 0
    plural = parse.inflect({"plur", "3per"})
    if plural is None:
        return 0
    word = plural.word.removesuffix("ся")
    if word.endswith(("ут", "ют")):
        return 1
    if word.endswith(("ат", "ят")):
        return 2
    return 0


def _yo(text: str) -> str:
    return text.replace("ё", "е")


# --- reading the files ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pair:
    path: Path
    line: int
    record_id: str
    phenomenon: str
    good: str
    bad: str
    good_word: str = ""  # RuBLiMP names the changed words; BLiMP's come from the diff
    bad_word: str = ""


@dataclass(frozen=True, slots=True)
class Judged:
    path: Path
    line: int
    record_id: str
    sentence: str
    acceptable: bool
    error_type: str


def file_kind(path: Path) -> Kind:
    """Which source a file is, from its first record or header; ImportFailed if none."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if path.suffix == ".jsonl":
                for line in handle:
                    if line.strip():
                        record = json.loads(line)
                        if isinstance(record, dict) and all(f in record for f in _BLIMP_FIELDS):
                            return "blimp"
                        break
            elif path.suffix == ".csv":
                header = next(csv.reader(handle), [])
                if all(f in header for f in _RUBLIMP_FIELDS):
                    return "rublimp"
                if all(f in header for f in _RUCOLA_FIELDS):
                    return "rucola"
    except (json.JSONDecodeError, csv.Error, UnicodeDecodeError):
        pass
    raise ImportFailed(
        f"{path}: not a minimal-pair file (BLiMP .jsonl with sentence_good/sentence_bad/UID, "
        "RuBLiMP .csv with source_sentence/target_sentence/PID, or RuCoLA .csv with "
        "sentence/acceptable/error_type)"
    )


def read_pairs(path: Path, kind: Kind, run: ImportRun | None) -> Iterator[Pair]:
    """The pairs of a BLiMP or RuBLiMP file; malformed records are reported to `run` (when
    given) with file and line, and skipped."""
    with path.open(encoding="utf-8", newline="") as handle:
        if kind == "blimp":
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                pair = _blimp_pair(path, number, line)
                if isinstance(pair, str):
                    if run is not None:
                        run.record_read()
                        run.malformed(path, number, pair)
                    continue
                yield pair
        else:
            reader = csv.DictReader(handle)
            for row in reader:
                number = reader.line_num
                values = [row.get(f) for f in _RUBLIMP_FIELDS]
                if None in row or any(not isinstance(v, str) or not v.strip() for v in values):
                    if run is not None:
                        run.record_read()
                        run.malformed(path, number, "expected every RuBLiMP column filled")
                    continue
                record_id, good, bad, good_word, bad_word, pid = (str(v) for v in values)
                yield Pair(path, number, record_id, pid, good, bad, good_word, bad_word)


def _blimp_pair(path: Path, number: int, line: str) -> Pair | str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg}"
    if not isinstance(record, dict):
        return "not a JSON object"
    values = [record.get(f) for f in _BLIMP_FIELDS]
    if any(not isinstance(v, str) or not v.strip() for v in values):
        return "expected sentence_good, sentence_bad and UID"
    good, bad, uid = (str(v) for v in values)
    return Pair(path, number, str(record.get("pairID", number)), uid, good, bad)


def read_judged(path: Path, run: ImportRun) -> Iterator[Judged]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            number = reader.line_num
            values = [row.get(f) for f in _RUCOLA_FIELDS]
            if (
                None in row
                or any(not isinstance(v, str) for v in values)
                or not str(values[1]).strip()
                or values[2] not in ("0", "1")
            ):
                run.record_read()
                run.malformed(path, number, "expected id, sentence, acceptable (0/1), error_type")
                continue
            record_id, sentence, acceptable, error_type = (str(v) for v in values)
            yield Judged(path, number, record_id, sentence, acceptable == "1", error_type)


# --- where the sentences differ ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """Where the correct sentence differs from the wrong one: `good[start:end]` there reads
    `right`, and the wrong sentence has `wrong` instead; everything around is identical."""

    start: int
    end: int
    right: str
    wrong: str


def tokens(sentence: str) -> list[str]:
    return _TOKEN.findall(sentence)


def diff(good: str, bad: str) -> Span | None:
    """The one span of words where the sentences differ, or None (identical, or one sentence
    only adds or removes words)."""
    g = list(_TOKEN.finditer(good))
    b = list(_TOKEN.finditer(bad))
    prefix = 0
    while prefix < min(len(g), len(b)) and g[prefix].group() == b[prefix].group():
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(g), len(b)) - prefix
        and g[len(g) - 1 - suffix].group() == b[len(b) - 1 - suffix].group()
    ):
        suffix += 1
    if prefix + suffix >= min(len(g), len(b)):
        return None  # identical, or a pure insertion or deletion
    g_start, g_end = g[prefix].start(), g[len(g) - 1 - suffix].end()
    b_start, b_end = b[prefix].start(), b[len(b) - 1 - suffix].end()
    if good[:g_start] != bad[:b_start] or good[g_end:] != bad[b_end:]:
        return None  # differing spacing around the span: not one clean gap
    return Span(g_start, g_end, good[g_start:g_end], bad[b_start:b_end])


def _gap_span(pair: Pair) -> Span | None:
    span = diff(pair.good, pair.bad)
    if span is None or len(tokens(span.right)) > MAX_GAP_WORDS:
        return None
    if len(tokens(span.wrong)) > MAX_GAP_WORDS:
        return None
    if pair.good_word and (span.right, span.wrong) != (pair.good_word, pair.bad_word):
        return None  # the annotation names other words than the sentences show
    return span


def _family_key(good: str, span: Span) -> int:
    return hash((good, span.start, span.end))


def family_index(paths: Sequence[tuple[Path, Kind]]) -> dict[int, frozenset[str]]:
    """First pass: for each place in a correct sentence, every wrong word the source puts
    there (across all given files)."""
    index: dict[int, set[str]] = {}
    for path, kind in paths:
        if kind == "rucola":
            continue
        for pair in read_pairs(path, kind, None):
            span = _gap_span(pair)
            if span is not None:
                index.setdefault(_family_key(pair.good, span), set()).add(span.wrong)
    return {key: frozenset(words) for key, words in index.items() if len(words) > 1}


# --- English distractors wrong by rule --------------------------------------------------------

_SINGULAR = {"this": "that", "that": "this"}
_PLURAL = {"these": "those", "those": "these"}
_BE_PAST_PRESENT = frozenset({"is", "are", "was", "were"})


def _english_extra(good: str, span: Span) -> str:
    """One more wrong form, when a rule proves it wrong:

    - demonstratives: when this/that and these/those swap number, the other demonstrative of
      the wrong number is just as wrong ("this sketches" -> "that sketches"), provided the gap
      is not the first word and only a noun phrase of at most three words follows to the end of
      the sentence (so "that" cannot start a clause);
    - is, are, was, were against each other: "am" agrees only with "I", so it is wrong in a
      sentence without "I".
    """
    right, wrong = span.right.casefold(), span.wrong.casefold()
    if (right in _SINGULAR and wrong in _PLURAL) or (right in _PLURAL and wrong in _SINGULAR):
        rest = tokens(good[span.end :])
        if (
            span.start > 0
            and 1 <= len(rest) - 1 <= 3
            and rest[-1] in (".", "!")
            and all(t.isalpha() for t in rest[:-1])
        ):
            partner = _SINGULAR.get(wrong) or _PLURAL[wrong]
            return _same_case(partner, span.wrong)
    if right in _BE_PAST_PRESENT and wrong in _BE_PAST_PRESENT and "I" not in tokens(good):
        return _same_case("am", span.wrong)
    return ""


def _same_case(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


# --- building items ---------------------------------------------------------------------------


def generate(paths: Sequence[Path], run: ImportRun) -> Iterator[Candidate]:
    kinds = [(path, file_kind(path)) for path in paths]
    for path, kind in kinds:
        if _LANGUAGE[kind] is not run.language:
            raise ImportFailed(
                f"{path}: {_NAMES[kind]} is {_LANGUAGE[kind]}; import it with --lang "
                f"{_LANGUAGE[kind]}"
            )
    rules = skill_rules()
    families = family_index(kinds)
    emitted: set[int] = set()
    for path, kind in kinds:
        if kind == "rucola":
            for judged in read_judged(path, run):
                run.record_read()
                _judge_rucola(judged, rules["rucola"], run)
                if run.exhausted:
                    return
            continue
        for pair in read_pairs(path, kind, run):
            run.record_read()
            yield from _pair_items(pair, rules[kind], families, emitted, run)
            if run.exhausted:
                return


def _judge_rucola(judged: Judged, rules: Mapping[str, tuple[Rule, ...]], run: ImportRun) -> None:
    """RuCoLA gives no item yet: an acceptable sentence names no skill, and an unacceptable one
    has no correction (which an "incorrect" judgement needs)."""
    if judged.acceptable:
        run.drop("no skill in source")
    elif judged.error_type not in rules:
        run.drop("unmapped phenomenon")
    else:
        run.drop("no correction in source")


def _pair_items(
    pair: Pair,
    rules: Mapping[str, tuple[Rule, ...]],
    families: Mapping[int, frozenset[str]],
    emitted: set[int],
    run: ImportRun,
) -> Iterator[Candidate]:
    language = run.language
    phenomenon_rules = rules.get(pair.phenomenon)
    if not phenomenon_rules:
        run.drop("unmapped phenomenon")
        return
    if pair.good.strip() == pair.bad.strip():
        run.drop("pair sentences are the same")
        return
    good_tokens = tokens(pair.good)
    problem = sentence_problem(pair.good, good_tokens, language) or sentence_problem(
        pair.bad, tokens(pair.bad), language
    )
    if problem:
        run.drop(problem)
        return
    span = _gap_span(pair)
    good_word = pair.good_word or (span.right if span else "")
    bad_word = pair.bad_word or (span.wrong if span else "")
    skill_id = pick_skill(phenomenon_rules, good_word, bad_word, language, run.graph)
    if not skill_id:
        run.drop("form does not fit skill")
        return
    if skill_id not in run.graph:
        run.drop("unknown skill")
        return
    level = estimate_level(pair.good, good_tokens, language, run.graph[skill_id].level)
    topics = tag_topics(pair.good, language)
    provenance = Provenance(run.source, run.licence, f"{pair.path.name}:{pair.record_id}")

    def make(type: ItemType, text: str, answers: tuple[str, ...], **extra: Any) -> Item:
        return Item.create(
            language=language,
            type=type,
            text=text,
            answers=answers,
            skills=(skill_id,),
            level=level,
            topics=topics,
            provenance=provenance,
            **extra,
        )

    yield Candidate(make(ItemType.JUDGEMENT, pair.good, ("correct",)), Evidence(gold=pair.good))
    yield Candidate(
        make(ItemType.JUDGEMENT, pair.bad, ("incorrect",), correction=pair.good),
        Evidence(gold=pair.good, wrong=pair.bad),
    )
    if span is None:
        run.drop("choice: no single gap")
        return
    key = _family_key(pair.good, span)
    if key in emitted:
        return  # this gap was already offered from another pair of the family
    wrong_words = set(families.get(key, ())) | {span.wrong}
    if language is Language.EN:
        wrong_words.add(_english_extra(pair.good, span))
    answer = normalize(span.right, language)
    distractors: dict[str, str] = {}
    for word in sorted(w for w in wrong_words if w):
        if normalize(word, language) != answer:
            distractors.setdefault(normalize(word, language), word)
    if len(distractors) < 2:
        run.drop("choice: one wrong form only")
        return
    emitted.add(key)
    text = pair.good[: span.start] + GAP + pair.good[span.end :]
    yield Candidate(
        make(
            ItemType.CHOICE,
            text,
            (span.right,),
            distractors=tuple(sorted(distractors.values(), key=str.casefold)),
        ),
        Evidence(gold=pair.good),
    )
