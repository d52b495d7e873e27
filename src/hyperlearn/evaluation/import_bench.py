"""Import throughput and peak memory, one fresh process and one fresh SQLite file per import.

Each import runs in a child process (`python -m hyperlearn.evaluation.import_bench --child ...`)
that reports its own peak resident memory, so one import's memory never hides another's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "corpora"
DEFAULT_TARGETS = (
    ("conllu", "en", SHARED / "en/ud-ewt/en_ewt-ud-train.conllu", "UD English-EWT train"),
    ("m2", "ru", SHARED / "ru/relco/errors_tagged.m2", "ReLCo"),
)


@dataclass(frozen=True)
class Target:
    fmt: str
    language: str
    path: Path
    name: str


def measure(target: Target) -> dict[str, Any]:
    """Run one import in a child process and return its figures."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        # Our own interpreter and module with fixed arguments: nothing untrusted is executed.
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "hyperlearn.cli", "--db", url, "init"],
            check=True,
            capture_output=True,
        )
        done = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "hyperlearn.evaluation.import_bench",
                "--child",
                url,
                target.fmt,
                target.language,
                str(target.path),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report = figures["report"]
    seconds = figures["wall_s"]
    return {
        "name": target.name,
        "format": target.fmt,
        "file": target.path.name,
        "records": report["read"],
        "kept": report["kept"],
        "seconds": round(seconds, 2),
        "records_per_s": round(report["read"] / seconds, 1),
        "items_per_s": round(report["kept"] / seconds, 1),
        "peak_mb": round(figures["peak_kb"] / 1024, 1),
    }


def _child(url: str, fmt: str, language: str, path: str) -> None:
    from hyperlearn.content.importing.runner import run_import
    from hyperlearn.store.engine import make_engine, session_factory

    started = time.perf_counter()
    report = run_import(
        fmt,
        [Path(path)],
        language=language,
        sessions=session_factory(make_engine(url)),
        source=Path(path).name,
        licence="benchmark",
        now=datetime.now(UTC),
    )
    wall = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"wall_s": wall, "peak_kb": peak_kb, "report": report.to_json()}))


def run(targets: list[Target], out: Path) -> list[dict[str, Any]]:
    results = [measure(t) for t in targets]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def default_targets() -> list[Target]:
    return [Target(fmt, lang, path, name) for fmt, lang, path, name in DEFAULT_TARGETS]


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "--child":
    _child(*sys.argv[2:])
