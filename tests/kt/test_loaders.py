"""The log readers: each format, shared vocabularies, malformed records, the real data files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hyperlearn.core.kt.log import InteractionLog
from hyperlearn.evaluation.kt_data import (
    UnknownFormatError,
    Vocabularies,
    collapse_multiskill_runs,
    load_log,
)
from tests.conftest import require_shared_data


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows(log: InteractionLog, vocab: Vocabularies) -> list[tuple[str, str, list[str], int]]:
    """(learner, item, skills, correct) labels of every row."""
    return [
        (
            vocab.learners.labels[int(log.learner[r])],
            vocab.items.labels[int(log.item[r])],
            [vocab.skills.labels[int(s)] for s in log.skills_of(r)],
            int(log.correct[r]),
        )
        for r in range(len(log))
    ]


# ---------------------------------------------------------------- akt


def test_collapse_joins_expanded_rows_and_keeps_genuine_repeats() -> None:
    items = ["7", "7", "7", "8", "8", "9", "9"]
    skills = ["1", "2", "1", "3", "3", "4", "5"]
    correct = [True, True, True, False, False, True, False]
    assert collapse_multiskill_runs(items, skills, correct) == [
        ("7", ["1", "2"], True),  # same problem, same answer, new skill: one attempt
        ("7", ["1"], True),  # skill 1 again: a second attempt
        ("8", ["3"], False),
        ("8", ["3"], False),
        ("9", ["4"], True),  # a different answer is a different attempt
        ("9", ["5"], False),
    ]


AKT_TRAIN = """\
0,1001
10,10,11,12
1,2,1,3
1,1,0,1
1,1002
11,12
1,3
0,0
"""


def test_akt_reads_problem_ids_collapses_multiskill_rows_and_shares_vocabularies(
    tmp_path: Path,
) -> None:
    vocab = Vocabularies()
    train, problems = load_log(write(tmp_path, "train.csv", AKT_TRAIN), "akt", vocab)
    assert problems == []
    assert rows(train, vocab) == [
        ("0", "10", ["1", "2"], 1),
        ("0", "11", ["1"], 0),
        ("0", "12", ["3"], 1),
        ("1", "11", ["1"], 0),
        ("1", "12", ["3"], 0),
    ]
    assert not train.has_time
    assert np.all(np.diff(train.time) > 0)  # position: an order
    test, _ = load_log(write(tmp_path, "test.csv", "7,1\n12,99\n3,9\n1,1\n"), "akt", vocab)
    assert test.item.tolist() == [vocab.items.get("12"), vocab.items.get("99")]
    assert test.item[0] == train.item[2]  # same problem, same index in train and test
    assert test.learner.tolist() == [2, 2]
    assert vocab.skills.labels == ["1", "2", "3", "9"]


def test_akt_reports_malformed_records_with_file_and_line_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    text = (
        "0,1\n5,6\n1,2\n1,0\n"  # lines 1-4: fine
        "1,2\n5,6,7\n1,2\n1,0\n"  # lines 5-8: 3 problems, 2 skills
        "2,3\n5\n1\n2\n"  # lines 9-12: response 2
        "3,4\n5,x\n1,2\n1,1\n"  # lines 13-16: bad problem id
        "\n"  # blank lines are ignored
        "4,5\n5\n1\n1\n"  # lines 18-21: fine
        "5,6\n5\n"  # lines 22-23: the file ends inside a record
    )
    path = write(tmp_path, "bad.csv", text)
    log, problems = load_log(path, "akt")
    assert [(p.file, p.line) for p in problems] == [
        (str(path), 5),
        (str(path), 12),
        (str(path), 14),
        (str(path), 22),
    ]
    assert "length mismatch: 3 problem ids, 2 skill ids, 2 responses" in problems[0].message
    assert "not 0 or 1" in problems[1].message
    assert "not an integer: 'x'" in problems[2].message
    assert "incomplete record" in problems[3].message
    assert str(problems[0]).startswith(f"{path}:5: ")
    assert len(log) == 3 and log.n_learners == 2  # skipped records leave no trace
    assert log.correct.tolist() == [1, 0, 1]


def test_a_learner_repeated_in_one_file_is_reported_and_kept_apart(tmp_path: Path) -> None:
    vocab = Vocabularies()
    text = "0,1\n5\n1\n1\n0,1\n6\n1\n0\n"
    log, problems = load_log(write(tmp_path, "dup.csv", text), "akt", vocab)
    assert vocab.learners.labels == ["0", "0#2"]
    assert len(problems) == 1 and problems[0].line == 5 and "appears again" in problems[0].message
    assert [len(range(*span)) for span in log.learner_spans()] == [1, 1]


def test_max_learners_stops_early(tmp_path: Path) -> None:
    log, _ = load_log(write(tmp_path, "t.csv", AKT_TRAIN), "akt", max_learners=1)
    assert log.n_learners == 1 and len(log) == 3


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match="unknown log format 'csv'"):
        load_log(write(tmp_path, "t.csv", AKT_TRAIN), "csv")


# ---------------------------------------------------------------- dkvmn


def test_dkvmn_item_is_the_skill_and_malformed_records_are_reported(tmp_path: Path) -> None:
    text = "3\n4,4,9,\n1,0,1,\n2\n4,9,1\n1,0,1\n1\n4\n1\n"
    vocab = Vocabularies()
    path = write(tmp_path, "d.csv", text)
    log, problems = load_log(path, "dkvmn", vocab)
    assert [(p.line, "length mismatch" in p.message) for p in problems] == [(4, True)]
    assert rows(log, vocab) == [
        ("d.csv:1", "4", ["4"], 1),
        ("d.csv:1", "4", ["4"], 0),  # repeats stay separate attempts: no collapse here
        ("d.csv:1", "9", ["9"], 1),
        ("d.csv:7", "4", ["4"], 1),
    ]


def test_dkvmn_bad_length_line_points_at_misalignment(tmp_path: Path) -> None:
    log, problems = load_log(write(tmp_path, "d.csv", "x\n4\n1\n"), "dkvmn")
    assert len(log) == 0
    assert problems[0].line == 1 and "is one missing above?" in problems[0].message


# ---------------------------------------------------------------- pykt


PYKT = """\
fold,uid,concepts,responses
0,u1,"3,3,7","1,0,1"
0,u2,"3_7,8,-1","0,1,-1"
1,u3,"3,3","1,2"
1,u4,"3,3","1"
2,u5,"3,z","1,1"
"""


def test_pykt_reads_quoted_lists_multiskill_and_padding_and_reports_bad_rows(
    tmp_path: Path,
) -> None:
    vocab = Vocabularies()
    path = write(tmp_path, "p.csv", PYKT)
    log, problems = load_log(path, "pykt", vocab)
    assert rows(log, vocab) == [
        ("u1", "3", ["3"], 1),
        ("u1", "3", ["3"], 0),
        ("u1", "7", ["7"], 1),
        ("u2", "3_7", ["3", "7"], 0),  # pyKT's multi-concept notation: one attempt
        ("u2", "8", ["8"], 1),  # the -1 padding is dropped
    ]
    assert [p.line for p in problems] == [4, 5, 6]
    assert "not 0 or 1" in problems[0].message
    assert "length mismatch: 2 concepts, 1 responses" in problems[1].message
    assert "not an integer" in problems[2].message


def test_pykt_uses_questions_and_timestamps_when_present(tmp_path: Path) -> None:
    text = (
        'fold,uid,questions,concepts,responses,timestamps\n-1,9,"q1,q2","4,5","1,0","1000,61000"\n'
    )
    vocab = Vocabularies()
    log, problems = load_log(write(tmp_path, "q.csv", text), "pykt", vocab)
    assert problems == []
    assert vocab.items.labels == ["q1", "q2"] and vocab.skills.labels == ["4", "5"]
    assert log.has_time and log.time.tolist() == [1.0, 61.0]


def test_pykt_without_required_columns_reads_nothing(tmp_path: Path) -> None:
    log, problems = load_log(write(tmp_path, "h.csv", "fold,uid,skills\n0,1,2\n"), "pykt")
    assert len(log) == 0
    assert problems[0].line == 1 and "concepts, responses" in problems[0].message


# ---------------------------------------------------------------- hyperlearn export


def test_hyperlearn_export_groups_learners_and_orders_by_time(tmp_path: Path) -> None:
    text = (
        "learner_id,item_id,skills,correct,answered_at\n"
        "b,i2,past-simple,1,2026-01-05T09:00:05Z\n"
        "a,i1,past-simple;articles,0,2026-01-05T09:00:09+00:00\n"
        "b,i1,past-simple;articles,1,2026-01-05T09:00:01Z\n"
        "a,i3,articles,yes,2026-01-05T09:00:10Z\n"
        "a,i3,articles,1,yesterday\n"
        "a,i2,past-simple,true,2026-01-05T09:00:02\n"
    )
    vocab = Vocabularies()
    path = write(tmp_path, "export.csv", text)
    log, problems = load_log(path, "hyperlearn", vocab)
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [
        (5, "correct"),
        (6, "answered_at"),
    ]
    assert rows(log, vocab) == [
        ("b", "i1", ["past-simple", "articles"], 1),
        ("b", "i2", ["past-simple"], 1),
        ("a", "i2", ["past-simple"], 1),  # no offset: read as UTC
        ("a", "i1", ["past-simple", "articles"], 0),
    ]
    assert log.has_time
    assert log.time[0] == 1767603601.0  # 2026-01-05T09:00:01Z
    assert log.time[2] < log.time[3]


# ---------------------------------------------------------------- the real files


def test_assist2009_akt_fold_loads_all_its_learners() -> None:
    folder = require_shared_data("logs/assist2009")
    vocab = Vocabularies()
    test, problems = load_log(folder / "assist2009_pid_test1.csv", "akt", vocab)
    assert problems == []
    assert len(test.learner_spans()) == test.n_learners == 830  # 4,150 learners / 5 folds
    assert len(test.skill_idx) == 60_915  # every file row is one (attempt, skill) entry
    assert len(test) == 52_003  # after joining the expanded multi-skill rows
    per_attempt = np.diff(test.skill_ptr)
    assert per_attempt.max() == 4 and (per_attempt > 1).sum() == 8_065
    assert len(vocab.skills) <= 110
    assert 0.6 < test.correct.mean() < 0.7


def test_assist2015_pykt_test_file() -> None:
    folder = require_shared_data("logs/assist2015")
    log, problems = load_log(folder / "test.csv", "pykt")
    assert problems == []
    assert log.n_learners == len(log.learner_spans()) == 3_818
    assert len(log) == len(log.skill_idx) == 138_458
    assert 0.72 < log.correct.mean() < 0.74
