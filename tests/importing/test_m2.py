"""The M2 (GEC) importer: every rule on small hand-made files, then the real corpora (CWEB and
ReLCo under ../shared/data), re-checked item by item with the verifier and, independently of the
builder, with the morphology engines."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.content.bank import Bank
from hyperlearn.content.importing import m2
from hyperlearn.content.importing.base import Candidate, ImportRun
from hyperlearn.content.importing.runner import ImportFailed, run_import
from hyperlearn.content.importing.verifier import verify
from hyperlearn.content.morphology import english_inflections, russian_analyzer
from hyperlearn.core import GAP, ItemType, Language, SkillGraph, normalize
from hyperlearn.core.grading import tokenize
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.store.models import ItemRow
from tests.conftest import T0, require_shared_data

EN, RU = Language.EN, Language.RU
CWEB = "corpora/en/cweb-nc"
RELCO = "corpora/ru/relco/errors_tagged.m2"


def write(tmp_path: Path, text: str, name: str = "test.m2") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def build(bank: Bank, path: Path, language: Language = EN) -> tuple[list[Candidate], ImportRun]:
    """Generate, then verify like the runner; every candidate here must pass."""
    run = ImportRun(language, bank.graphs[language], bank.topics, "Test corpus", "CC0")
    made = list(m2.generate([path], run))
    for candidate in made:
        assert verify(candidate, bank.graphs[language], bank.topics) is None, candidate.item
    return made, run


def of_type(made: list[Candidate], item_type: ItemType) -> list[Candidate]:
    return [c for c in made if c.item.type is item_type]


def a_line(start: int, end: int, error: str, correction: str, annotator: int = 0) -> str:
    return f"A {start} {end}|||{error}|||{correction}|||REQUIRED|||-NONE-|||{annotator}"


NOOP = "A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||{}"

# ----------------------------------------------------------------------------------- parsing


def test_one_edit_gives_correction_judgements_and_choice(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S I go to the cinema with my friends yesterday .\n"
        + a_line(1, 2, "R:VERB:TENSE", "went")
        + "\n\n",
    )
    made, run = build(bank, path)
    wrong = "I go to the cinema with my friends yesterday."
    gold = "I went to the cinema with my friends yesterday."
    assert [c.item.type for c in made] == [
        ItemType.CORRECTION,
        ItemType.JUDGEMENT,
        ItemType.CHOICE,
        ItemType.JUDGEMENT,
    ]
    correction, incorrect, choice, correct = (c.item for c in made)
    assert (correction.text, correction.answers) == (wrong, (gold,))
    assert (incorrect.text, incorrect.answers, incorrect.correction) == (
        wrong,
        ("incorrect",),
        gold,
    )
    assert choice.text == f"I {GAP} to the cinema with my friends yesterday."
    assert choice.answers == ("went",)
    assert choice.distractors == ("go", "going", "gone")  # the learner's word first
    assert (correct.text, correct.answers) == (gold, ("correct",))
    assert {c.item.primary_skill for c in made} == {"en.irregular_past"}
    assert all(c.evidence.gold == gold for c in made)
    assert {c.item.provenance.record_id for c in made} == {"test.m2:1"}
    assert {c.item.provenance.source for c in made} == {"Test corpus"}
    assert run.read == 1
    assert not run.dropped


def test_only_the_items_edit_is_left_wrong(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S She have a apple in her big bag .\n"
        + a_line(1, 2, "R:VERB:SVA", "has")
        + "\n"
        + a_line(2, 3, "R:DET", "an")
        + "\n",
    )
    made, run = build(bank, path)
    corrections = {c.item.primary_skill: c.item for c in of_type(made, ItemType.CORRECTION)}
    assert corrections["en.third_person_s"].text == "She have an apple in her big bag."
    assert corrections["en.articles_a_an"].text == "She has a apple in her big bag."
    gold = "She has an apple in her big bag."
    assert all(i.answers == (gold,) for i in corrections.values())
    # one "correct" judgement per sentence, under the first kept edit's skill
    correct = [c.item for c in of_type(made, ItemType.JUDGEMENT) if c.item.answers == ("correct",)]
    assert [(i.text, i.primary_skill) for i in correct] == [(gold, "en.third_person_s")]
    # "a" -> "an" has no inflection: the learner's "a" is the only distractor
    assert run.dropped == {m2.CHOICE_FEW: 1}


def test_malformed_records_are_reported_and_skipped(bank: Bank, tmp_path: Path) -> None:
    good = "S I go to the cinema with my friends yesterday .\n" + a_line(
        1, 2, "R:VERB:TENSE", "went"
    )
    path = write(
        tmp_path,
        "\n\n".join(
            [
                good,
                "S We is happy to see you here today .\nA 1 2|||R:VERB:SVA|||are",  # 3 fields
                "S We is happy to see you here today .\n"
                + a_line(1, 2, "R:VERB:SVA", "are").replace("1 2", "x 2"),
                "S We is happy to see you here today .\n" + a_line(1, 40, "R:VERB:SVA", "are"),
                a_line(1, 2, "R:VERB:SVA", "are"),  # no S line
                "S We is happy to see you here today .\nB what is this",
                good.replace("cinema", "theatre"),
            ]
        )
        + "\n",
    )
    made, run = build(bank, path)
    assert run.read == 7
    assert [str(m) for m in run.malformed_records] == [
        "test.m2:5: expected 6 fields separated by '|||', found 3",
        "test.m2:8: bad span 'x 2'",
        "test.m2:11: span 1 40 is outside the sentence (9 tokens)",
        "test.m2:13: annotation without a sentence (S line)",
        "test.m2:16: expected an 'S' or 'A' line",
    ]
    assert run.dropped["malformed record"] == 5
    assert {c.item.provenance.record_id for c in made} == {"test.m2:1", "test.m2:18"}


def test_a_file_that_is_not_m2_stops_the_import_and_writes_nothing(
    fresh_database_url: str, tmp_path: Path
) -> None:
    conllu = write(tmp_path, "# sent_id = 1\n1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n", "x.conllu")
    good = write(
        tmp_path,
        "S I go to the cinema with my friends yesterday .\n"
        + a_line(1, 2, "R:VERB:TENSE", "went")
        + "\n",
    )
    engine = make_engine(fresh_database_url)
    with session_factory(engine)() as session:
        before = session.scalar(select(func.count()).select_from(ItemRow))
    with pytest.raises(ImportFailed, match="not an M2 file"):
        run_import(
            "m2",
            [good, conllu],
            language="en",
            sessions=session_factory(engine),
            source="T",
            licence="CC0",
            now=T0,
        )
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(ItemRow)) == before
    engine.dispose()


# -------------------------------------------------------------------------- dropping rules


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        # noop: nothing to learn, counted once per annotation
        ("S We listen to your story every day .\n" + NOOP.format(0), m2.NOOP),
        # casing only (the grader ignores case)
        (
            "S Biographies top the new york Times lists every week .\n"
            + a_line(3, 4, "R:ORTH", "New"),
            m2.PUNCTUATION_OR_CASING,
        ),
        # punctuation only, and no skill covers M:PUNCT
        (
            "S Factor in age and mileage and it is clear .\n" + a_line(3, 3, "M:PUNCT", ","),
            m2.PUNCTUATION_OR_CASING,
        ),
        # a type the graph lists as unmapped
        (
            "S I would like to recieve your letter soon .\n" + a_line(4, 5, "R:SPELL", "receive"),
            m2.UNMAPPED,
        ),
        # two edits of one annotator on the same words
        (
            "S She have a apple in her big bag .\n"
            + a_line(1, 2, "R:VERB:SVA", "has")
            + "\n"
            + a_line(1, 3, "R:OTHER", "has an"),
            m2.OVERLAPPING,
        ),
        # too short for an exercise
        ("S He go home .\n" + a_line(1, 2, "R:VERB:SVA", "goes"), "sentence length"),
    ],
)
def test_drop_rules(bank: Bank, tmp_path: Path, block: str, reason: str) -> None:
    made, run = build(bank, write(tmp_path, block + "\n"))
    assert made == []
    assert run.dropped[reason] >= 1
    assert set(run.dropped) == {reason}


def test_a_missing_word_gives_no_choice(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S The biggest problem with lesson was the metric system .\n"
        + a_line(4, 4, "M:DET", "the")
        + "\n",
    )
    made, run = build(bank, path)
    assert of_type(made, ItemType.CHOICE) == []
    assert run.dropped == {m2.CHOICE_SHAPE: 1}
    correction = of_type(made, ItemType.CORRECTION)[0].item
    assert correction.primary_skill == "en.articles_the"
    assert correction.answers == ("The biggest problem with the lesson was the metric system.",)


# ------------------------------------------------------------------------- several annotators


def test_every_annotators_correction_is_accepted(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S She have a apple in her big bag .\n"
        + "\n".join(
            [
                a_line(1, 2, "R:VERB:SVA", "has"),
                a_line(2, 3, "R:DET", "an"),
                a_line(1, 2, "R:VERB:SVA", "has got", 1),
                a_line(2, 3, "R:DET", "an", 1),
            ]
        )
        + "\n",
    )
    made, _ = build(bank, path)
    correction = next(
        c.item
        for c in of_type(made, ItemType.CORRECTION)
        if c.item.primary_skill == "en.third_person_s"
    )
    assert correction.answers == (
        "She has an apple in her big bag.",
        "She has got an apple in her big bag.",
    )


def test_another_annotators_word_is_never_a_distractor(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S Yesterday I go to the cinema with my friends .\n"
        + a_line(2, 3, "R:VERB:TENSE", "went")
        + "\n"
        + a_line(2, 3, "R:VERB:TENSE", "was going", 1)
        + "\n",
    )
    made, _ = build(bank, path)
    choice = of_type(made, ItemType.CHOICE)[0].item
    assert choice.answers == ("went",)
    assert "was going" not in choice.distractors
    assert "going" in choice.distractors  # the other inflections are still there


def test_an_error_one_annotator_did_not_see_is_dropped(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S We will meet at Monday next week , I think .\n"
        + a_line(3, 4, "R:PREP", "on")
        + "\n"
        + NOOP.format(1)
        + "\n",
    )
    made, run = build(bank, path)
    assert made == []
    assert run.dropped == {m2.DISAGREE: 1, m2.NOOP: 1}


def test_a_sentence_with_errors_left_unresolved_is_dropped(bank: Bank, tmp_path: Path) -> None:
    # Both mark "go"; annotator 0 also fixes "a", annotator 1 also fixes "friend": whichever
    # annotator's sentence the item takes, the other saw one more error in it.
    path = write(
        tmp_path,
        "S Yesterday I go to a cinema with my friend .\n"
        + "\n".join(
            [
                a_line(2, 3, "R:VERB:TENSE", "went"),
                a_line(4, 5, "R:DET", "the"),
                a_line(2, 3, "R:VERB:TENSE", "went", 1),
                a_line(8, 9, "R:NOUN:NUM", "friends", 1),
            ]
        )
        + "\n",
    )
    made, run = build(bank, path)
    assert made == []
    assert run.dropped == {m2.UNRESOLVED: 1, m2.DISAGREE: 2}


def test_the_annotator_who_saw_every_error_gives_the_sentence(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S Yesterday I go to the cinema with my friend .\n"
        + "\n".join(
            [
                a_line(2, 3, "R:VERB:TENSE", "went"),
                a_line(2, 3, "R:VERB:TENSE", "went", 1),
                a_line(8, 9, "R:NOUN:NUM", "friends", 1),
            ]
        )
        + "\n",
    )
    made, run = build(bank, path)
    assert {c.item.text for c in of_type(made, ItemType.CORRECTION)} == {
        "Yesterday I go to the cinema with my friends."
    }
    # no "correct" judgement: annotator 0 thinks "friend" is fine, 1 does not
    assert all(c.item.answers != ("correct",) for c in made)
    assert run.dropped == {m2.DISAGREE: 1}


# ------------------------------------------------------------------------------ skill choice


@pytest.mark.parametrize(
    ("tokens", "edit", "skill"),
    [
        (
            "At nine last night we watched the match on TV .",
            (5, 6, "R:VERB:TENSE", "were watching"),
            "en.past_continuous",
        ),
        (
            "I go to the cinema with my friends yesterday .",
            (1, 2, "R:VERB:TENSE", "went"),
            "en.irregular_past",
        ),
        (
            "I walk to the cinema with my friends yesterday .",
            (1, 2, "R:VERB:TENSE", "walked"),
            "en.past_simple_regular",
        ),
        ("She have a car and two small dogs .", (1, 2, "R:VERB:SVA", "has"), "en.third_person_s"),
        ("My sister are a nurse in the city hospital .", (2, 3, "R:VERB:SVA", "is"), "en.verb_be"),
        ("She has a apple in her big bag .", (2, 3, "R:DET", "an"), "en.articles_a_an"),
        ("She gave me a book I wanted to read .", (3, 4, "R:DET", "the"), "en.articles_the"),
        (
            "We will meet at Monday next week , I think .",
            (3, 4, "R:PREP", "on"),
            "en.prepositions_time",
        ),
        (
            "She was very interested on the history of art .",
            (4, 5, "R:PREP", "in"),
            "en.dependent_prepositions",
        ),
        (
            "The man which lives next door is a doctor .",
            (2, 3, "R:PRON", "who"),
            "en.relative_clauses_defining",
        ),
        (
            "I have two cat and a small dog at home .",
            (3, 4, "R:NOUN:NUM", "cats"),
            "en.plural_nouns",
        ),
        (
            "This is the most big house in our street .",
            (3, 5, "R:ADJ:FORM", "biggest"),
            "en.superlatives",
        ),
    ],
)
def test_the_skill_fits_the_corrected_words(
    bank: Bank, tmp_path: Path, tokens: str, edit: tuple[int, int, str, str], skill: str
) -> None:
    made, _ = build(bank, write(tmp_path, f"S {tokens}\n{a_line(*edit)}\n"))
    assert {c.item.primary_skill for c in made} == {skill}


def test_no_skill_when_every_mapped_skill_is_ruled_out(bank: Bank, tmp_path: Path) -> None:
    # R:VERB:FORM after a determiner: an adjectival participle, no verb-group skill fits it.
    path = write(
        tmp_path,
        "S It is the reduce section of the wall that has mold .\n"
        + a_line(3, 4, "R:VERB:FORM", "reduced")
        + "\n",
    )
    made, run = build(bank, path)
    assert made == []
    assert run.dropped == {m2.NO_SKILL: 1}


# ------------------------------------------------------------------------------ distractors


@pytest.mark.parametrize(
    ("tokens", "edit", "answer", "distractors"),
    [
        # after a modal only the base form is right
        (
            "You can goes there by bus every morning .",
            (2, 3, "R:VERB:FORM", "go"),
            "go",
            {"goes", "went", "going", "gone"},
        ),
        # after be: never the other participle ("is written" / "is writing" are both grammatical)
        (
            "The letter was write by my old friend .",
            (3, 4, "R:VERB:FORM", "written"),
            "written",
            {"write", "writes", "wrote"},
        ),
        # after have: every form but the past participle
        (
            "She has went to the shop for some bread .",
            (2, 3, "R:VERB:FORM", "gone"),
            "gone",
            {"went", "go", "going", "goes"},
        ),
        # a finite past: no present-tense form (it could be a tense choice), only non-finite ones
        (
            "Last year we visit our friends in London .",
            (3, 4, "R:VERB:TENSE", "visited"),
            "visited",
            {"visit", "visiting"},
        ),
        # be agreement: the other persons and numbers
        (
            "The children is playing in the garden now .",
            (2, 3, "R:VERB:SVA", "are"),
            "are",
            {"is", "been", "am"},
        ),
        # nouns: the other number and a possessive where nothing follows to be possessed
        (
            "I have two cat and a small dog .",
            (3, 4, "R:NOUN:NUM", "cats"),
            "cats",
            {"cat", "cats'"},
        ),
        # pronouns: the other cases of the same person
        ("I gave the book to he after the lesson .", (5, 6, "R:PRON", "him"), "him", {"he", "his"}),
    ],
)
def test_english_distractors(
    bank: Bank,
    tmp_path: Path,
    tokens: str,
    edit: tuple[int, int, str, str],
    answer: str,
    distractors: set[str],
) -> None:
    made, _ = build(bank, write(tmp_path, f"S {tokens}\n{a_line(*edit)}\n"))
    choice = of_type(made, ItemType.CHOICE)[0].item
    assert choice.answers == (answer,)
    assert set(choice.distractors) == distractors


def test_possessives_read_naturally_and_get_no_invented_forms(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S The game increases the learners interest in the whole lesson .\n"
        + a_line(4, 5, "R:NOUN:POSS", "learners '")
        + "\n",
    )
    made, run = build(bank, path)
    correction = of_type(made, ItemType.CORRECTION)[0].item
    assert correction.answers == ("The game increases the learners' interest in the whole lesson.",)
    assert correction.primary_skill == "en.possessives"
    # only the learner's "learners" is left as a distractor: no choice
    assert run.dropped == {m2.CHOICE_FEW: 1}


def test_russian_case_error(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S Мы долго жили в старом город на севере .\n"
        + a_line(5, 6, "R:NOUN:CASE", "городе")
        + "\n",
    )
    made, _ = build(bank, path, RU)
    assert {c.item.primary_skill for c in made} == {"ru.prepositional_case"}
    choice = of_type(made, ItemType.CHOICE)[0].item
    assert choice.text == f"Мы долго жили в старом {GAP} на севере."
    assert choice.answers == ("городе",)
    # the learner's word, then other cases of the same number; never the accusative, which
    # "в" also takes ("в город" = into the city)
    assert choice.distractors == ("город", "города", "городу", "городом")


@pytest.mark.parametrize(
    ("tokens", "edit", "skill"),
    [
        (
            "Я часто думаю о своей старой бабушка и о деде .",
            (6, 7, "R:NOUN:CASE", "бабушке"),
            "ru.prepositional_case",
        ),
        (
            "Вчера я написал длинное письмо моя сестра в Москву .",
            (5, 6, "R:PRON", "моей"),
            "ru.possessive_pronouns",
        ),
        (
            "Мы купили подарки для наших маленьких друзьям вчера .",
            (6, 7, "R:NOUN:CASE", "друзей"),
            "ru.genitive_plural",
        ),
        (
            "Она подарила красивую книгу своему младший брату .",
            (5, 6, "R:ADJ:CASE", "младшему"),
            "ru.adjective_agreement",
        ),
        (
            "Вчера вечером мама долго читал интересную книгу .",
            (4, 5, "R:VERB:GEN", "читала"),
            "ru.past_tense_gender",
        ),
    ],
)
def test_russian_skill_choice(
    bank: Bank, tmp_path: Path, tokens: str, edit: tuple[int, int, str, str], skill: str
) -> None:
    made, _ = build(bank, write(tmp_path, f"S {tokens}\n{a_line(*edit)}\n"), RU)
    assert {c.item.primary_skill for c in made} == {skill}


def test_a_russian_type_that_the_words_do_not_show_is_dropped(bank: Bank, tmp_path: Path) -> None:
    # ReLCo types a misspelling as an aspect error; pymorphy3 sees no aspect pair in it.
    path = write(
        tmp_path,
        "S Ты их не садил , не растил , не имешь права .\n"
        + a_line(9, 10, "R:VERB:ASPECT", "имеешь")
        + "\n",
    )
    made, run = build(bank, path, RU)
    assert made == []
    assert run.dropped == {m2.TYPE_MISFIT: 1}


# --------------------------------------------------------------- files written the other way


SPELLING = [
    ("мы читали эту книгу в школе вчера .", 1, "читале"),
    ("они видели этот фильм в кино вчера .", 1, "виделе"),
    ("дети играли в парке около дома долго .", 1, "игралэ"),
    ("мама готовила обед на кухне весь день .", 1, "готовилэ"),
    ("папа работал в саду около дома утром .", 1, "работалл"),
]


def turned_file(tmp_path: Path, extra: list[str]) -> Path:
    """A ReLCo-like part: the correct text on the S line, learners' answers on the A lines."""
    blocks = [f"S {text}\n{a_line(at, at + 1, 'R:SPELL', answer)}" for text, at, answer in SPELLING]
    return write(tmp_path, "\n\n".join(blocks + extra) + "\n")


def test_a_part_with_learner_answers_on_the_a_lines_is_turned_round(
    bank: Bank, tmp_path: Path
) -> None:
    path = turned_file(
        tmp_path,
        ["S мы долго жили в старом городе на севере .\n" + a_line(5, 6, "R:NOUN:CASE", "город")],
    )
    assert m2.FilePlan.of(path, RU).parts == [(1, True)]
    made, run = build(bank, path, RU)
    correction = of_type(made, ItemType.CORRECTION)[0].item
    assert correction.text == "Мы долго жили в старом город на севере."  # lower-cased source
    assert correction.answers == ("Мы долго жили в старом городе на севере.",)
    assert correction.primary_skill == "ru.prepositional_case"
    assert run.dropped[m2.UNMAPPED] == len(SPELLING)


def test_turned_round_answers_that_may_be_right_are_dropped(bank: Bank, tmp_path: Path) -> None:
    # Revita's "errors" are answers that differ from the text: a tense or a noun's number may
    # be a free choice, so only case/agreement errors of one lexeme are kept.
    path = turned_file(
        tmp_path,
        [
            "S вчера мы долго читали интересную книгу дома .\n"
            + a_line(3, 4, "R:VERB:TENSE", "читаем"),
            "S вчера книги лежали на столе у окна .\n" + a_line(1, 2, "R:NOUN:NUM", "книга"),
        ],
    )
    made, run = build(bank, path, RU)
    assert run.dropped[m2.UNVERIFIED] == 2
    # the text itself is still a correct sentence
    assert [(c.item.type, c.item.answers[0]) for c in made] == [
        (ItemType.JUDGEMENT, "correct"),
        (ItemType.JUDGEMENT, "correct"),
    ]
    assert [c.item.text for c in made] == [
        "Вчера мы долго читали интересную книгу дома.",
        "Вчера книги лежали на столе у окна.",
    ]


def test_turned_round_number_pinned_by_an_adjective_is_kept(bank: Bank, tmp_path: Path) -> None:
    path = turned_file(
        tmp_path,
        ["S новые книги лежали на столе у окна .\n" + a_line(1, 2, "R:NOUN:NUM", "книга")],
    )
    made, run = build(bank, path, RU)
    assert m2.UNVERIFIED not in run.dropped
    correction = of_type(made, ItemType.CORRECTION)[0].item
    assert correction.text == "Новые книга лежали на столе у окна."
    assert correction.primary_skill == "ru.nominative_plural"


def test_turned_round_verb_that_disagrees_with_its_subject_is_kept(
    bank: Bank, tmp_path: Path
) -> None:
    path = turned_file(
        tmp_path,
        [
            "S рыба совсем не клевала сегодня утром у реки .\n"
            + a_line(3, 4, "R:VERB:NUM", "клевали"),
            # no subject in the sentence: the number may be right
            "S вчера долго клевала у нашей реки рыба .\n" + a_line(2, 3, "R:VERB:NUM", "клевали"),
        ],
    )
    made, run = build(bank, path, RU)
    assert run.dropped[m2.UNVERIFIED] == 1
    correction = of_type(made, ItemType.CORRECTION)[0].item
    assert correction.text == "Рыба совсем не клевали сегодня утром у реки."
    assert correction.primary_skill == "ru.past_tense_gender"


def test_turned_round_text_that_differs_between_copies_is_dropped(
    bank: Bank, tmp_path: Path
) -> None:
    path = turned_file(
        tmp_path,
        [
            "S мы долго жили в старом городе на севере .\n" + a_line(5, 6, "R:NOUN:CASE", "город"),
            # the same text with another learner's answer left in it ("старой")
            "S мы долго жили в старой городе на севере .\n" + NOOP.format(0),
        ],
    )
    made, run = build(bank, path, RU)
    assert made == []
    assert run.dropped[m2.IN_DOUBT] == 1


def test_an_answer_aligned_with_the_wrong_word_is_dropped(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S а вторые используют использует пары ртути и света .\n"
        + a_line(3, 4, "R:ADJ:CASE", "вредные")
        + "\n",
    )
    made, run = build(bank, path, RU)
    assert made == []
    assert run.dropped == {m2.MISALIGNED: 1}


def test_sentences_of_a_paragraph_are_items_of_their_own(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "S Yesterday I go to the cinema with my friends . It was a very good film , "
        "but too long for me .\n" + a_line(2, 3, "R:VERB:TENSE", "went") + "\n",
    )
    made, _ = build(bank, path)
    assert of_type(made, ItemType.CORRECTION)[0].item.text == (
        "Yesterday I go to the cinema with my friends."
    )


# ------------------------------------------------------------------------------ real corpora


def real_candidates(bank: Bank, language: Language, paths: list[Path]) -> Iterator[Candidate]:
    """Kept candidates of a dry import, the runner's way (dedupe, then verify)."""
    run = ImportRun(language, bank.graphs[language], bank.topics, "real", "see SOURCE.txt")
    seen: set[str] = set()
    for candidate in m2.generate(paths, run):
        if candidate.item.id in seen:
            continue
        if verify(candidate, bank.graphs[language], bank.topics) is None:
            seen.add(candidate.item.id)
            yield candidate


@pytest.fixture(scope="module")
def cweb(bank: Bank) -> list[Candidate]:
    paths = sorted(require_shared_data(CWEB).glob("*.m2"))
    return list(real_candidates(bank, EN, paths))


@pytest.fixture(scope="module")
def relco(bank: Bank) -> list[Candidate]:
    return list(real_candidates(bank, RU, [require_shared_data(RELCO)]))


def test_cweb_gives_the_items_the_issue_asks_for(cweb: list[Candidate]) -> None:
    skills = Counter(c.item.primary_skill for c in cweb)
    assert len(cweb) >= 300
    assert len(skills) >= 10
    assert {c.item.type for c in cweb} == set(ItemType) - {ItemType.CLOZE}


def test_relco_gives_the_items_the_issue_asks_for(relco: list[Candidate]) -> None:
    skills = Counter(c.item.primary_skill for c in relco)
    assert len(relco) >= 800
    assert len(skills) >= 6


def changed_span(wrong: str, gold: str, language: Language) -> tuple[list[str], int, int]:
    """The gold tokens and the span of them that differs from the wrong sentence."""
    a = [t.key for t in tokenize(wrong, language)]
    b = [t.key for t in tokenize(gold, language)]
    ops = [op for op in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes() if op[0] != "equal"]
    return b, min(op[3] for op in ops), max(op[4] for op in ops)


def english_form_ok(graph: SkillGraph, skill_id: str, gold: list[str], lo: int, hi: int) -> bool:
    """Some window of the gold sentence holding the changed words matches one of the skill's
    answer_forms patterns, each tagged token an inflection (lemminflect) of one of its lemmas."""
    from lemminflect import getAllLemmas, getAllLemmasOOV

    def lemmas(token: str) -> set[str]:
        found = {lemma for group in getAllLemmas(token).values() for lemma in group}
        for upos in ("VERB", "NOUN", "ADJ"):
            found |= set(getAllLemmasOOV(token, upos).get(upos, ()))
        return found

    def fits(spec: str, token: str) -> bool:
        if spec.isupper():
            return any(token in english_inflections(lemma, spec) for lemma in lemmas(token))
        return token in spec.split("|")

    for start in range(max(0, lo - 3), lo + 1):
        for end in range(hi, min(len(gold), hi + 3) + 1):
            window = gold[start:end]
            for pattern in graph[skill_id].answer_forms:
                if len(pattern) == len(window) and all(map(fits, pattern, window)):
                    return True
    return False


def check_with_morphology(candidate: Candidate, graph: SkillGraph) -> None:
    item, evidence = candidate.item, candidate.evidence
    language = item.language
    skill = graph[item.primary_skill]
    if item.type is ItemType.CHOICE:
        # the gap holds the corrected words; every distractor but the learner's (the first)
        # is another form of the answer's word (Russian: or of the learner's)
        answer = item.answers[0].casefold().split()[-1]
        for distractor in item.distractors[1:]:
            word = distractor.casefold().split()[-1]
            if language is Language.EN:
                from lemminflect import getAllLemmas, getAllLemmasOOV

                def lemmas(token: str) -> set[str]:
                    found = {lemma for group in getAllLemmas(token).values() for lemma in group}
                    for upos in ("VERB", "NOUN"):
                        found |= set(getAllLemmasOOV(token, upos).get(upos, ()))
                    return found | {token.rstrip("'s").rstrip("'")}

                pronouns = {"i", "me", "my", "mine", "he", "him", "his", "she", "her", "hers"}
                pronouns |= {"it", "its", "we", "us", "our", "ours", "they", "them", "their"}
                pronouns |= {"theirs", "you", "your", "yours", "a", "an", "this", "these"}
                pronouns |= {"that", "those"}
                assert (lemmas(word) & lemmas(answer)) or {word, answer} <= pronouns, item
            else:
                # a form of the answer's word, or of the learner's that keeps its error
                analyzer = russian_analyzer()
                learner = item.distractors[0].casefold().split()[-1]
                forms = {p.normal_form for w in (answer, learner) for p in analyzer.parse(w)}
                assert forms & {p.normal_form for p in analyzer.parse(word)}, item
    if item.type is ItemType.CHOICE or (item.type is ItemType.JUDGEMENT and not evidence.wrong):
        return
    gold, lo, hi = changed_span(evidence.wrong, evidence.gold, language)
    if language is Language.EN and skill.answer_forms and hi > lo:
        assert english_form_ok(graph, skill.id, gold, lo, hi), item
    if language is Language.RU and skill.answer_grammemes and hi - lo == 1:
        word = gold[lo]
        analyzer = russian_analyzer()
        if any(p.tag.POS == "PREP" for p in analyzer.parse(word)) and hi < len(gold):
            word = gold[hi]  # a preposition's skill is the case of the word after it
        if analyzer.word_is_known(word):
            assert any(
                alternative <= p.tag.grammemes
                for p in analyzer.parse(word)
                for alternative in skill.answer_grammemes
            ), (item, word)


@pytest.mark.parametrize("corpus", ["cweb", "relco"])
def test_200_random_kept_items_pass_the_verifier_and_the_morphology_engines(
    bank: Bank, request: pytest.FixtureRequest, corpus: str
) -> None:
    kept: list[Candidate] = request.getfixturevalue(corpus)
    sample = random.Random(3).sample(kept, 200)
    for candidate in sample:
        item = candidate.item
        graph = bank.graphs[item.language]
        assert verify(candidate, graph, bank.topics) is None
        assert item.provenance.record_id.split(":")[1].isdigit()
        assert item.primary_skill in graph
        assert not item.hint
        if item.type is ItemType.CORRECTION:
            # only this edit's error is left: the gold differs from it in one place
            gold, lo, hi = changed_span(item.text, item.answers[0], item.language)
            assert normalize(item.answers[0], item.language) == " ".join(gold)
            assert hi - lo <= 6
        check_with_morphology(candidate, graph)


def test_real_drop_reasons(bank: Bank) -> None:
    path = require_shared_data(CWEB) / "CWEB-G.dev.m2"
    run = ImportRun(EN, bank.graphs[EN], bank.topics, "real", "CC BY-NC-SA 4.0")
    for _ in m2.generate([path], run):
        pass
    for reason in (m2.NOOP, m2.DISAGREE, m2.PUNCTUATION_OR_CASING, m2.UNMAPPED):
        assert run.dropped[reason] > 0, reason
    assert run.malformed_records == []


def test_relco_is_read_as_two_parts(bank: Bank) -> None:
    """Its first part is an essay corpus in standard M2; the rest (after a byte-order mark)
    has the Revita exercise text on the S lines and learners' answers on the A lines."""
    plan = m2.FilePlan.of(require_shared_data(RELCO), RU)
    assert [turned for _, turned in plan.parts] == [False, True]


def test_import_into_a_database_and_again(tmp_path: Path) -> None:
    path = require_shared_data(CWEB) / "CWEB-S.dev.m2"
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    cli = CliRunner()
    assert cli.invoke(app, ["--db", url, "init"]).exit_code == 0
    command = ["--db", url, "import", "m2", str(path), "--lang", "en", "--limit", "60"]
    command += ["--source", "CWEB", "--licence", "CC BY-NC-SA 4.0", "--json"]
    first = cli.invoke(app, command)
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["kept"] == 60
    assert report["added"] == 60
    assert report["dropped"][m2.DISAGREE] > 0
    again = json.loads(cli.invoke(app, command).output)
    assert (again["kept"], again["added"]) == (60, 0)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        rows = session.scalars(select(ItemRow).where(ItemRow.source == "CWEB")).all()
        assert len(rows) == 60
        assert {r.licence for r in rows} == {"CC BY-NC-SA 4.0"}
    engine.dispose()
