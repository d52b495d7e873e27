"""`hyperlearn bench llm`: the documented JSON shape with counts that come from real runs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.content.bank import Bank
from hyperlearn.content.themed import ThemedGenerator
from hyperlearn.core import ItemType, grade
from hyperlearn.evaluation import llm_bench
from hyperlearn.llm.backend import CompletionRequest, NoneBackend
from hyperlearn.llm.themed import SUPPORTED_SKILLS
from tests.llm.test_explain import Canned, Reply

# The tuned tiny model of the TALLRec tests and the fixtures it is built from.
from tests.llm.test_tallrec import (  # noqa: F401
    Tuned,
    exported,
    one_torch_thread,
    require_train_extra,
    seeded,
    tuned,
)

SHAPE = {"backend", "model", "themed", "explanations", "latency_ms"}


def _check_shape(result: dict[str, object], items: int) -> None:
    assert set(result) == SHAPE
    themed = result["themed"]
    explained = result["explanations"]
    latency = result["latency_ms"]
    assert isinstance(themed, dict) and isinstance(explained, dict) and isinstance(latency, dict)
    assert set(themed) == {"attempted", "accepted", "acceptance_rate", "rejected_by_reason"}
    assert set(explained) == {"checked", "passed", "pass_rate"}
    assert set(latency) == {"p50", "p95"}
    assert themed["attempted"] == items == explained["checked"]
    assert themed["accepted"] + sum(themed["rejected_by_reason"].values()) == items
    assert themed["acceptance_rate"] == round(themed["accepted"] / items, 4)
    assert explained["pass_rate"] == round(explained["passed"] / items, 4)
    assert 0 < latency["p50"] <= latency["p95"]


def test_the_none_backend_measures_the_deterministic_paths(bank: Bank) -> None:
    result, details = llm_bench.run(NoneBackend(), items=16, seed=1, bank=bank)
    _check_shape(result, 16)
    assert (result["backend"], result["model"]) == ("none", "")
    # The templates serve every pair the bench draws; the rule explanations mostly pass.
    assert result["themed"]["accepted"] == 16
    passed = result["explanations"]["passed"]
    assert 0 < passed <= 16
    assert sum(details["explanations_rejected_by_reason"].values()) == 16 - passed
    assert len(details["samples"]["themed_accepted"]) == llm_bench.SAMPLES


def test_the_same_seed_gives_the_same_counts(bank: Bank) -> None:
    first, _ = llm_bench.run(NoneBackend(), items=8, seed=5, bank=bank)
    again, _ = llm_bench.run(NoneBackend(), items=8, seed=5, bank=bank)
    assert first["themed"] == again["themed"] and first["explanations"] == again["explanations"]


def test_the_drawn_cases_are_real(bank: Bank) -> None:
    pairs = llm_bench.themed_pairs(bank, ThemedGenerator.load())
    assert {skill for _, skill, _ in pairs} == {s for ss in SUPPORTED_SKILLS.values() for s in ss}
    cases = llm_bench.wrong_answers(bank, 40, random.Random(0))
    assert len(cases) == 40
    for case in cases:
        assert not grade(case.item, case.answer).correct
        assert grade(case.item, case.expected).correct
    assert {case.item.type for case in cases} >= {ItemType.CLOZE, ItemType.CHOICE}


def test_a_model_backend_counts_its_rejections(bank: Bank) -> None:
    def reply(request: CompletionRequest) -> Reply:
        if "explanation" in request.system:
            return {"explanation": "No idea at all, to be honest with you."}
        return "I cannot write JSON."

    model = Canned(reply)
    result, details = llm_bench.run(model, items=6, seed=0, bank=bank)
    _check_shape(result, 6)
    assert (result["backend"], result["model"]) == ("canned", "canned-1")
    assert result["themed"]["rejected_by_reason"] == {"invalid_json": 6}
    assert result["explanations"]["passed"] == 0
    assert details["explanations_rejected_by_reason"] == {"missing_gold": 6}
    assert len(model.requests) == 12


def test_the_command_prints_the_json_and_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "llm"
    run = CliRunner().invoke(
        app, ["bench", "llm", "--backend", "none", "--items", "5", "--json", "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    printed = json.loads(run.stdout.strip().splitlines()[-1])
    _check_shape(printed, 5)
    assert json.loads((out / "results.json").read_text()) == printed
    assert "samples" in json.loads((out / "details.json").read_text())


def test_simulate_adds_the_policies_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HYPERLEARN_TALLREC_MODEL_DIR", raising=False)
    run = CliRunner().invoke(
        app,
        ["bench", "llm", "--items", "4", "--simulate", "--json", "--out", str(tmp_path)],
    )
    assert run.exit_code == 0, run.output
    printed = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(printed) == SHAPE | {"policies"}
    assert set(printed["policies"]["policies"]) == {"hybrid", "llm"}
    # --items sizes the samples, not the simulated bank.
    assert printed["policies"]["n_items"] > 100
    assert printed["policies"]["tallrec"] == {"model_dir": None, "note": llm_bench.NO_TALLREC}


@pytest.mark.train
def test_simulate_adds_tallrec_on_the_model_of_the_option_or_the_setting(
    tuned: Tuned,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command = ["bench", "llm", "--items", "2", "--simulate", "--json", "--out", str(tmp_path)]
    # The option wins over the setting; without it, the setting names the model.
    runs = [(["--tallrec-model-dir", str(tuned.out)], tmp_path / "no-model"), ([], tuned.out)]
    for option, setting in runs:
        monkeypatch.setenv("HYPERLEARN_TALLREC_MODEL_DIR", str(setting))
        run = CliRunner().invoke(app, [*command, *option])
        assert run.exit_code == 0, run.output
        simulated = json.loads(run.stdout.strip().splitlines()[-1])["policies"]
        assert set(simulated["policies"]) == {"hybrid", "llm", "tallrec"}
        # The model scored every step: no load or scoring failure made it rank as hybrid.
        assert simulated["tallrec"] == {"model_dir": str(tuned.out), "failures": {}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "llamacpp"], "HYPERLEARN_LLM_MODEL_PATH"),
        (["--explain-language", "de"], "en or ru"),
        (["--tallrec-model-dir", "tuned"], "--tallrec-model-dir needs --simulate"),
    ],
)
def test_bad_options_are_refused_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    run = CliRunner().invoke(app, ["bench", "llm", *args, "--out", str(tmp_path / "x")])
    assert run.exit_code == 2
    assert message in run.output
    assert not (tmp_path / "x").exists()


@pytest.mark.train
def test_a_folder_that_is_not_a_tuned_model_is_refused(tmp_path: Path) -> None:
    require_train_extra()
    args = ["bench", "llm", "--simulate", "--tallrec-model-dir", str(tmp_path)]
    run = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert run.exit_code == 2
    assert "--tallrec-model-dir: cannot load the TALLRec model" in " ".join(run.output.split())
    assert "not a tuned model" in " ".join(run.output.split())
    assert not (tmp_path / "x").exists()
