"""`hyperlearn bench kt` end to end on tiny synthetic files, through Typer's runner."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.core.kt.log import InteractionLog
from hyperlearn.evaluation.kt_bench import METRICS
from tests.kt.synthetic import practice_log

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def write_pykt(path: Path, log: InteractionLog, uid_offset: int = 0) -> Path:
    """The log as pyKT CSV (multi-skill attempts as '3_7' concepts)."""
    lines = ["fold,uid,concepts,responses"]
    for start, end in log.learner_spans():
        concepts = ",".join(
            "_".join(map(str, log.skills_of(r).tolist())) for r in range(start, end)
        )
        responses = ",".join(str(int(c)) for c in log.correct[start:end])
        lines.append(f'0,{int(log.learner[start]) + uid_offset},"{concepts}","{responses}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kt")
    return {
        "train": write_pykt(folder / "train.csv", practice_log(seed=1, n_learners=60)),
        "test": write_pykt(folder / "test.csv", practice_log(seed=2, n_learners=20), 1000),
        "train2": write_pykt(folder / "train2.csv", practice_log(seed=3, n_learners=60)),
        "test2": write_pykt(folder / "test2.csv", practice_log(seed=4, n_learners=20), 1000),
    }


def bench(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["bench", "kt", "--format", "pykt", *args])
    return result.exit_code, result.stdout, result.stderr


def test_bench_kt_prints_json_and_writes_the_reports(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = bench(
        "--train", str(files["train"]), "--test", str(files["test"]),
        "--models", "pfa,majority", "--json", "--out", str(out), "--dataset", "toy",
    )  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["dataset"] == "toy"
    assert result["n_test"] == 20 * 40
    assert list(result["models"]) == ["pfa", "majority"]
    for entry in result["models"].values():
        assert set(METRICS) <= set(entry)
        assert len(entry["folds"]) == 1 and entry["auc_sd"] is None
    pfa, majority = result["models"]["pfa"], result["models"]["majority"]
    assert majority["auc"] == 0.5
    assert pfa["auc"] > 0.6 and pfa["logloss"] < majority["logloss"]
    assert pfa["fit_s"] > 0 and pfa["predict_us_per_attempt"] > 0

    assert json.loads((out / "results.json").read_text())["models"]["pfa"]["auc"] == pfa["auc"]
    markdown = (out / "results.md").read_text()
    assert "| model | auc |" in markdown and "| pfa | " in markdown
    svg = ET.parse(out / "roc.svg").getroot()
    lines = svg.findall("{http://www.w3.org/2000/svg}polyline")
    assert [line.get("data-model") for line in lines] == ["pfa", "majority"]
    first = lines[0].get("points", "").split()
    assert len(first) > 10 and first[0] != first[-1]


def test_bench_kt_with_two_folds_reports_spread(files: dict[str, Path], tmp_path: Path) -> None:
    code, stdout, stderr = bench(
        "--train", str(files["train"]), "--train", str(files["train2"]),
        "--test", str(files["test"]), "--test", str(files["test2"]),
        "--models", "skill_mean,pfa", "--json", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["n_folds"] == 2 and result["n_test"] == 2 * 20 * 40
    pfa = result["models"]["pfa"]
    folds = [fold["auc"] for fold in pfa["folds"]]
    assert pfa["auc"] == pytest.approx(np.mean(folds))
    assert pfa["auc_sd"] == pytest.approx(np.std(folds, ddof=1))
    assert "Per fold" in (tmp_path / "results.md").read_text()


def test_bench_kt_refuses_unknown_models_and_unpaired_files(files: dict[str, Path]) -> None:
    code, _, stderr = bench(
        "--train", str(files["train"]), "--test", str(files["test"]), "--models", "pfa,nope"
    )
    assert code == 2 and "unknown model 'nope'" in stderr
    code, _, stderr = bench(
        "--train", str(files["train"]), "--train", str(files["train2"]),
        "--test", str(files["test"]), "--models", "pfa",
    )  # fmt: skip
    assert code == 2 and "must pair up" in stderr


def test_benchmarks_script_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "kt.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "--format" in result.stdout and "--max-learners" in result.stdout
