"""The page-time benchmark (benchmarks/pages.py) still runs end to end and reaches every page:
a small database, two requests per page, in a process of its own (it freezes the garbage
collector's heap and swaps the password hasher, as a server would)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_page_benchmark_times_every_page_for_each_role(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "pages.py"),
            "--learners",
            "4",
            "--attempts",
            "240",
            "--requests",
            "2",
            "--db",
            str(tmp_path / "bench.sqlite3"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    timed = {row["page"].split("/")[1] or "/": row["as"] for row in report["pages"]}
    assert timed["login"] == "visitor" and timed["dashboard"] == "learner"
    assert timed["teacher"] == "teacher"
    pages = [row["page"] for row in report["pages"]]
    for prefix in (
        "/teacher/classes/",
        "/teacher/learners/",
        "/teacher/reports/",
        "/teacher/import/",
    ):
        assert any(p.startswith(prefix) for p in pages), (prefix, report["skipped"])
    assert report["kt_model_fitted"] and report["teacher_class_learners"] == 4
    # Only the downloads are left out: nothing lacks a path parameter.
    assert all("not an HTML page" in reason for reason in report["skipped"].values())
    assert all(row["p95_ms"] > 0 for row in report["pages"])
