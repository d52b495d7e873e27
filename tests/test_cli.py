"""The `hyperlearn` command, run in-process with Typer's runner against a temporary SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hyperlearn.cli import app

runner = CliRunner()


def test_content_stats_json() -> None:
    result = runner.invoke(app, ["content", "stats", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)["languages"]
    assert stats["en"]["skills"] >= 40 and stats["en"]["items"] >= 400
    assert stats["ru"]["skills"] >= 20 and stats["ru"]["items"] >= 200
    assert set(stats["en"]["items_by_type"]) == {"cloze", "choice", "correction", "judgement"}
    assert stats["en"]["topics"] == stats["ru"]["topics"] == 18


def test_content_validate_passes_on_shipped_content() -> None:
    result = runner.invoke(app, ["content", "validate"])
    assert result.exit_code == 0, result.output
    assert "All content is valid" in result.output


def test_content_validate_fails_on_a_broken_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["content", "validate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "topics.yaml: file is missing" in result.output


def test_init_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    first = runner.invoke(app, ["--db", url, "init"])
    assert first.exit_code == 0, first.output
    assert "0 already there" in first.output
    second = runner.invoke(app, ["--db", url, "init"])
    assert second.exit_code == 0, second.output
    assert " 0 items added" in second.output


def test_practice_in_the_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'practice.sqlite3'}"
    assert runner.invoke(app, ["--db", url, "init"]).exit_code == 0
    # Name, one (wrong) answer, then quit.
    result = runner.invoke(
        app, ["--db", url, "practice", "--seed", "1", "--language", "ru"], input="Ivan\nzzz\nq\n"
    )
    assert result.exit_code == 0, result.output
    assert "Your learner id is" in result.output
    assert "Not quite." in result.output
    assert "Rule:" in result.output


def test_serve_refuses_an_uninitialised_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = runner.invoke(app, ["--db", url, "serve", "--port", "1"])
    assert result.exit_code == 1
    assert "run `hyperlearn init` first" in result.output
