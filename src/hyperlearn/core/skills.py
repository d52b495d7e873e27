"""Skills and the skill graph (the knowledge graph of a language's grammar and vocabulary)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hyperlearn.core.language import CEFRLevel, Language


@dataclass(frozen=True, slots=True)
class Skill:
    id: str
    language: Language
    level: CEFRLevel
    name: str
    explanation: str
    example: str = ""
    prerequisites: tuple[str, ...] = ()
    errant: tuple[str, ...] = ()
    ud_features: tuple[str, ...] = ()
    # English: token patterns an answer must match (see docs/content-format.md).
    answer_forms: tuple[tuple[str, ...], ...] = ()
    # Russian: alternatives of pymorphy3 grammeme sets an answer must carry.
    answer_grammemes: tuple[frozenset[str], ...] = ()
    name_native: str = ""


class SkillGraphError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid skill graph:\n" + "\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SkillGraph:
    """A DAG of skills of one language; edges point from prerequisite to dependent skill."""

    language: Language
    skills: Mapping[str, Skill]
    unmapped_errant: frozenset[str] = frozenset()
    _dependents: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)
    _order: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        problems = graph_problems(self.language, self.skills.values())
        if problems:
            raise SkillGraphError(problems)
        dependents: dict[str, list[str]] = {skill_id: [] for skill_id in self.skills}
        for skill in self.skills.values():
            for prerequisite in skill.prerequisites:
                dependents[prerequisite].append(skill.id)
        object.__setattr__(self, "_dependents", {k: tuple(v) for k, v in dependents.items()})
        object.__setattr__(self, "_order", _topological_order(self.skills))

    @classmethod
    def build(
        cls, language: Language, skills: Iterable[Skill], unmapped_errant: Iterable[str] = ()
    ) -> SkillGraph:
        skills = list(skills)
        problems = graph_problems(language, skills)  # sees duplicates before the dict hides them
        if problems:
            raise SkillGraphError(problems)
        return cls(language, {s.id: s for s in skills}, frozenset(unmapped_errant))

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self.skills

    def __len__(self) -> int:
        return len(self.skills)

    def __getitem__(self, skill_id: str) -> Skill:
        return self.skills[skill_id]

    def roots(self) -> list[Skill]:
        return [self.skills[s] for s in self._order if not self.skills[s].prerequisites]

    def dependents(self, skill_id: str) -> tuple[str, ...]:
        return self._dependents[skill_id]

    def topological_order(self) -> tuple[str, ...]:
        """Skill ids with every prerequisite before its dependents; ties by level, then id."""
        return self._order

    def descendants(self, skill_id: str) -> set[str]:
        """Every skill that (transitively) needs this one: what mastering it unlocks."""
        seen: set[str] = set()
        queue = deque(self._dependents[skill_id])
        while queue:
            current = queue.popleft()
            if current not in seen:
                seen.add(current)
                queue.extend(self._dependents[current])
        return seen

    def is_unlocked(self, skill_id: str, mastery: Mapping[str, float], threshold: float) -> bool:
        return all(mastery.get(p, 0.0) >= threshold for p in self.skills[skill_id].prerequisites)

    def skills_for_error(self, error_type: str) -> list[Skill]:
        """Skills an ERRANT/ReLCo error type maps onto, in curriculum order."""
        return [self.skills[s] for s in self._order if error_type in self.skills[s].errant]

    def mapped_error_types(self) -> set[str]:
        return {code for skill in self.skills.values() for code in skill.errant}


def graph_problems(language: Language, skills: Iterable[Skill]) -> list[str]:
    """Every structural problem of a would-be skill graph, as readable sentences."""
    problems: list[str] = []
    by_id: dict[str, Skill] = {}
    for skill in skills:
        if skill.id in by_id:
            problems.append(f"{skill.id}: duplicate skill id")
        by_id[skill.id] = skill
        if skill.language != language:
            problems.append(f"{skill.id}: language {skill.language} in the {language} graph")
        if not skill.id.startswith(f"{language}."):
            problems.append(f"{skill.id}: id must start with '{language}.'")
        for prerequisite in skill.prerequisites:
            if prerequisite == skill.id:
                problems.append(f"{skill.id}: lists itself as a prerequisite")
    for skill in by_id.values():
        for prerequisite in skill.prerequisites:
            if prerequisite not in by_id:
                problems.append(f"{skill.id}: unknown prerequisite {prerequisite}")
        if not skill.prerequisites and skill.level != CEFRLevel.A1:
            problems.append(f"{skill.id}: a {skill.level} skill without prerequisites")
    if problems:
        return problems
    order = _topological_order(by_id)
    if len(order) != len(by_id):
        cyclic = sorted(set(by_id) - set(order))
        problems.append(f"prerequisites form a cycle through: {', '.join(cyclic)}")
    return problems


def _topological_order(skills: Mapping[str, Skill]) -> tuple[str, ...]:
    """Kahn's algorithm; skills on a cycle are left out (graph_problems reports them)."""
    remaining = {skill_id: len(skill.prerequisites) for skill_id, skill in skills.items()}
    dependents: dict[str, list[str]] = {skill_id: [] for skill_id in skills}
    for skill in skills.values():
        for prerequisite in skill.prerequisites:
            if prerequisite in dependents:
                dependents[prerequisite].append(skill.id)

    def key(skill_id: str) -> tuple[int, str]:
        return (skills[skill_id].level.rank, skill_id)

    ready = sorted((s for s, n in remaining.items() if n == 0), key=key)
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for dependent in dependents[current]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                ready.append(dependent)
        ready.sort(key=key)
    return tuple(order)
