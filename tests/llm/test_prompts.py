"""Every prompt file loads and renders for every skill of both languages."""

from __future__ import annotations

from importlib import resources

import pytest

from hyperlearn.content.bank import Bank
from hyperlearn.core import CEFRLevel, Item, ItemType, Language
from hyperlearn.llm.explain import Explainer
from hyperlearn.llm.prompts import LANGUAGES, TASKS, PromptError, load_prompt
from hyperlearn.llm.themed import SUPPORTED_SKILLS, LLMThemedMaker, lexicon_lemmas
from tests.llm.test_explain import Canned


def test_each_task_has_one_prompt_file_per_language() -> None:
    shipped = {
        entry.name
        for entry in resources.files("hyperlearn.llm.prompts").iterdir()
        if entry.name.endswith(".yaml")
    }
    assert shipped == {f"{task}.{language}.yaml" for task in TASKS for language in LANGUAGES}
    for task in TASKS:
        for language in LANGUAGES:
            template = load_prompt(task, language)
            assert template.name == f"{task}.{language}.yaml" and template.max_tokens > 0


def test_unknown_prompts_are_refused() -> None:
    with pytest.raises(PromptError, match="no prompt"):
        load_prompt("summarise", "en")
    with pytest.raises(PromptError, match="no prompt"):
        load_prompt("explain", "de")


def test_themed_instructions_cover_exactly_the_supported_skills() -> None:
    for language in Language:
        assert set(load_prompt("themed", str(language)).skills) == set(SUPPORTED_SKILLS[language])


@pytest.mark.parametrize("explain_language", ["en", "ru"])
@pytest.mark.parametrize("language", list(Language))
def test_the_explanation_prompt_renders_for_every_skill(
    bank: Bank, language: Language, explain_language: str
) -> None:
    explainer = Explainer(Canned.always(""), "ru" if explain_language == "ru" else "en")
    for skill in bank.graphs[language].skills.values():
        item = Item.create(
            language=language,
            type=ItemType.CLOZE,
            text="Some sentence with a ___ in it.",
            answers=("gold-form",),
            skills=(skill.id,),
            level=CEFRLevel.B1,
        )
        request = explainer.prompt(item, skill, "learner-form", "gold-form")
        for part in (skill.name, skill.explanation, '"gold-form"', '"learner-form"'):
            assert part in request.prompt, (skill.id, part)
        assert request.system and "{{" not in request.prompt + request.system


@pytest.mark.parametrize("language", list(Language))
def test_the_themed_prompt_renders_for_every_skill(bank: Bank, language: Language) -> None:
    maker = LLMThemedMaker(Canned.always(""), bank.graphs.__getitem__, lambda: bank.topics)
    football = bank.topics["football"]
    for skill in bank.graphs[language].skills.values():
        lemmas = lexicon_lemmas(language, skill.id, "football")
        request = maker.request(language, skill.id, "football", lemmas[0] if lemmas else "", 7)
        for part in (skill.name, skill.explanation, football.name("en"), str(skill.level)):
            assert part in request.prompt, (skill.id, part)
        if skill.id in SUPPORTED_SKILLS[language]:
            instruction = load_prompt("themed", str(language)).skills[skill.id]
            assert " ".join(instruction.split()[:4]) in request.prompt
            assert lemmas and f'"{lemmas[0]}"' in request.prompt, skill.id
        assert "{{" not in request.prompt and request.seed == 7


def test_the_lexicon_gives_lemmas_that_fit_the_skill() -> None:
    regular = lexicon_lemmas(Language.EN, "en.past_simple_regular", "football")
    irregular = lexicon_lemmas(Language.EN, "en.irregular_past", "football")
    assert "score" in regular and "win" in irregular
    assert not set(regular) & set(irregular)
    assert "стадион" in lexicon_lemmas(Language.RU, "ru.prepositional_case", "football")
    assert lexicon_lemmas(Language.EN, "en.articles_the", "football") == ()
