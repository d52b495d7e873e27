"""TALLRec-style tuning on whatever device is there: the same commands as on a laptop.

Builds a synthetic knowledge-tracing log (learners with an ability, skills with a difficulty,
learning with practice), exports it with `hyperlearn llm export-tallrec --log`, builds a
randomly initialised Llama-style model and a word-level tokenizer trained on the data
(tests/llm/tiny_llama.py; nothing is downloaded), runs `hyperlearn llm tune --device cuda`,
scores the validation split with `hyperlearn llm tallrec-score`, and times the `tallrec` policy
ranking a shortlist. Prints the device, dtype, seconds per epoch, losses and validation AUC,
and writes them as JSON to $OUT/tallrec_gpu.json when OUT is set.

Run it through benchmarks/tallrec_gpu.sh (which installs the carried wheels), e.g.
    bash benchmarks/tallrec_gpu.sh --device cuda
Here, on a CPU, a small run checks the script itself:
    PYTHONPATH=src:. .venv/bin/python benchmarks/tallrec_gpu.py --device cpu --learners 20 \
        --attempts 12 --hidden 32 --layers 2 --epochs 1
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def synthetic_log(path: Path, learners: int, attempts: int, seed: int) -> int:
    """A log in HyperLearn's CSV format whose outcomes depend on the learner's ability, the
    skill's difficulty and practice, so that the history carries signal."""
    rng = random.Random(seed)
    skills = [f"skill{n:02d}" for n in range(24)]
    difficulty = {s: rng.gauss(0.0, 0.8) for s in skills}
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["learner_id", "item_id", "skills", "correct", "answered_at"])
        for learner in range(learners):
            ability = rng.gauss(0.0, 1.0)
            practice = dict.fromkeys(skills, 0)
            at = START
            for _ in range(attempts):
                skill = rng.choice(skills)
                item = f"{skill}-item{rng.randrange(8)}"
                logit = ability - difficulty[skill] + 0.25 * min(practice[skill], 8) - 0.3
                correct = rng.random() < 1 / (1 + math.exp(-logit))
                at += timedelta(minutes=rng.randint(1, 30))
                writer.writerow(
                    [f"learner{learner:04d}", item, skill, int(correct), at.isoformat()]
                )
                practice[skill] += 1
                rows += 1
    return rows


def hyperlearn(*args: str) -> dict[str, Any]:
    """Run `hyperlearn ARGS --json` in a fresh process; the last stdout line is the report."""
    code = "from hyperlearn.cli import app; app(prog_name='hyperlearn')"
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-c", code, *args, "--json"], capture_output=True, text=True, check=False
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"hyperlearn {' '.join(args[:2])} failed ({done.returncode})")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["wall_s"] = round(time.perf_counter() - started, 2)
    return report


def policy_latency(model_dir: Path, device: str, calls: int = 20) -> dict[str, Any]:
    """Milliseconds per `tallrec` ranking (20-item shortlist, one batched forward pass)."""
    from tests.core.test_policy import GRAPH, NOW, bank, state

    from hyperlearn.core import CandidateSet, HybridPolicy
    from hyperlearn.llm.tallrec import TallRecPolicy

    policy = TallRecPolicy.load(model_dir, HybridPolicy(), device=device)
    candidates = CandidateSet(bank(per_skill=10), GRAPH)
    learner = state(history=tuple(i.id for i in candidates.items[:10]), outcomes=(True,) * 10)
    started = time.perf_counter()
    policy.rank(learner, candidates, NOW, random.Random(0))  # loads the model
    load_s = time.perf_counter() - started
    times = []
    for n in range(calls):
        started = time.perf_counter()
        ranked = policy.rank(learner, candidates, NOW, random.Random(n))
        times.append(1000 * (time.perf_counter() - started))
    if policy.load_error or policy.failures or ranked[0].reasons[-1].factor != "tallrec":
        raise SystemExit(f"the tallrec policy fell back: {policy.load_error or policy.failures}")
    return {"load_s": round(load_s, 2), "rank_ms_median": round(statistics.median(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="auto, cpu or cuda")
    parser.add_argument("--learners", type=int, default=400)
    parser.add_argument("--attempts", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from tests.llm.tiny_llama import build_tiny_llama

    from hyperlearn.llm.tallrec.data import read_jsonl

    cuda = torch.cuda.is_available()
    print(f"torch {torch.__version__}, CUDA available: {cuda}", flush=True)
    if cuda:
        print(f"GPU: {torch.cuda.get_device_name(0)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tallrec-gpu-") as tmp:
        work = Path(tmp)
        rows = synthetic_log(work / "log.csv", args.learners, args.attempts, args.seed)
        export = hyperlearn(
            "llm", "export-tallrec", "--log", str(work / "log.csv"), "--out",
            str(work / "data.jsonl"), "--history", "10", "--split-by-learner", "0.1",
        )  # fmt: skip
        print(f"exported {export['examples']} examples from {rows} attempts", flush=True)
        texts = [e.prompt + e.output for e in read_jsonl(work / "data.jsonl")]
        base = build_tiny_llama(
            work / "base", texts, hidden=args.hidden, layers=args.layers, heads=args.heads
        )
        tuned = hyperlearn(
            "llm", "tune", "--base", str(base), "--data", str(work / "data.jsonl"),
            "--out", str(work / "tuned"), "--device", args.device,
            "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
            "--lr", str(args.lr), "--max-length", str(args.max_length), "--seed", str(args.seed),
        )  # fmt: skip
        scored = hyperlearn(
            "llm", "tallrec-score", "--model", str(work / "tuned"),
            "--data", str(work / "data.jsonl"), "--device", args.device,
        )  # fmt: skip
        latency = policy_latency(work / "tuned", args.device)
    summary = {
        "device": tuned["device"],
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "dtype": tuned["dtype"],
        "model": {"hidden": args.hidden, "layers": args.layers, "heads": args.heads},
        "train_examples": tuned["train_examples"],
        "validation_examples": tuned["validation_examples"],
        "batch_size": args.batch_size,
        "seconds_per_epoch": [round(s, 2) for s in tuned["seconds_per_epoch"]],
        "tune_seconds": round(tuned["seconds"], 2),
        "initial_loss": round(tuned["initial_loss"], 4),
        "epoch_losses": [round(x, 4) for x in tuned["epoch_losses"]],
        "validation_auc": tuned["validation_auc"],
        "score_auc": scored["auc"],
        "score_seconds": round(scored["seconds"], 3),
        "policy": latency,
    }
    print(
        f"device {summary['device']} ({summary['gpu'] or 'no GPU'}), {summary['dtype']}: "
        f"seconds per epoch {summary['seconds_per_epoch']}, loss {summary['initial_loss']} -> "
        f"{summary['epoch_losses'][-1]}, validation AUC {summary['validation_auc']}, "
        f"policy rank {latency['rank_ms_median']} ms",
        flush=True,
    )
    print(json.dumps(summary))
    out = os.environ.get("OUT")
    if out:
        (Path(out) / "tallrec_gpu.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
