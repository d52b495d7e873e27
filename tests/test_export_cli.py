"""`hyperlearn content anki`, run in-process against the session's database."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from hyperlearn.cli import app

runner = CliRunner()


def test_content_anki_writes_a_deck(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "deck.apkg"
    skills = "en.past_continuous, en.used_to"
    command = ["--db", database_url, "content", "anki", "--language", "en", "--skills", skills]
    result = runner.invoke(app, [*command, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["notes"] == sum(report["per_skill"].values()) > 0
    assert set(report["per_skill"]) == {"en.past_continuous", "en.used_to"}
    assert zipfile.is_zipfile(out)

    missing = runner.invoke(
        app, ["--db", database_url, "content", "anki", "--skills", "en.nope", "--out", str(out)]
    )
    assert missing.exit_code == 2
    assert "en.nope" in missing.output
