"""`hyperlearn bench llm`: what a language model adds, measured on the shipped content.

For N requests it reports the acceptance rate of themed exercises (with the rejections by
reason), the share of explanations of wrong answers that pass the checks, and the latency of
every call (p50, p95). With the `none` backend it measures the deterministic paths the learner
gets without a model, the template engine and the rule explanations, so the figures are real
there too. The cases are drawn from the starter bank with a seeded random generator: a run is
repeatable.
"""

from __future__ import annotations

import importlib
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hyperlearn.content.bank import Bank, load_bank
from hyperlearn.content.themed import ThemedGenerator
from hyperlearn.core import Item, ItemType, Language
from hyperlearn.llm.backend import LLMBackend
from hyperlearn.llm.explain import Explainer, ExplainLanguage, check_explanation
from hyperlearn.llm.explain import deterministic_explanation as rules_explanation
from hyperlearn.llm.policies import PolicyUnavailable, tallrec_policy
from hyperlearn.llm.themed import SUPPORTED_SKILLS, LLMThemedMaker, tagged_topics

POLICY_MODULE = "hyperlearn.evaluation.llm_policy_bench"
NO_ITEM = "no_verified_item"
NO_TALLREC = (
    "tallrec not simulated: no tuned model (--tallrec-model-dir or HYPERLEARN_TALLREC_MODEL_DIR)"
)
SAMPLES = 5  # proposals of each outcome kept in details.json


class BenchError(ValueError):
    """Options that cannot run (the message says which)."""


@dataclass(frozen=True, slots=True)
class WrongAnswer:
    item: Item
    answer: str
    expected: str


@dataclass
class _Run:
    latencies: list[float] = field(default_factory=list)
    themed_attempted: int = 0
    themed_accepted: int = 0
    themed_rejected: Counter[str] = field(default_factory=Counter)
    explained: int = 0
    passed: int = 0
    explanation_rejected: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def sample(self, kind: str, text: str) -> None:
        kept = self.samples.setdefault(kind, [])
        if text and len(kept) < SAMPLES:
            kept.append(text)


def themed_pairs(bank: Bank, generator: ThemedGenerator) -> list[tuple[Language, str, str]]:
    """(language, skill, topic) pairs both paths can serve: a skill the model path supports,
    a topic the tagger recognises and the templates cover (so `none` measures the same pairs)."""
    return [
        (language, skill, topic)
        for language, skills in SUPPORTED_SKILLS.items()
        for skill in skills
        for topic in sorted(tagged_topics(language) & set(bank.topics))
        if generator.supports(language, skill, topic)
    ]


def wrong_answers(bank: Bank, count: int, rng: random.Random) -> list[WrongAnswer]:
    """`count` wrong answers a learner could give, over both languages: a distractor, the bare
    lemma of a cloze, the uncorrected sentence of a correction, the other verdict."""
    cases: list[WrongAnswer] = []
    for item in bank.all_items():
        case = _wrong_answer(item)
        if case is not None:
            cases.append(case)
    rng.shuffle(cases)
    return cases[:count]


def _wrong_answer(item: Item) -> WrongAnswer | None:
    expected = item.answers[0]
    if item.type is ItemType.CHOICE and item.distractors:
        return WrongAnswer(item, item.distractors[0], expected)
    if item.type is ItemType.CLOZE and item.hint and item.hint.casefold() != expected.casefold():
        return WrongAnswer(item, item.hint, expected)
    if item.type is ItemType.CORRECTION:
        return WrongAnswer(item, item.text, expected)
    if item.type is ItemType.JUDGEMENT:
        other = "correct" if expected == "incorrect" else "incorrect"
        return WrongAnswer(item, other, expected)
    return None


def run(
    backend: LLMBackend,
    items: int = 30,
    seed: int = 0,
    explain_language: ExplainLanguage = "en",
    simulate: bool = False,
    bank: Bank | None = None,
    tallrec_dir: Path | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results in the documented JSON shape, details: rejection reasons of explanations and
    sample outputs). `items` themed requests and `items` explanations. With `simulate`, the
    policies on the simulation harness, `tallrec` too when `tallrec_dir` holds a tuned model."""
    if items < 1:
        raise BenchError("--items must be at least 1")
    if tallrec_dir is not None and not simulate:
        raise BenchError("--tallrec-model-dir needs --simulate")
    policies = _policy_bench() if simulate else None
    if tallrec_dir is not None:
        _check_tallrec(tallrec_dir)
    bank = bank or load_bank()
    generator = ThemedGenerator.load()
    rng = random.Random(seed)
    pairs = themed_pairs(bank, generator)
    if not pairs:
        raise BenchError("no (skill, topic) pair is served by both themed paths")
    rng.shuffle(pairs)
    state = _Run()
    model = backend.name != "none"
    _themed(state, backend, bank, generator, pairs, items, rng, model)
    _explanations(state, backend, bank, items, rng, explain_language, model)
    latencies = np.asarray(state.latencies, dtype=float)
    result: dict[str, Any] = {
        "backend": backend.name,
        "model": backend.model,
        "themed": {
            "attempted": state.themed_attempted,
            "accepted": state.themed_accepted,
            "acceptance_rate": _rate(state.themed_accepted, state.themed_attempted),
            "rejected_by_reason": dict(sorted(state.themed_rejected.items())),
        },
        "explanations": {
            "checked": state.explained,
            "passed": state.passed,
            "pass_rate": _rate(state.passed, state.explained),
        },
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 2),
            "p95": round(float(np.percentile(latencies, 95)), 2),
        },
    }
    if policies is not None:
        # The whole shipped bank: `items` sizes the themed and explanation samples only (a bank
        # cut to a few items would make every policy look alike).
        result["policies"] = _simulate(policies, backend, seed, tallrec_dir)
    details = {
        "explanations_rejected_by_reason": dict(sorted(state.explanation_rejected.items())),
        "samples": state.samples,
    }
    return result, details


def write_outputs(result: dict[str, Any], details: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.json", out / "details.json"]
    for path, payload in zip(written, (result, details), strict=True):
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return written


def _themed(
    state: _Run,
    backend: LLMBackend,
    bank: Bank,
    generator: ThemedGenerator,
    pairs: Sequence[tuple[Language, str, str]],
    count: int,
    rng: random.Random,
    model: bool,
) -> None:
    maker = LLMThemedMaker(backend, bank.graphs.__getitem__, lambda: bank.topics)
    for n in range(count):
        language, skill, topic = pairs[n % len(pairs)]
        started = time.perf_counter()
        if model:
            outcome = maker.propose(language, skill, topic, rng)
            state.latencies.append(outcome.latency_ms)
            reason = outcome.reason
            shown = outcome.sentence
        else:
            item = generator.generate(
                language, skill, topic, rng, bank.graphs[language], bank.topics
            )
            state.latencies.append((time.perf_counter() - started) * 1000)
            reason = None if item is not None else NO_ITEM
            shown = item.text if item is not None else ""
        state.themed_attempted += 1
        if reason is None:
            state.themed_accepted += 1
            state.sample("themed_accepted", f"[{skill}/{topic}] {shown}")
        else:
            state.themed_rejected[reason] += 1
            state.sample(f"themed_rejected:{reason}", f"[{skill}/{topic}] {shown}")


def _explanations(
    state: _Run,
    backend: LLMBackend,
    bank: Bank,
    count: int,
    rng: random.Random,
    language: ExplainLanguage,
    model: bool,
) -> None:
    explainer = Explainer(backend, language)
    for case in wrong_answers(bank, count, rng):
        skill = bank.graphs[case.item.language][case.item.primary_skill]
        started = time.perf_counter()
        if model:
            result = explainer.explain(case.item, skill, case.answer, case.expected)
            reason, text = result.reason, result.model_text or result.text
        else:
            text = rules_explanation(case.item, skill, case.expected)
            rule = f"{skill.name}. {skill.explanation}"
            reason = check_explanation(
                text, case.item, case.answer, case.expected, language, rule=rule
            )
        state.latencies.append((time.perf_counter() - started) * 1000)
        state.explained += 1
        if reason is None:
            state.passed += 1
            state.sample("explanation_passed", text)
        else:
            state.explanation_rejected[reason] += 1
            state.sample(f"explanation_rejected:{reason}", f"{case.item.text} -> {text}")


def _policy_bench() -> Any:
    try:
        return importlib.import_module(POLICY_MODULE)
    except ModuleNotFoundError as error:
        if error.name != POLICY_MODULE:
            raise
        raise BenchError(f"--simulate needs {POLICY_MODULE}, which is not installed") from None


def _check_tallrec(model_dir: Path) -> None:
    """Load the tuned model once now: the policy itself would fall back to hybrid in silence,
    after minutes of themed and explanation calls, on a folder it cannot use."""
    # The policy kept per folder is the one the simulation ranks with: the model loads once.
    try:
        policy = tallrec_policy(model_dir)
    except PolicyUnavailable as error:
        raise BenchError(f"--tallrec-model-dir: {error}") from error
    load_now = getattr(policy, "load_now", None)
    reason = load_now() if callable(load_now) else None
    if reason:
        raise BenchError(f"--tallrec-model-dir: {reason}")


def _simulate(
    policies: Any, backend: LLMBackend, seed: int, tallrec_dir: Path | None
) -> dict[str, Any]:
    # The simulation gets its tallrec policy from `tallrec_policy`, which keeps one per folder
    # and process: the counts from before this run are subtracted.
    policy = tallrec_policy(tallrec_dir) if tallrec_dir is not None else None
    before = Counter(getattr(policy, "failures", {}))
    simulated: dict[str, Any] = policies.simulate_llm_policies(
        backend, items=None, seed=seed, tallrec_dir=tallrec_dir
    )
    if policy is None:
        simulated["tallrec"] = {"model_dir": None, "note": NO_TALLREC}
    else:
        # Scoring failures make tallrec rank as hybrid: the outcomes alone would not show it.
        failures = Counter(getattr(policy, "failures", {})) - before
        simulated["tallrec"] = {
            "model_dir": str(tallrec_dir),
            "failures": dict(sorted(failures.items())),
        }
    return simulated


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
