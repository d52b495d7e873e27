"""BKT baseline: pyBKT (its C++ build) in its own environment, driven through a subprocess.

pyBKT needs numpy < 2.4 and scikit-learn < 1.8, which the core does not pin, so it lives in
benchmarks/bkt/.venv (`make bench-bkt-env`) and `benchmarks/bkt/runner.py` talks to it
through files: CSVs in pyBKT's columns in, a pickled model and an .npy of predictions out.

Each skill has its own BKT. An attempt with several skills becomes one pyBKT row per skill,
each in that skill's own sequence; a skill sequence holds only the learner's earlier attempts
on it, so no row reveals another row of the same attempt. The per-skill predictions of one
attempt are averaged into its one prediction.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from hyperlearn.core.kt.log import FloatArray, InteractionLog

RUNNER = Path("benchmarks") / "bkt" / "runner.py"
VENV_PYTHON = Path("benchmarks") / "bkt" / ".venv" / "bin" / "python"


class BKTEnvironmentMissing(RuntimeError):
    """benchmarks/bkt/.venv has not been built."""


def find_repo_root(start: Path | None = None) -> Path | None:
    """The nearest folder above this module (or `start`) that holds benchmarks/bkt/runner.py."""
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        if (folder / RUNNER).is_file():
            return folder
    return None


def bkt_python(root: Path | None = None) -> Path | None:
    """The BKT environment's interpreter, or None when it has not been built."""
    root = root or find_repo_root() or find_repo_root(Path.cwd())
    if root is None:
        return None
    python = root / VENV_PYTHON
    return python if python.exists() else None


def write_pybkt_csv(log: InteractionLog, path: Path) -> None:
    """One row per (attempt, skill), order_id = position of that pair: increasing in time
    within each learner, as pyBKT sorts on it."""
    counts = np.diff(log.skill_ptr)
    learner = np.repeat(log.learner, counts)
    correct = np.repeat(log.correct.astype(np.int64), counts)
    with path.open("w", encoding="utf-8") as out:
        out.write("order_id,user_id,skill_name,correct\n")
        for n, (user, skill, right) in enumerate(
            zip(learner.tolist(), log.skill_idx.tolist(), correct.tolist(), strict=True)
        ):
            out.write(f"{n},{user},{skill},{right}\n")


class PyBKTModel:
    """The KnowledgeTracer protocol over pyBKT: one standard BKT (prior, learn, guess, slip)
    per skill, fitted by EM from `num_fits` random starts with a fixed seed."""

    name = "bkt"

    def __init__(
        self,
        num_fits: int = 3,
        seed: int = 42,
        python: Path | None = None,
        runner: Path | None = None,
        timeout_s: float | None = 3600.0,
    ) -> None:
        self.num_fits = num_fits
        self.seed = seed
        self.timeout_s = timeout_s
        root = find_repo_root() or find_repo_root(Path.cwd())
        self.runner = runner or (root / RUNNER if root else RUNNER)
        self.python = python or (root / VENV_PYTHON if root else VENV_PYTHON)
        self._model: bytes | None = None
        self.last_info: dict[str, Any] = {}

    def _check_env(self) -> None:
        if not self.python.exists():
            raise BKTEnvironmentMissing(
                f"the pyBKT environment is missing ({self.python}): "
                "run `make bench-bkt-env` in the repository root (it compiles pyBKT's C++ "
                "extension, a few minutes)"
            )
        if not self.runner.is_file():
            raise BKTEnvironmentMissing(f"the pyBKT runner is missing: {self.runner}")

    def _run(self, *args: str) -> dict[str, Any]:
        command = [str(self.python), str(self.runner), *args]
        done = subprocess.run(  # noqa: S603 (our interpreter and script, no shell)
            command, capture_output=True, text=True, timeout=self.timeout_s, check=False
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-2000:]
            raise RuntimeError(f"pyBKT runner failed ({done.returncode}): {tail}")
        lines = done.stdout.strip().splitlines()
        info: dict[str, Any] = json.loads(lines[-1]) if lines else {}
        return info

    def fit(self, train: InteractionLog, n_items: int, n_skills: int) -> None:
        self._check_env()
        # Skills unseen in training get the training success rate, counted per attempt (not
        # per (attempt, skill) row, which would weigh multi-skill attempts more).
        prior = float(train.correct.mean()) if len(train) else 0.5
        with tempfile.TemporaryDirectory(prefix="hyperlearn-bkt-") as tmp:
            folder = Path(tmp)
            write_pybkt_csv(train, folder / "train.csv")
            self.last_info = self._run(
                "fit",
                "--train",
                str(folder / "train.csv"),
                "--model",
                str(folder / "model.pkl"),
                "--num-fits",
                str(self.num_fits),
                "--seed",
                str(self.seed),
                "--prior",
                repr(prior),
            )
            self._model = (folder / "model.pkl").read_bytes()

    def predict_online(self, log: InteractionLog) -> FloatArray:
        if self._model is None:
            raise RuntimeError("PyBKTModel.predict_online before fit")
        self._check_env()
        if not len(log):
            return np.zeros(0, dtype=np.float64)
        with tempfile.TemporaryDirectory(prefix="hyperlearn-bkt-") as tmp:
            folder = Path(tmp)
            (folder / "model.pkl").write_bytes(self._model)
            write_pybkt_csv(log, folder / "test.csv")
            self.last_info = self._run(
                "predict",
                "--model",
                str(folder / "model.pkl"),
                "--test",
                str(folder / "test.csv"),
                "--out",
                str(folder / "pred.npy"),
            )
            per_skill = np.load(folder / "pred.npy")
        if per_skill.shape != (len(log.skill_idx),):
            raise RuntimeError(
                f"pyBKT runner returned {per_skill.shape} predictions for "
                f"{len(log.skill_idx)} (attempt, skill) rows"
            )
        # pyBKT's forward pass can overshoot 1 by a rounding error (seen: 1 + 2e-16 for a skill
        # fitted with slip 0); anything further out is a real fault.
        if not np.all(np.isfinite(per_skill)) or np.any(np.abs(per_skill - 0.5) > 0.5 + 1e-9):
            raise RuntimeError("pyBKT returned probabilities outside [0, 1]")
        per_skill = np.clip(per_skill.astype(np.float64), 0.0, 1.0)
        counts = np.diff(log.skill_ptr)
        sums = np.add.reduceat(per_skill, log.skill_ptr[:-1])
        result: FloatArray = sums / counts
        return result
