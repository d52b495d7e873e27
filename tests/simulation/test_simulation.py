"""The learning simulator and the recommender benchmarks: determinism, shape, sanity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.content.bank import Bank
from hyperlearn.core import Language
from hyperlearn.evaluation import recommend_bench
from hyperlearn.evaluation.simulation import SimulationConfig, simulate

SMALL = SimulationConfig(learners=3, steps=60, seeds=(0, 1))


def run(bank: Bank, config: SimulationConfig = SMALL) -> dict[str, object]:
    report = simulate(
        bank.items[Language.EN],
        bank.graphs[Language.EN],
        list(bank.topics),
        ["random", "mastery", "hybrid"],
        config,
    )
    return report.to_json()


def test_a_fixed_seed_gives_the_same_results(bank: Bank) -> None:
    assert run(bank) == run(bank)
    other = run(bank, SimulationConfig(learners=3, steps=60, seeds=(2, 3)))
    assert other["policies"] != run(bank)["policies"]


def test_the_report_has_the_documented_shape(bank: Bank) -> None:
    result = run(bank)
    policies = result["policies"]
    assert isinstance(policies, dict) and set(policies) == {"random", "mastery", "hybrid"}
    for figures in policies.values():
        for metric in ("mastery_after_steps", "steps_to_mastery", "retention_30d", "dropouts"):
            low, high = figures["ci95"][metric]
            assert low <= figures[metric] <= high
        assert 0.0 <= figures["mastery_after_steps"] <= 1.0
        assert 0.0 <= figures["dropouts"] <= 1.0
        # Nobody masters ~45 skills in 60 steps: censored at the step count.
        assert figures["steps_to_mastery"] == 60 and figures["reached_mastery"] == 0.0
    json.dumps(result)


def test_learning_beats_doing_nothing_and_forgetting_shows(bank: Bank) -> None:
    config = SimulationConfig(learners=4, steps=200, seeds=(0,))
    report = simulate(
        bank.items[Language.EN], bank.graphs[Language.EN], list(bank.topics), ["hybrid"], config
    )
    zero = simulate(
        bank.items[Language.EN],
        bank.graphs[Language.EN],
        list(bank.topics),
        ["hybrid"],
        SimulationConfig(learners=4, steps=200, seeds=(0,), learn_rate=0.0),
    )
    practised = report.policies["hybrid"]
    assert practised.mastery_after_steps > zero.policies["hybrid"].mastery_after_steps + 0.05
    # 30 days without practice lose part of what was learned.
    assert practised.retention_30d < practised.mastery_after_steps


def test_bad_configurations_are_refused(bank: Bank) -> None:
    with pytest.raises(ValueError, match="at least one learner"):
        SimulationConfig(learners=0)
    with pytest.raises(ValueError, match="unknown policy 'best'"):
        simulate(bank.items[Language.EN], bank.graphs[Language.EN], [], ["best"], SMALL)


def test_simulate_command_prints_and_writes_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--learners",
            "2",
            "--steps",
            "30",
            "--seeds",
            "2",
            "--policies",
            "mastery,hybrid",
            "--json",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(printed["policies"]) == {"mastery", "hybrid"}
    assert json.loads((tmp_path / "results.json").read_text()) == printed
    bad = CliRunner().invoke(app, ["simulate", "--policies", "best", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "unknown policy" in bad.output


def test_synthetic_bank_is_distinct_and_keeps_the_skills(bank: Bank) -> None:
    base = bank.items[Language.EN]
    items = recommend_bench.synthetic_bank(base, 3 * len(base), sorted(bank.topics))
    assert len(items) == 3 * len(base) == len({i.id for i in items})
    assert {i.primary_skill for i in items} == {i.primary_skill for i in base}


def test_bench_recommend_core_only(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "recommend",
            "--items",
            "2000",
            "--calls",
            "20",
            "--core-only",
            "--json",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["items"] == 2000 and printed["service"] is None
    assert 0 < printed["core"]["p50_ms"] <= printed["core"]["p99_ms"]


def test_bench_recommend_through_the_service(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("bench", "recommend", "--items", "700", "--calls", "10", "--history", "5"),
            *("--json", "--out", str(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["service"]["calls"] == 10 and printed["service"]["p50_ms"] > 0
