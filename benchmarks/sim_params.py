"""Default learning-simulator parameters from real tutoring logs: standard BKT fitted by pyBKT.

    .venv/bin/python benchmarks/sim_params.py --out OUTDIR [--datasets assist2009,assist2015]

For each dataset this reads the training part of the public log in ../shared/data/logs
(see its README and MANIFEST.md files):

- assist2009: the AKT "assist2009_pid" fold 1, train1 + valid1 (four of the five student folds,
  every student outside test1; the same 80 % share as assist2015's train_valid.csv);
- assist2015: pyKT's train_valid.csv (every student outside pyKT's test.csv).

It writes them in pyBKT's columns (order_id,user_id,skill_name,correct), one row per (attempt,
skill): a multi-skill attempt (ASSISTments 2009) becomes one row in each of its skills' sequences.
That is fine for FITTING a per-skill BKT (it is how pyBKT treats such data); it must not be done
when PREDICTING, where it leaks the answer. skill_name is the dataset's own skill id.

pyBKT (benchmarks/bkt/.venv, `make bench-bkt-env`) then fits one standard BKT per skill through
benchmarks/bkt/runner.py, twice: forgetting disabled (prior, learn, guess, slip) and forgetting
enabled (the same plus forget), each by EM from --num-fits random starts with --seed.

Printed and written to OUTDIR/sim_params.json, per dataset and fit: the number of skills; the
median, quartiles and interquartile range of each parameter over skills, unweighted and weighted
by the skill's number of (attempt, skill) rows; the same for 1/learn ("expected attempts to
learn", the mean of the geometric number of practice opportunities until the learn transition);
the mean number of attempts per learner per skill (rows / (learner, skill) sequences); the count
of degenerate skills (guess > 1 - slip: a wrong answer would mean "known").

Quantiles: unweighted ones are numpy's default (linear interpolation between order statistics);
weighted ones are the inverted weighted CDF (the smallest value whose cumulative weight share
reaches q), numpy's only method with weights. OMP_NUM_THREADS for pyBKT's C++ E-step is set
from --threads (default 1: the machine may be shared).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hyperlearn.evaluation.bkt import RUNNER, VENV_PYTHON, find_repo_root
from hyperlearn.evaluation.kt_data import Vocabularies, load_log

FloatArray = NDArray[np.float64]
PARAMS = ("prior", "learn", "guess", "slip", "forget")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    fmt: str
    files: tuple[str, ...]  # relative to the logs folder
    skill_names: str | None = None  # JSON {name: id}, relative to the logs folder


DATASETS: dict[str, DatasetSpec] = {
    "assist2009": DatasetSpec(
        "assist2009",
        "akt",
        ("assist2009/assist2009_pid_train1.csv", "assist2009/assist2009_pid_valid1.csv"),
        "assist2009/skill.json",
    ),
    "assist2015": DatasetSpec("assist2015", "pykt", ("assist2015/train_valid.csv",)),
}


@dataclass
class Prepared:
    """A dataset written in pyBKT's columns, with its per-skill counts."""

    csv_path: Path
    attempts: int
    rows: int
    learners: int
    load_problems: int
    rows_per_skill: dict[str, int]
    sequences_per_skill: dict[str, int]  # distinct learners who practised the skill


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare(
    spec: DatasetSpec, logs: Path, out_csv: Path, max_learners: int | None = None
) -> Prepared:
    vocab = Vocabularies()
    attempts = rows = problems = 0
    rows_per_skill: dict[str, int] = {}
    pairs: set[tuple[int, int]] = set()
    order_id = 0
    with out_csv.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "user_id", "skill_name", "correct"])
        for relative in spec.files:
            # One Vocabularies across the files: learners and skills keep one index.
            log, found = load_log(logs / relative, spec.fmt, vocab, max_learners=max_learners)
            problems += len(found)
            attempts += len(log)
            counts = np.diff(log.skill_ptr)
            learner = np.repeat(log.learner, counts).tolist()
            correct = np.repeat(log.correct.astype(np.int64), counts).tolist()
            for user, skill, right in zip(learner, log.skill_idx.tolist(), correct, strict=True):
                label = vocab.skills.labels[skill]
                # order_id: the row's position; increasing in time within each learner.
                writer.writerow([order_id, user, label, right])
                order_id += 1
                rows_per_skill[label] = rows_per_skill.get(label, 0) + 1
                pairs.add((user, skill))
            rows += len(log.skill_idx)
    sequences: dict[str, int] = {}
    for _, skill in pairs:
        label = vocab.skills.labels[skill]
        sequences[label] = sequences.get(label, 0) + 1
    return Prepared(
        csv_path=out_csv,
        attempts=attempts,
        rows=rows,
        learners=len(vocab.learners),
        load_problems=problems,
        rows_per_skill=rows_per_skill,
        sequences_per_skill=sequences,
    )


def run_runner(python: Path, runner: Path, args: Sequence[str], threads: int) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(  # noqa: S603 (our interpreter and script, no shell)
        [str(python), str(runner), *args], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-3000:]
        raise SystemExit(f"pyBKT runner failed ({done.returncode}): {tail}")
    lines = done.stdout.strip().splitlines()
    info: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return info


def quantiles(values: FloatArray, weights: FloatArray | None) -> dict[str, float]:
    qs = np.array([0.25, 0.5, 0.75])
    if weights is None:
        q25, med, q75 = np.quantile(values, qs).tolist()
    else:
        q25, med, q75 = np.quantile(values, qs, weights=weights, method="inverted_cdf").tolist()
    return {"median": med, "q25": q25, "q75": q75, "iqr": q75 - q25}


def summarise(values: FloatArray, weights: FloatArray) -> dict[str, dict[str, float]]:
    return {"unweighted": quantiles(values, None), "weighted": quantiles(values, weights)}


def summarise_fit(
    per_skill: dict[str, dict[str, float]], prepared: Prepared, forgets: bool
) -> dict[str, Any]:
    skills = sorted(per_skill, key=lambda s: (len(s), s))
    missing = [s for s in skills if s not in prepared.rows_per_skill]
    if missing:
        raise SystemExit(f"pyBKT fitted skills absent from the data: {missing[:5]}")
    weights = np.array([prepared.rows_per_skill[s] for s in skills], dtype=np.float64)
    table: dict[str, Any] = {}
    names = PARAMS if forgets else PARAMS[:4]
    for name in names:
        values = np.array([per_skill[s][name] for s in skills], dtype=np.float64)
        table[name] = summarise(values, weights)
    learn = np.array([per_skill[s]["learn"] for s in skills], dtype=np.float64)
    with np.errstate(divide="ignore"):
        inverse = np.where(learn > 0, 1.0 / np.where(learn > 0, learn, 1.0), np.inf)
    table["1/learn"] = summarise(inverse, weights)
    guess = np.array([per_skill[s]["guess"] for s in skills], dtype=np.float64)
    slip = np.array([per_skill[s]["slip"] for s in skills], dtype=np.float64)
    forget = np.array([per_skill[s]["forget"] for s in skills], dtype=np.float64)
    return {
        "forgets": forgets,
        "n_skills": len(skills),
        "quantiles": table,
        "learn_zero_skills": int((learn <= 0).sum()),
        "degenerate_skills_guess_gt_1_minus_slip": int((guess > 1.0 - slip).sum()),
        "max_forget": float(forget.max()) if len(forget) else math.nan,
    }


def attempts_summary(prepared: Prepared) -> dict[str, Any]:
    skills = sorted(prepared.rows_per_skill)
    rows = np.array([prepared.rows_per_skill[s] for s in skills], dtype=np.float64)
    seqs = np.array([prepared.sequences_per_skill[s] for s in skills], dtype=np.float64)
    per_skill_mean = rows / seqs
    return {
        "mean_attempts_per_learner_per_skill": float(rows.sum() / seqs.sum()),
        "learner_skill_sequences": int(seqs.sum()),
        "per_skill_mean_sequence_length": summarise(per_skill_mean, rows),
        "rows_per_skill": {
            "min": int(rows.min()),
            "median": float(np.median(rows)),
            "max": int(rows.max()),
        },
    }


def jsonable(value: Any) -> Any:
    """Non-finite floats as strings ("inf"), which JSON cannot hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def fmt(x: float) -> str:
    return f"{x:8.4f}" if math.isfinite(x) else f"{x!s:>8}"


def print_dataset(name: str, result: dict[str, Any]) -> None:
    data = result["data"]
    att = result["attempts"]
    print(f"\n=== {name}: {', '.join(data['files'])}")
    print(
        f"learners {data['learners']}, attempts {data['attempts']}, "
        f"(attempt, skill) rows {data['rows']}, skills {data['skills']}, "
        f"malformed records skipped {data['load_problems']}"
    )
    seq = att["per_skill_mean_sequence_length"]
    print(
        "mean attempts per learner per skill (rows / (learner, skill) sequences): "
        f"{att['mean_attempts_per_learner_per_skill']:.3f} over "
        f"{att['learner_skill_sequences']} sequences; per-skill mean sequence length: "
        f"median {seq['unweighted']['median']:.3f} "
        f"(IQR {seq['unweighted']['q25']:.3f}-{seq['unweighted']['q75']:.3f}), "
        f"row-weighted median {seq['weighted']['median']:.3f} "
        f"(IQR {seq['weighted']['q25']:.3f}-{seq['weighted']['q75']:.3f})"
    )
    for fit in result["fits"]:
        label = "forgetting ENABLED" if fit["forgets"] else "forgetting DISABLED"
        print(
            f"\n-- pyBKT fit, {label}: {fit['n_skills']} skills, {fit['seconds']:.1f} s; "
            f"degenerate (guess > 1 - slip): {fit['degenerate_skills_guess_gt_1_minus_slip']}; "
            f"learn = 0: {fit['learn_zero_skills']}; max forget {fit['max_forget']:.4f}"
        )
        head = "unweighted: median      q25      q75      IQR"
        print(f"{'param':<9} {head} | weighted by rows: median      q25      q75      IQR")
        for param, both in fit["quantiles"].items():
            u, w = both["unweighted"], both["weighted"]
            print(
                f"{param:<9}             {fmt(u['median'])} {fmt(u['q25'])} {fmt(u['q75'])} "
                f"{fmt(u['iqr'])} |                   {fmt(w['median'])} {fmt(w['q25'])} "
                f"{fmt(w['q75'])} {fmt(w['iqr'])}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder for sim_params.json")
    parser.add_argument("--datasets", default="assist2009,assist2015")
    parser.add_argument(
        "--logs", type=Path, default=None, help="default: ../shared/data/logs of the repo root"
    )
    parser.add_argument("--num-fits", type=int, default=3, help="EM random starts per skill")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS for pyBKT")
    parser.add_argument("--no-forgets", action="store_true", help="skip the forgetting fit")
    parser.add_argument(
        "--max-learners", type=int, default=None, help="first N learners of each file (smoke runs)"
    )
    args = parser.parse_args(argv)

    root = find_repo_root() or find_repo_root(Path.cwd())
    if root is None:
        raise SystemExit("cannot find the repository root (benchmarks/bkt/runner.py)")
    python = root / VENV_PYTHON
    if not python.exists():
        raise SystemExit(f"{python} is missing: run `make bench-bkt-env` in {root}")
    logs = (args.logs or root.parent / "shared" / "data" / "logs").resolve()
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise SystemExit(f"unknown dataset(s) {unknown}; known: {sorted(DATASETS)}")

    start = time.perf_counter()
    results: dict[str, Any] = {}
    pybkt_version: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="hyperlearn-simparams-") as tmp:
        folder = Path(tmp)
        for name in names:
            spec = DATASETS[name]
            t0 = time.perf_counter()
            prepared = prepare(spec, logs, folder / f"{name}.csv", args.max_learners)
            files = [logs / f for f in spec.files]
            skill_names: dict[str, str] = {}
            if spec.skill_names:
                raw = json.loads((logs / spec.skill_names).read_text(encoding="utf-8"))
                skill_names = {str(v): str(k) for k, v in raw.items()}
            result: dict[str, Any] = {
                "data": {
                    "format": spec.fmt,
                    "files": [str(f) for f in files],
                    "sha256": {str(f): sha256(f) for f in files},
                    "learners": prepared.learners,
                    "attempts": prepared.attempts,
                    "rows": prepared.rows,
                    "skills": len(prepared.rows_per_skill),
                    "load_problems": prepared.load_problems,
                    "load_seconds": round(time.perf_counter() - t0, 2),
                },
                "attempts": attempts_summary(prepared),
                "fits": [],
                "per_skill": {},
            }
            for forgets in (False,) if args.no_forgets else (False, True):
                tag = "forgets" if forgets else "noforgets"
                model = folder / f"{name}-{tag}.pkl"
                t0 = time.perf_counter()
                fit_args = [
                    "fit",
                    "--train",
                    str(prepared.csv_path),
                    "--model",
                    str(model),
                    "--num-fits",
                    str(args.num_fits),
                    "--seed",
                    str(args.seed),
                ]
                info = run_runner(
                    python,
                    root / RUNNER,
                    [*fit_args, "--forgets"] if forgets else fit_args,
                    args.threads,
                )
                seconds = time.perf_counter() - t0
                params_path = folder / f"{name}-{tag}.json"
                run_runner(
                    python,
                    root / RUNNER,
                    ["params", "--model", str(model), "--out", str(params_path)],
                    args.threads,
                )
                fitted = json.loads(params_path.read_text(encoding="utf-8"))
                pybkt_version = {
                    "version": fitted["pybkt_version"],
                    "build": fitted["pybkt_build"],
                }
                per_skill: dict[str, dict[str, float]] = fitted["skills"]
                summary = summarise_fit(per_skill, prepared, forgets)
                summary["seconds"] = round(seconds, 2)
                summary["runner_info"] = info
                result["fits"].append(summary)
                for skill, values in per_skill.items():
                    entry = result["per_skill"].setdefault(
                        skill,
                        {
                            "name": skill_names.get(skill),
                            "rows": prepared.rows_per_skill[skill],
                            "learners": prepared.sequences_per_skill[skill],
                        },
                    )
                    entry[tag] = values
            results[name] = result
            print_dataset(name, result)

    total = time.perf_counter() - start
    out = {
        "command": shlex.join(sys.orig_argv if argv is None else ["sim_params.py", *argv]),
        "cwd": str(Path.cwd()),
        "pybkt": pybkt_version,
        "python": platform.python_version(),
        "settings": {
            "num_fits": args.num_fits,
            "seed": args.seed,
            "omp_num_threads": args.threads,
            "max_learners_per_file": args.max_learners,
            "weights": "number of (attempt, skill) rows of the skill in the fitted data",
            "quantiles": "unweighted: numpy linear; weighted: inverted weighted CDF",
        },
        "datasets": results,
        "seconds": round(total, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "sim_params.json"
    path.write_text(json.dumps(jsonable(out), indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {path} in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
