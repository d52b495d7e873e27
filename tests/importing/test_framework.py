"""The import framework: text clean-up, filters, the verifier and the runner's guarantees."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hyperlearn.content.bank import Bank
from hyperlearn.content.importing import runner
from hyperlearn.content.importing.base import Candidate, Evidence, ImportRun
from hyperlearn.content.importing.text import detokenize, sentence_problem, truecase
from hyperlearn.content.importing.verifier import verify
from hyperlearn.core import CEFRLevel, Item, ItemType, Language, Provenance
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.store.models import ItemRow
from tests.conftest import T0

SOURCE = Provenance("Test corpus", "CC0", "test.txt:1")


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        ("I do n't know , really .", "I don't know, really."),
        ("She 's here ; he 's not !", "She's here; he's not!"),
        ('He said " hello " to me .', 'He said "hello" to me.'),
        ("It costs $ 5 ( about 4 euros ) .", "It costs $5 (about 4 euros)."),
        ("Я не знаю , правда ли это .", "Я не знаю, правда ли это."),
        ("Он сказал « привет » .", "Он сказал «привет»."),
    ],
)
def test_detokenize_reads_naturally(tokens: str, text: str) -> None:
    assert detokenize(tokens.split()) == text


def test_truecase_for_lower_cased_sources() -> None:
    assert truecase("i want a flight to boston") == "I want a flight to boston"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Too short.", "sentence length"),
        ("See https://example.com for the match results today.", "URL or e-mail"),
        ("Write to me at ann@example.org about the match.", "URL or e-mail"),
        ("The <b>match</b> was very exciting for everyone there.", "markup"),
        ("The match was great ★★★ and everyone loved it.", "odd symbols"),
        ("That referee is a total fucking idiot today.", "offensive word"),
        ("Этот судья просто мудак, все это знают.", "offensive word"),
        ("The match was very exciting for everyone there.", None),
        ("Матч был очень интересным для всех зрителей.", None),
        ("Dickens wrote about the cockpit of a ship.", None),  # whole words only for 'dick'
    ],
)
def test_sentence_filters(text: str, reason: str | None) -> None:
    language = Language.RU if any("а" <= c <= "я" for c in text.lower()) else Language.EN
    tokens = text.replace(",", " ,").replace(".", " .").split()
    assert sentence_problem(text, tokens, language) == reason


def candidate(
    type: ItemType,
    text: str,
    answers: tuple[str, ...],
    gold: str,
    wrong: str = "",
    distractors: tuple[str, ...] = (),
    correction: str = "",
) -> Candidate:
    item = Item.create(
        language=Language.EN,
        type=type,
        text=text,
        answers=answers,
        skills=("en.past_continuous",),
        level=CEFRLevel.A2,
        distractors=distractors,
        correction=correction,
        provenance=SOURCE,
    )
    return Candidate(item, Evidence(gold=gold, wrong=wrong))


GOLD = "I was watching the match when you called."
WRONG = "I watched the match when you called."


@pytest.mark.parametrize(
    ("made", "reason"),
    [
        (
            candidate(
                ItemType.CHOICE,
                "I ___ the match when you called.",
                ("was watching",),
                GOLD,
                distractors=("watched", "am watching"),
            ),
            None,
        ),
        (
            candidate(
                ItemType.CHOICE,
                "I ___ the match when you called.",
                ("watched",),
                GOLD,
                distractors=("was watching", "am watching"),
            ),
            "answer does not restore the gold sentence",
        ),
        (
            candidate(
                ItemType.CHOICE,
                "I ___ the match when you called.",
                ("was watching",),
                GOLD,
                distractors=("was  Watching", "watched"),
            ),
            "a distractor restores the gold sentence",
        ),
        (candidate(ItemType.CORRECTION, WRONG, (GOLD,), GOLD, wrong=WRONG), None),
        (
            candidate(ItemType.CORRECTION, WRONG, ("I watched a match.",), GOLD, wrong=WRONG),
            "correction is not the gold sentence",
        ),
        (
            candidate(
                ItemType.CORRECTION,
                "I watch the match when you called.",
                (GOLD,),
                GOLD,
                wrong=WRONG,
            ),
            "sentence to correct is not the annotated error",
        ),
        (candidate(ItemType.JUDGEMENT, GOLD, ("correct",), GOLD), None),
        (
            candidate(ItemType.JUDGEMENT, WRONG, ("correct",), GOLD, wrong=WRONG),
            "judged correct but not the gold sentence",
        ),
        (
            candidate(
                ItemType.JUDGEMENT, WRONG, ("incorrect",), GOLD, wrong=WRONG, correction=GOLD
            ),
            None,
        ),
        (
            candidate(ItemType.JUDGEMENT, GOLD, ("incorrect",), GOLD, wrong=WRONG, correction=GOLD),
            "judged incorrect but not the annotated error",
        ),
        (
            candidate(
                ItemType.CLOZE,
                "I ___ the match.",
                ("was watching",),
                "",
            ),
            "no gold sentence",
        ),
    ],
)
def test_the_verifier_recomputes_from_the_annotation(
    bank: Bank, made: Candidate, reason: str | None
) -> None:
    assert verify(made, bank.graphs[Language.EN], bank.topics) == reason


def test_the_verifier_runs_the_item_checks_with_stable_reasons(bank: Bank) -> None:
    made = candidate(
        ItemType.CHOICE,
        "I ___ the match when you called.",
        ("was watching",),
        GOLD,
        distractors=("was watching.", "watched"),
    )
    assert (
        verify(made, bank.graphs[Language.EN], bank.topics) == "distractor … is an accepted answer"
    )

    made = candidate(
        ItemType.CHOICE,
        "I ___ the match when you called.",
        ("was watching",),
        GOLD,
        distractors=("watched",),
    )
    assert (
        verify(made, bank.graphs[Language.EN], bank.topics)
        == "a choice needs at least two distractors"
    )


def fake_generate(paths: Sequence[Path], run: ImportRun) -> Iterator[Candidate]:
    """A stand-in corpus: one good item per line, a repeated one, and a broken one."""
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            run.record_read()
            if not line.strip():
                run.malformed(path, number, "empty line")
                continue
            sentence = f"I was watching {line} when you called."
            yield candidate(
                ItemType.CORRECTION,
                sentence.replace("was watching", "watched"),
                (sentence,),
                sentence,
                wrong=sentence.replace("was watching", "watched"),
            )
            if run.exhausted:
                return


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(runner.FORMATS, "fake", "tests.importing.test_framework:fake_generate")
    path = tmp_path / "corpus.txt"
    path.write_text("the match\nthe film\n\nthe match\nthe news\n", encoding="utf-8")
    return path


def items_in(url: str) -> int:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(ItemRow)) or 0
    engine.dispose()
    return count


def test_runner_counts_stores_once_and_dry_runs(fresh_database_url: str, corpus: Path) -> None:
    engine = make_engine(fresh_database_url)
    sessions = session_factory(engine)
    before = items_in(fresh_database_url)
    common = {"language": "en", "sessions": sessions, "source": "Fake", "licence": "CC0", "now": T0}
    dry = runner.run_import("fake", [corpus], dry_run=True, **common)  # type: ignore[arg-type]
    assert (dry.read, dry.generated, dry.kept, dry.added) == (5, 4, 3, 0)
    assert dry.dropped == {"duplicate": 1, "malformed record": 1}
    assert dry.malformed == ["corpus.txt:3: empty line"]
    assert items_in(fresh_database_url) == before
    first = runner.run_import("fake", [corpus], **common)  # type: ignore[arg-type]
    assert first.added == 3
    assert first.per_skill == {"en.past_continuous": 3}
    assert first.per_type == {"correction": 3}
    again = runner.run_import("fake", [corpus], **common)  # type: ignore[arg-type]
    assert (again.kept, again.added) == (3, 0)
    assert items_in(fresh_database_url) == before + 3
    limited = runner.run_import("fake", [corpus], limit=1, dry_run=True, **common)  # type: ignore[arg-type]
    assert limited.kept == 1
    engine.dispose()


@pytest.mark.parametrize(
    ("fmt", "language", "path", "message"),
    [
        ("nope", "en", None, "unknown format 'nope'"),
        ("fake", "fr", None, "unknown language 'fr'"),
        ("fake", "en", "missing.txt", "not a readable file"),
    ],
)
def test_runner_refuses_to_start_and_writes_nothing(
    fresh_database_url: str, corpus: Path, fmt: str, language: str, path: str | None, message: str
) -> None:
    engine = make_engine(fresh_database_url)
    before = items_in(fresh_database_url)
    target = corpus if path is None else corpus.parent / path
    with pytest.raises(runner.ImportFailed, match=message):
        runner.run_import(
            fmt,
            [target],
            language=language,
            sessions=session_factory(engine),
            source="F",
            licence="CC0",
            now=T0,
        )
    assert items_in(fresh_database_url) == before
    engine.dispose()
