"""pyBKT behind a file interface, run INSIDE benchmarks/bkt/.venv (`make bench-bkt-env`).

pyBKT needs numpy < 2.4 and scikit-learn < 1.8, so it cannot share HyperLearn's environment;
`hyperlearn.evaluation.bkt.PyBKTModel` drives this script through a subprocess.

    runner.py --check
        exit 0 only when pyBKT's compiled C++ extension is the one in use.
    runner.py fit --train TRAIN.csv --model MODEL.pkl [--num-fits N] [--seed S] [--forgets]
        one standard BKT per skill (prior, learn, guess, slip; no forgetting), EM from
        N random starts, the best likelihood kept. --forgets also fits a forget rate per
        skill (pyBKT's forgets=True); without it, forgetting stays fixed at 0.
    runner.py predict --model MODEL.pkl --test TEST.csv --out PRED.npy
        one-step-ahead P(correct) for every test row, in the file's row order.
    runner.py params --model MODEL.pkl --out PARAMS.json
        the fitted parameters per skill (prior, learn, guess, slip, forget) and the pyBKT
        version, as JSON.

CSV columns (pyBKT's own names): order_id (unique, increasing in time within a user),
user_id (int), skill_name, correct (0/1).

Why `predict` does not look ahead: pyBKT sorts the rows by user and order_id, cuts one
sequence per (skill, user), runs the forward pass (the filtered posterior alpha_t uses the
answers 0..t only), and predicts row t from the prior for t = 0 and from A @ alpha_{t-1}
otherwise (pyBKT/fit/predict_onestep_states.cpp), so row t never sees its own answer or a
later one. Skills never seen in training get --prior (by default the training success rate).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ["order_id", "user_id", "skill_name", "correct"]
DTYPES = {"order_id": "int64", "user_id": "int64", "skill_name": "str", "correct": "int64"}


def check_fast() -> bool:
    """pyBKT installs its pure-Python fallback silently when the C++ build fails; tell."""
    import pyBKT
    from pyBKT.fit import E_step, predict_onestep_states

    version = str(getattr(pyBKT, "version", "?"))
    compiled = all(
        str(getattr(mod, "__file__", "")).endswith((".so", ".pyd"))
        for mod in (E_step, predict_onestep_states)
    )
    ok = "C++" in version and compiled
    print(f"pyBKT {version}: E_step from {getattr(E_step, '__file__', '?')}")
    print("C++ extension in use" if ok else "pure-Python pyBKT (slow): rebuild with a compiler")
    return ok


def read_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=DTYPES)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    if not df["correct"].isin([0, 1]).all():
        raise SystemExit(f"{path}: `correct` must be 0 or 1")
    if df["order_id"].duplicated().any():
        raise SystemExit(f"{path}: order_id must be unique")
    # pyBKT matches rows back by index label: make it a plain 0..n-1 range.
    return df[COLUMNS].reset_index(drop=True)


def fit(
    train_path: Path,
    model_path: Path,
    num_fits: int,
    seed: int,
    prior: float | None,
    forgets: bool = False,
) -> dict[str, Any]:
    from pyBKT.models import Model

    train = read_csv(train_path)
    if prior is None:
        prior = float(train["correct"].mean()) if len(train) else 0.5
    model = None
    skills: list[str] = []
    if len(train):
        model = Model(seed=seed, num_fits=num_fits, parallel=True)
        # pyBKT sorts and casts the frame it is given in place: hand it a copy.
        model.fit(data=train.copy(), forgets=forgets)
        skills = [str(s) for s in model.fit_model]
    with model_path.open("wb") as handle:
        pickle.dump({"model": model, "prior": prior, "skills": skills}, handle)
    return {"rows": len(train), "skills": len(skills), "prior": prior, "forgets": forgets}


def predict(model_path: Path, test_path: Path, out_path: Path) -> dict[str, Any]:
    with model_path.open("rb") as handle:
        # Our own file, written by `fit` above in a private temporary folder.
        state = pickle.load(handle)  # noqa: S301
    test = read_csv(test_path)
    prior = float(state["prior"])
    pred = np.full(len(test), prior, dtype=np.float64)
    known = test["skill_name"].isin(set(state["skills"])).to_numpy()
    if state["model"] is not None and known.any():
        part = test.loc[known].copy()
        out = state["model"].predict(data=part)
        values = out["correct_predictions"].reindex(part.index).to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            raise SystemExit("pyBKT returned no prediction for some rows")
        pred[known] = values
    np.save(out_path, pred)
    return {"rows": len(test), "unseen_skill_rows": int((~known).sum()), "prior": prior}


def params(model_path: Path, out_path: Path) -> dict[str, Any]:
    """Per-skill prior, learn, guess, slip, forget of a model written by `fit`."""
    from importlib.metadata import version

    import pyBKT

    with model_path.open("rb") as handle:
        # Our own file, written by `fit` above.
        state = pickle.load(handle)  # noqa: S301
    per_skill: dict[str, dict[str, float]] = {}
    if state["model"] is not None:
        for skill, coef in state["model"].coef_.items():
            # One learn/forget per resource and one guess/slip per guess class; the standard
            # model (no multilearn/multigs) has exactly one of each.
            values = {
                name: np.ravel(np.asarray(coef[key], dtype=np.float64))
                for name, key in (
                    ("prior", "prior"),
                    ("learn", "learns"),
                    ("guess", "guesses"),
                    ("slip", "slips"),
                    ("forget", "forgets"),
                )
            }
            if any(v.size != 1 for v in values.values()):
                raise SystemExit(f"skill {skill!r}: not a standard one-class BKT")
            per_skill[str(skill)] = {name: float(v[0]) for name, v in values.items()}
    out = {
        "pybkt_version": version("pyBKT"),
        "pybkt_build": str(getattr(pyBKT, "version", "?")),
        "skills": per_skill,
    }
    out_path.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return {"skills": len(per_skill), "pybkt_version": out["pybkt_version"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="is the C++ extension in use?")
    sub = parser.add_subparsers(dest="command")
    p_fit = sub.add_parser("fit", help="fit one BKT per skill")
    p_fit.add_argument("--train", type=Path, required=True)
    p_fit.add_argument("--model", type=Path, required=True)
    p_fit.add_argument("--num-fits", type=int, default=3)
    p_fit.add_argument("--seed", type=int, default=42)
    p_fit.add_argument(
        "--prior",
        type=float,
        default=None,
        help="P(correct) for skills unseen in training (default: the training success rate)",
    )
    p_fit.add_argument(
        "--forgets",
        action="store_true",
        help="also fit a forget rate per skill (default: no forgetting)",
    )
    p_pred = sub.add_parser("predict", help="one-step-ahead predictions for a test file")
    p_pred.add_argument("--model", type=Path, required=True)
    p_pred.add_argument("--test", type=Path, required=True)
    p_pred.add_argument("--out", type=Path, required=True)
    p_par = sub.add_parser("params", help="the fitted per-skill parameters as JSON")
    p_par.add_argument("--model", type=Path, required=True)
    p_par.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.check:
        return 0 if check_fast() else 1
    start = time.perf_counter()
    if args.command == "fit":
        info = fit(args.train, args.model, args.num_fits, args.seed, args.prior, args.forgets)
    elif args.command == "predict":
        info = predict(args.model, args.test, args.out)
    elif args.command == "params":
        info = params(args.model, args.out)
    else:
        parser.error("give --check, fit, predict or params")
    info["seconds"] = round(time.perf_counter() - start, 3)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
