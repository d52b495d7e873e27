"""A real model through the validators: SmolLM2-135M-Instruct (the [llm] extra) proposes themed
sentences and explains a wrong answer. A model this small gets much wrong; the point is that
whatever it gets wrong is rejected under a counted reason and never shown, and whatever is
accepted is sound."""

from __future__ import annotations

import random

import pytest

from hyperlearn.content.bank import Bank
from hyperlearn.content.importing.base import Candidate, Evidence
from hyperlearn.content.importing.verifier import verify
from hyperlearn.core import Language, grade
from hyperlearn.evaluation.llm_bench import wrong_answers
from hyperlearn.llm import explain, themed
from hyperlearn.llm.explain import Explainer, check_explanation, deterministic_explanation
from hyperlearn.llm.llamacpp import LlamaCppBackend
from hyperlearn.llm.themed import LLMThemedMaker

pytestmark = pytest.mark.llm

# What a rejection may be counted under: the checks' reasons and the backend's errors.
LLM_ERRORS = {"error", "unavailable", "timeout", "invalid_output"}
THEMED_REASONS = set(themed.REJECTION_REASONS) | LLM_ERRORS
EXPLANATION_REASONS = set(explain.CHECK_REASONS) | LLM_ERRORS
PAIRS = [
    (Language.EN, "en.third_person_s", "football"),
    (Language.EN, "en.past_simple_regular", "football"),
]


def test_smollm2_themed_proposals_are_verified_or_rejected(
    smollm2_backend: LlamaCppBackend, bank: Bank
) -> None:
    maker = LLMThemedMaker(smollm2_backend, bank.graphs.__getitem__, lambda: bank.topics)
    rng = random.Random(0)
    outcomes = [maker.propose(language, skill, topic, rng) for language, skill, topic in PAIRS]
    assert maker.stats.attempted == len(PAIRS)
    assert maker.stats.accepted + sum(maker.stats.rejected.values()) == len(PAIRS)
    for outcome in outcomes:
        if outcome.item is None:
            assert outcome.reason in THEMED_REASONS, outcome
            continue
        item = outcome.item
        graph = bank.graphs[item.language]
        assert verify(Candidate(item, Evidence(gold=outcome.sentence)), graph, bank.topics) is None
        assert grade(item, item.answers[0]).correct
        assert item.provenance.source == themed.SOURCE


def test_smollm2_explanations_pass_the_checks_or_fall_back(
    smollm2_backend: LlamaCppBackend, bank: Bank
) -> None:
    explainer = Explainer(smollm2_backend)
    (case,) = wrong_answers(bank, 1, random.Random(2))
    skill = bank.graphs[case.item.language][case.item.primary_skill]
    result = explainer.explain(case.item, skill, case.answer, case.expected)
    assert sum(explainer.outcomes.values()) == 1
    if result.from_model:
        assert result.source == "model:llamacpp"
        assert check_explanation(result.text, case.item, case.answer, case.expected) is None
    else:
        assert result.reason in EXPLANATION_REASONS
        assert explainer.outcomes[result.reason] == 1
        assert result.text == deterministic_explanation(case.item, skill, case.expected)
