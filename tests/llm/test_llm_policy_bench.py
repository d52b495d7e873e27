"""The LLM policies on the simulation harness: outcomes next to hybrid, and what happened to
the model's answers."""

from __future__ import annotations

import json

import pytest

from hyperlearn.evaluation.llm_policy_bench import simulate_llm_policies
from hyperlearn.llm.backend import CompletionRequest
from tests.llm.test_llm_policy import CannedBackend, reverse_first


def test_the_llm_policy_bench_reports_outcomes_and_fallbacks() -> None:
    calls = iter(range(1_000))

    def sometimes_broken(request: CompletionRequest) -> str:
        # Every third answer names an id outside the shortlist.
        if next(calls) % 3 == 0:
            return json.dumps({"ranking": ["en-0000000000000000"], "why": ""})
        return reverse_first(2)(request)

    result = simulate_llm_policies(
        CannedBackend(sometimes_broken), items=80, seed=1, learners=2, steps=9
    )
    assert result["n_items"] == 80
    assert set(result["policies"]) == {"hybrid", "llm"}
    assert 0.0 < result["policies"]["llm"]["mastery_after_steps"] <= 1.0
    llm = result["llm"]
    assert llm["answered"] == 12 and llm["fallbacks"] == {"outside_shortlist": 6}
    assert llm["same_first_as_hybrid"] == 0  # reverse_first never keeps hybrid's first
    assert llm["calls"] == 18 and llm["latency_ms"]["p50"] == 5.0
    with pytest.raises(ValueError, match="items"):
        simulate_llm_policies(CannedBackend(), items=0)
