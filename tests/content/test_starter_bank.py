"""Every shipped skill and item is loaded and checked (Toisto-style: content is data)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hyperlearn.content.bank import DATA_DIR, MIN_ITEMS_PER_SKILL, Bank, load_bank, validate
from hyperlearn.content.morphology import form_problem
from hyperlearn.core import ItemType, Language, grade
from hyperlearn.core.items import JUDGEMENT_ANSWERS
from tests.conftest import require_shared_data


def test_shipped_content_has_no_problems() -> None:
    problems = validate()
    assert problems == [], "\n".join(map(str, problems))


@pytest.mark.parametrize(
    ("language", "min_skills", "min_items"), [(Language.EN, 40, 400), (Language.RU, 20, 200)]
)
def test_bank_sizes(bank: Bank, language: Language, min_skills: int, min_items: int) -> None:
    assert len(bank.graphs[language]) >= min_skills
    items = bank.items[language]
    assert len(items) >= min_items
    per_skill = Counter(item.primary_skill for item in items)
    thin = {s: per_skill[s] for s in bank.graphs[language].skills if per_skill[s] < 8}
    assert thin == {}
    assert set(Counter(item.type for item in items)) == set(ItemType)
    covered = {t for item in items for t in item.topics}
    assert covered == set(bank.topics)


def test_every_item_is_graded_as_its_key_says(bank: Bank) -> None:
    for item in bank.all_items():
        if item.type is ItemType.JUDGEMENT:
            verdict = item.answers[0]
            other = next(a for a in JUDGEMENT_ANSWERS if a != verdict)
            assert grade(item, verdict).correct, item.id
            assert not grade(item, other).correct, item.id
            continue
        for answer in item.answers:
            assert grade(item, answer).correct, (item.id, answer)
        for distractor in item.distractors:
            assert not grade(item, distractor).correct, (item.id, distractor)
        if item.type is ItemType.CORRECTION:
            assert not grade(item, item.text).correct, item.id


def test_ids_are_unique_and_stable(bank: Bank) -> None:
    ids = [item.id for item in bank.all_items()]
    assert len(ids) == len(set(ids))
    again = {item.id for item in load_bank().all_items()}
    assert again == set(ids)


def test_morphology_engines_check_many_answers(bank: Bank) -> None:
    """The form check is not vacuous: it applies to a real share of the bank and passes."""
    checked = {Language.EN: 0, Language.RU: 0}
    for language, items in bank.items.items():
        graph = bank.graphs[language]
        for item in items:
            skill = graph[item.primary_skill]
            applies = (
                item.type is ItemType.CLOZE
                and item.hint
                and (skill.answer_forms if language is Language.EN else skill.answer_grammemes)
            )
            if applies:
                checked[language] += 1
                assert form_problem(item, skill) is None, item.id
    assert checked[Language.EN] >= 60
    assert checked[Language.RU] >= 40


def test_the_form_check_rejects_a_wrong_form(bank: Bank) -> None:
    graph = bank.graphs[Language.EN]
    item = next(
        i
        for i in bank.items[Language.EN]
        if i.primary_skill == "en.past_continuous" and i.type is ItemType.CLOZE and i.hint
    )
    from dataclasses import replace

    wrong = replace(item, answers=(item.hint,))
    assert form_problem(wrong, graph["en.past_continuous"]) is not None


def test_validate_names_file_item_and_problem(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    target = copy / "items" / "en" / "past_continuous.yaml"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("type: cloze", "type: clozer", 1), encoding="utf-8")
    (copy / "items" / "en" / "broken.yaml").write_text("skill: [unclosed", encoding="utf-8")
    problems = [str(p) for p in validate(copy)]
    assert any("past_continuous.yaml: item #" in p and "clozer" in p for p in problems), problems
    assert any("broken.yaml" in p and "not valid YAML" in p for p in problems), problems


def test_minimum_per_skill_is_the_documented_one() -> None:
    assert MIN_ITEMS_PER_SKILL == 8


def _m2_error_types(path: Path) -> set[str]:
    found: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("A "):
                code = line.split("|||")[1]
                if code not in ("noop", "UNK"):
                    found.add(code)
    return found


@pytest.mark.parametrize(
    ("language", "pattern"),
    [(Language.EN, "corpora/en/cweb-nc"), (Language.RU, "corpora/ru/relco")],
)
def test_every_error_type_in_the_corpora_is_mapped_or_listed(
    bank: Bank, language: Language, pattern: str
) -> None:
    folder = require_shared_data(pattern)
    used: set[str] = set()
    for path in sorted(folder.glob("*.m2")):
        used |= _m2_error_types(path)
    assert used, f"no M2 edits found under {folder}"
    graph = bank.graphs[language]
    accounted = graph.mapped_error_types() | graph.unmapped_errant
    assert sorted(used - accounted) == []
