"""The starter bank: topics, skill graphs and hand-written items shipped as YAML in the package.

`load_bank` returns checked content or raises `ContentError` with every problem found;
`validate` returns the problems without raising, for `hyperlearn content validate`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hyperlearn.content.morphology import form_problem
from hyperlearn.core import (
    GAP,
    CEFRLevel,
    Item,
    ItemType,
    Language,
    Skill,
    SkillGraph,
    Topic,
    grade,
    normalize,
)
from hyperlearn.core.items import JUDGEMENT_ANSWERS
from hyperlearn.core.skills import graph_problems

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MIN_ITEMS_PER_SKILL = 8
_EXPLANATION_CHARS = (60, 800)
_ERROR_CODE_PARTS = 2  # an error type is at least OPERATION:CATEGORY


@dataclass(frozen=True, slots=True)
class ContentProblem:
    file: str
    where: str  # an item id (with its position in the file) or a skill id; "" for the file
    message: str

    def __str__(self) -> str:
        location = f"{self.file}: {self.where}" if self.where else self.file
        return f"{location}: {self.message}"


class ContentError(ValueError):
    def __init__(self, problems: list[ContentProblem]) -> None:
        super().__init__(f"{len(problems)} content problem(s):\n" + "\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class Bank:
    topics: dict[str, Topic]
    graphs: dict[Language, SkillGraph]
    items: dict[Language, list[Item]] = field(default_factory=dict)

    def all_items(self) -> list[Item]:
        return [item for items in self.items.values() for item in items]


def load_bank(data_dir: Path = DATA_DIR) -> Bank:
    bank, problems = _read(data_dir)
    if problems:
        raise ContentError(problems)
    return bank


def validate(data_dir: Path = DATA_DIR) -> list[ContentProblem]:
    return _read(data_dir)[1]


def _read(data_dir: Path) -> tuple[Bank, list[ContentProblem]]:
    problems: list[ContentProblem] = []
    topics = _read_topics(data_dir / "topics.yaml", problems)
    bank = Bank(topics=topics, graphs={})
    for language in Language:
        graph = _read_graph(data_dir / "skills" / f"{language}.yaml", language, problems)
        if graph is None:
            continue
        bank.graphs[language] = graph
        bank.items[language] = _read_items(
            data_dir / "items" / str(language), data_dir, graph, topics, problems
        )
    return bank, problems


def _rel(path: Path, data_dir: Path) -> str:
    try:
        return str(path.relative_to(data_dir.parent))
    except ValueError:
        return str(path)


def _load_yaml(path: Path, problems: list[ContentProblem], base: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(ContentProblem(_rel(path, base), "", "file is missing"))
    except yaml.YAMLError as exc:
        problems.append(ContentProblem(_rel(path, base), "", f"not valid YAML: {exc}"))
    return None


def _read_topics(path: Path, problems: list[ContentProblem]) -> dict[str, Topic]:
    raw = _load_yaml(path, problems, path.parent)
    topics: dict[str, Topic] = {}
    for entry in (raw or {}).get("topics", []):
        topic_id = str(entry.get("id", ""))
        names = {lang: str(entry[lang]) for lang in map(str, Language) if entry.get(lang)}
        if not topic_id or len(names) != len(Language):
            problems.append(ContentProblem(path.name, topic_id, "a topic needs an id and names"))
            continue
        topics[topic_id] = Topic(topic_id, names)
    return topics


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _read_graph(
    path: Path, language: Language, problems: list[ContentProblem]
) -> SkillGraph | None:
    file = _rel(path, path.parent.parent)
    raw = _load_yaml(path, problems, path.parent.parent)
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append(ContentProblem(file, "", "expected a mapping with 'skills'"))
        return None
    skills: list[Skill] = []
    for n, entry in enumerate(raw.get("skills") or [], start=1):
        where = str(entry.get("id") or f"skill #{n}")
        try:
            skill = Skill(
                id=str(entry["id"]),
                language=Language(raw.get("language", language)),
                level=CEFRLevel(entry["level"]),
                name=str(entry["name"]),
                explanation=str(entry["explanation"]).strip(),
                example=str(entry.get("example") or ""),
                prerequisites=tuple(sorted(_strings(entry.get("prerequisites")))),
                errant=_strings(entry.get("errant")),
                ud_features=_strings(entry.get("ud_features")),
                answer_forms=tuple(tuple(p) for p in entry.get("answer_forms") or ()),
                answer_grammemes=tuple(frozenset(a) for a in entry.get("answer_grammemes") or ()),
                name_native=str(entry.get("name_native") or ""),
            )
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(ContentProblem(file, where, f"bad skill entry: {exc!r}"))
            continue
        problems.extend(ContentProblem(file, where, m) for m in _skill_problems(skill))
        skills.append(skill)
    unmapped = _strings(raw.get("unmapped_errant"))
    for code in set(unmapped) & {c for s in skills for c in s.errant}:
        problems.append(ContentProblem(file, "", f"{code} is both mapped and listed as unmapped"))
    structural = graph_problems(language, skills)
    problems.extend(ContentProblem(file, "", message) for message in structural)
    if structural or not skills:
        return None
    return SkillGraph.build(language, skills, unmapped)


def _skill_problems(skill: Skill) -> list[str]:
    found = []
    if not _EXPLANATION_CHARS[0] <= len(skill.explanation) <= _EXPLANATION_CHARS[1]:
        found.append(
            f"explanation has {len(skill.explanation)} characters; "
            f"write 2-4 sentences ({_EXPLANATION_CHARS[0]}-{_EXPLANATION_CHARS[1]} characters)"
        )
    if not skill.example:
        found.append("no example")
    for code in skill.errant:
        if len(code.split(":")) < _ERROR_CODE_PARTS or code != code.upper():
            found.append(f"{code!r} is not an error type such as R:VERB:TENSE")
    return found


def _read_items(
    directory: Path,
    data_dir: Path,
    graph: SkillGraph,
    topics: Mapping[str, Topic],
    problems: list[ContentProblem],
) -> list[Item]:
    items: list[Item] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        file = _rel(path, data_dir)
        raw = _load_yaml(path, problems, data_dir)
        if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
            problems.append(ContentProblem(file, "", "expected 'skill:' and a list 'items:'"))
            continue
        file_skill = str(raw.get("skill", ""))
        if file_skill not in graph:
            problems.append(ContentProblem(file, "", f"unknown skill {file_skill!r}"))
            continue
        for n, entry in enumerate(raw["items"], start=1):
            item, messages = parse_item(entry, graph.language, file_skill)
            where = f"{item.id} (item #{n})" if item else f"item #{n}"
            if item is not None:
                messages += check_item(item, graph, topics)
                if item.id in seen:
                    messages.append(f"same exercise as {seen[item.id]}")
                seen[item.id] = f"{file} item #{n}"
            problems.extend(ContentProblem(file, where, m) for m in messages)
            if item is not None and not messages:
                items.append(item)
    problems.extend(_coverage_problems(items, graph, topics, _rel(directory, data_dir)))
    return items


def parse_item(entry: Any, language: Language, file_skill: str) -> tuple[Item | None, list[str]]:
    if not isinstance(entry, dict):
        return None, ["an item must be a mapping"]
    missing = [k for k in ("type", "text", "answers", "level", "explanation") if not entry.get(k)]
    if missing:
        return None, [f"missing {', '.join(missing)}"]
    try:
        item_type = ItemType(entry["type"])
        level = CEFRLevel(entry["level"])
    except ValueError as exc:
        return None, [str(exc)]
    extra = [s for s in _strings(entry.get("skills")) if s != file_skill]
    item = Item.create(
        language=language,
        type=item_type,
        text=str(entry["text"]).strip(),
        answers=_strings(entry["answers"]),
        skills=(file_skill, *extra),
        level=level,
        topics=tuple(sorted(set(_strings(entry.get("topics"))))),  # order carries no meaning
        distractors=_strings(entry.get("distractors")),
        explanation=str(entry["explanation"]).strip(),
        hint=str(entry.get("hint") or "").strip(),
        correction=str(entry.get("correction") or "").strip(),
    )
    return item, []


def check_item(
    item: Item, graph: SkillGraph, topics: Mapping[str, Topic], require_topics: bool = True
) -> list[str]:
    """Every reason this item must not be shown; empty when it is sound. Hand-written items
    must have topics; imported ones may have none (no topic keyword matched)."""
    found: list[str] = []
    found += [f"unknown skill {s}" for s in item.skills if s not in graph]
    found += [f"unknown topic {t}" for t in item.topics if t not in topics]
    if require_topics and not item.topics:
        found.append("no topics")
    gaps = item.text.count(GAP)
    if item.type in (ItemType.CLOZE, ItemType.CHOICE):
        if gaps != 1:
            found.append(f"a {item.type} needs exactly one gap '{GAP}', found {gaps}")
    elif "__" in item.text:
        found.append(f"a {item.type} has no gap")
    lang = item.language
    if item.type is ItemType.JUDGEMENT:
        found += _judgement_problems(item)
    else:
        if len({normalize(a, lang) for a in item.answers}) != len(item.answers):
            found.append("two accepted answers are the same answer")
        for answer in item.answers:
            if not normalize(answer, lang):
                found.append("an empty accepted answer")
            elif not grade(item, answer).correct:
                found.append(f"the grader rejects the accepted answer {answer!r}")
    if item.type is ItemType.CHOICE:
        if len(item.distractors) < 2:
            found.append("a choice needs at least two distractors")
        if len({normalize(d, lang) for d in item.distractors}) != len(item.distractors):
            found.append("two distractors are the same")
        for distractor in item.distractors:
            if grade(item, distractor).correct:
                found.append(f"distractor {distractor!r} is an accepted answer")
    elif item.distractors:
        found.append(f"a {item.type} has no distractors")
    if item.type is ItemType.CORRECTION and grade(item, item.text).correct:
        found.append("the sentence to correct is already an accepted answer")
    if not found and item.primary_skill in graph:
        problem = form_problem(item, graph[item.primary_skill])
        if problem:
            found.append(problem)
    return found


def _judgement_problems(item: Item) -> list[str]:
    if len(item.answers) != 1 or item.answers[0] not in JUDGEMENT_ANSWERS:
        return ["a judgement is answered with exactly one of: correct, incorrect"]
    found = []
    wrong = "incorrect" if item.answers[0] == "correct" else "correct"
    if not grade(item, item.answers[0]).correct or grade(item, wrong).correct:
        found.append("the grader does not tell correct from incorrect")
    if item.answers[0] == "incorrect":
        if not item.correction:
            found.append("an incorrect sentence needs its 'correction'")
        elif normalize(item.correction, item.language) == normalize(item.text, item.language):
            found.append("the correction is the same as the sentence")
    elif item.correction:
        found.append("a correct sentence has no correction")
    return found


def _coverage_problems(
    items: Iterable[Item], graph: SkillGraph, topics: Mapping[str, Topic], where: str
) -> list[ContentProblem]:
    per_skill = Counter(item.primary_skill for item in items)
    per_topic = Counter(topic for item in items for topic in item.topics)
    found = [
        ContentProblem(where, skill_id, f"{per_skill[skill_id]} items, needs {MIN_ITEMS_PER_SKILL}")
        for skill_id in graph.topological_order()
        if per_skill[skill_id] < MIN_ITEMS_PER_SKILL
    ]
    found += [
        ContentProblem(where, topic_id, "no items on this topic")
        for topic_id in topics
        if per_topic[topic_id] == 0
    ]
    return found
