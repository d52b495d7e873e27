"""The `pairs` importer: BLiMP, RuBLiMP and RuCoLA to judgement and choice items."""

from __future__ import annotations

import csv
import itertools
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.content.bank import Bank
from hyperlearn.content.importing import pairs
from hyperlearn.content.importing.base import Candidate, ImportRun
from hyperlearn.content.importing.runner import ImportFailed
from hyperlearn.content.importing.verifier import verify
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import GAP, ItemType, Language
from tests.conftest import require_shared_data

SOURCE_LANGUAGE = {"blimp": Language.EN, "rublimp": Language.RU, "rucola": Language.RU}
RUBLIMP_HEADER = [
    "id",
    "source_sentence",
    "target_sentence",
    "source_word",
    "target_word",
    "level",
    "phenomenon",
    "PID",
    "subtype",
    "domain",
    "tree_depth",
]


def collect(
    paths: Sequence[Path], language: Language, bank: Bank, limit: int | None = None
) -> tuple[ImportRun, list[Candidate]]:
    """What the runner does, without a database: generate, drop duplicates, verify."""
    run = ImportRun(language, bank.graphs[language], bank.topics, "test", "CC0", limit)
    kept: list[Candidate] = []
    seen: set[str] = set()
    for candidate in pairs.generate(paths, run):
        run.generated += 1
        if candidate.item.id in seen:
            run.drop("duplicate")
            continue
        reason = verify(candidate, bank.graphs[language], bank.topics)
        if reason is not None:
            run.drop(f"verifier: {reason}")
            continue
        seen.add(candidate.item.id)
        run.kept += 1
        kept.append(candidate)
        if run.exhausted:
            break
    return run, kept


def blimp_line(good: str, bad: str, uid: str, pair_id: int) -> str:
    record = {
        "sentence_good": good,
        "sentence_bad": bad,
        "field": "morphology",
        "linguistics_term": "x",
        "UID": uid,
        "pairID": str(pair_id),
    }
    return json.dumps(record) + "\n"


def write_rublimp(path: Path, rows: list[tuple[str, str, str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RUBLIMP_HEADER)
        for number, (good, bad, good_word, bad_word, pid) in enumerate(rows, start=1):
            writer.writerow([number, good, bad, good_word, bad_word, "", "", pid, pid, "x", 2])
    return path


# --- the phenomenon -> skill map --------------------------------------------------------------


def test_every_mapped_skill_exists(bank: Bank) -> None:
    rules = pairs.skill_rules()
    assert set(rules) == {"blimp", "rublimp", "rucola"}
    for source, phenomena in rules.items():
        graph = bank.graphs[SOURCE_LANGUAGE[source]]
        for phenomenon, phenomenon_rules in phenomena.items():
            assert phenomenon_rules, phenomenon
            for rule in phenomenon_rules:
                assert rule.skill in graph, (source, phenomenon, rule.skill)
                assert rule.conjugation in (0, 1, 2)
    assert len(rules["blimp"]) >= 10
    assert len(rules["rublimp"]) >= 15


def test_mapped_phenomena_exist_in_the_sources() -> None:
    blimp = require_shared_data("corpora/en/blimp")
    rublimp = require_shared_data("corpora/ru/rublimp")
    rules = pairs.skill_rules()
    assert {p.stem for p in blimp.glob("*.jsonl")} >= set(rules["blimp"])
    assert {p.stem for p in rublimp.glob("*.csv")} >= set(rules["rublimp"])


@pytest.mark.parametrize(
    ("good", "bad", "span"),
    [
        ("Tom sees this cat.", "Tom sees these cat.", ("this", "these")),
        ("A niece hasn't left.", "A niece haven't left.", ("hasn't", "haven't")),
        ("Он пришёл домой.", "Он пришла домой.", ("пришёл", "пришла")),
        ("Who did Tom see?", "Who Tom did see?", ("did Tom", "Tom did")),
        ("Tom left.", "Tom has left.", None),  # an insertion is no gap
        ("Tom left.", "Tom left.", None),
    ],
)
def test_diff_finds_the_one_differing_span(
    good: str, bad: str, span: tuple[str, str] | None
) -> None:
    found = pairs.diff(good, bad)
    if span is None:
        assert found is None
        return
    assert found is not None
    assert (found.right, found.wrong) == span
    assert good[: found.start] + found.right + good[found.end :] == good
    assert bad.replace(found.wrong, found.right, 1) == good


# --- BLiMP --------------------------------------------------------------------------------------


def test_blimp_pairs_make_judgements_and_provable_choices(tmp_path: Path, bank: Bank) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        blimp_line(
            "Raymond is selling this old sketch.",
            "Raymond is selling these old sketch.",
            "determiner_noun_agreement_with_adj_2",
            0,
        )
        + blimp_line(
            "The painting of those vases was disturbing Rachel.",
            "The painting of those vases were disturbing Rachel.",
            "distractor_agreement_relational_noun",
            1,
        )
        + blimp_line(
            "Paula references the old report.",
            "Paula reference the old report.",
            "regular_plural_subject_verb_agreement_1",
            2,
        )
        + blimp_line(
            "Who should Derek hug after shocking Richard?",
            "Who should Derek hug Richard after shocking?",
            "adjunct_island",
            3,
        )
        + "{not json\n"
        + blimp_line(
            "The women meet.", "The woman meet.", "irregular_plural_subject_verb_agreement_2", 5
        )
        + json.dumps({"sentence_good": "No bad sentence here."})
        + "\n",
        encoding="utf-8",
    )
    run, kept = collect([path], Language.EN, bank)
    assert run.read == 7
    assert [str(m) for m in run.malformed_records] == [
        "mixed.jsonl:5: not JSON: Expecting property name enclosed in double quotes",
        "mixed.jsonl:7: expected sentence_good, sentence_bad and UID",
    ]
    assert run.dropped["unmapped phenomenon"] == 1
    assert run.dropped["sentence length"] == 1
    assert run.dropped["choice: one wrong form only"] == 1  # references/reference: no 3rd form
    choices = {c.item.text: c.item for c in kept if c.item.type is ItemType.CHOICE}
    assert choices["Raymond is selling ___ old sketch."].answers == ("this",)
    # "those sketch" is as wrong as "these sketch"; "that" would be right, so it is not offered
    assert choices["Raymond is selling ___ old sketch."].distractors == ("these", "those")
    assert choices["The painting of those vases ___ disturbing Rachel."].distractors == (
        "am",
        "were",
    )
    judgements = [c.item for c in kept if c.item.type is ItemType.JUDGEMENT]
    assert len(judgements) == 6
    wrong = next(i for i in judgements if i.text == "Paula reference the old report.")
    assert wrong.answers == ("incorrect",)
    assert wrong.correction == "Paula references the old report."
    assert wrong.skills == ("en.subject_verb_agreement",)
    assert wrong.provenance.record_id == "mixed.jsonl:2"
    assert wrong.level.rank >= bank.graphs[Language.EN]["en.subject_verb_agreement"].level.rank


@pytest.mark.parametrize(
    ("good", "bad", "extra"),
    [
        ("Tom sees this cat.", "Tom sees these cat.", "those"),
        ("Tom sees these cats.", "Tom sees that cats.", "this"),
        ("This cat sleeps.", "These cat sleeps.", ""),  # first word: not proved
        ("Tom knows that dogs bark loudly at night.", "Tom knows this dogs bark.", ""),
        ("The dogs are here.", "The dogs is here.", "am"),
        ("I think the dogs are here.", "I think the dogs is here.", ""),  # "I" is there
        ("The dogs have left.", "The dogs has left.", ""),
    ],
)
def test_english_extra_distractor_rules(good: str, bad: str, extra: str) -> None:
    span = pairs.diff(good, bad)
    assert span is not None
    assert pairs._english_extra(good, span) == extra


# --- RuBLiMP ------------------------------------------------------------------------------------


def test_rublimp_family_gives_a_choice_from_annotated_wrong_words(
    tmp_path: Path, bank: Bank
) -> None:
    good = "Но сегодня старика на месте не было."
    a = write_rublimp(
        tmp_path / "genitive_subj_predicate_agreement_number.csv",
        [
            (
                good,
                good.replace("было", "были"),
                "было",
                "были",
                "genitive_subj_predicate_agreement_number",
            )
        ],
    )
    b = write_rublimp(
        tmp_path / "genitive_subj_predicate_agreement_gender.csv",
        [
            (
                good,
                good.replace("было", "был"),
                "было",
                "был",
                "genitive_subj_predicate_agreement_gender",
            )
        ],
    )
    run, kept = collect([a, b], Language.RU, bank)
    choices = [c.item for c in kept if c.item.type is ItemType.CHOICE]
    assert len(choices) == 1
    assert choices[0].text == f"Но сегодня старика на месте не {GAP}."
    assert choices[0].answers == ("было",)
    assert choices[0].distractors == ("был", "были")
    assert choices[0].skills == ("ru.past_tense_gender",)
    # one correct judgement (the second is a duplicate) and two incorrect ones
    assert sorted(c.item.answers[0] for c in kept if c.item.type is ItemType.JUDGEMENT) == [
        "correct",
        "incorrect",
        "incorrect",
    ]
    assert run.dropped["duplicate"] == 1


def test_rublimp_skill_needs_every_reading_to_fit(tmp_path: Path, bank: Bank) -> None:
    path = write_rublimp(
        tmp_path / "adposition_government.csv",
        [
            # "дома": genitive singular or nominative/accusative plural: no guessed skill
            (
                "Я был около дома весь день.",
                "Я был около домом весь день.",
                "дома",
                "домом",
                "adposition_government",
            ),
            (
                "Мы долго говорили о доме вчера.",
                "Мы долго говорили о дом вчера.",
                "доме",
                "дом",
                "adposition_government",
            ),
            (
                "Мы долго говорили о доме вчера.",
                "Мы долго говорили о доме вчера.",
                "доме",
                "доме",
                "adposition_government",
            ),
        ],
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write('99,"Только одно поле"\n')
    run, kept = collect([path], Language.RU, bank)
    assert run.read == 4
    assert run.dropped["form does not fit skill"] == 1, run.dropped
    assert run.dropped["pair sentences are the same"] == 1
    assert [str(m) for m in run.malformed_records] == [
        "adposition_government.csv:5: expected every RuBLiMP column filled"
    ]
    assert {c.item.skills for c in kept} == {("ru.prepositional_case",)}
    assert run.dropped["choice: one wrong form only"] == 1


def test_conjugation_decides_between_the_present_skills(bank: Bank) -> None:
    graph = bank.graphs[Language.RU]
    rules = pairs.skill_rules()["rublimp"]["change_verb_conjugation"]
    assert pairs.pick_skill(rules, "видит", "видет", Language.RU, graph) == (
        "ru.present_second_conjugation"
    )
    # also the perfective future of выходить ("nurse back to health"): not surely present
    assert pairs.pick_skill(rules, "выходит", "выходет", Language.RU, graph) == ""
    assert pairs.pick_skill(rules, "читает", "читаит", Language.RU, graph) == (
        "ru.present_first_conjugation"
    )
    assert pairs.pick_skill(rules, "читал", "читала", Language.RU, graph) == ""


def test_a_pronoun_must_have_a_form_its_skill_names(bank: Bank) -> None:
    """ru.personal_pronouns_cases is about the oblique cases: a nominative "он" is not it."""
    graph = bank.graphs[Language.RU]
    rules = pairs.skill_rules()["rublimp"]["verb_acc_object"]
    assert pairs.pick_skill(rules, "ему", "его", Language.RU, graph) == (
        "ru.personal_pronouns_cases"
    )
    assert pairs.pick_skill(rules, "он", "его", Language.RU, graph) == ""


# --- RuCoLA -------------------------------------------------------------------------------------


def test_rucola_gives_no_item_and_says_why(tmp_path: Path, bank: Bank) -> None:
    path = tmp_path / "in_domain_dev.csv"
    path.write_text(
        "id,sentence,acceptable,error_type,detailed_source\n"
        "0,Мама мыла раму каждый день.,1,0,Rusgram\n"
        '1,"Он прыгнет более выше, чем все.",0,Morphology,USE7\n'
        "2,Этим летом не никуда ездили.,0,Syntax,Rusgram\n"
        "3,Плохая строка.,maybe,0,Rusgram\n",
        encoding="utf-8",
    )
    run, kept = collect([path], Language.RU, bank)
    assert kept == []
    assert run.read == 4
    assert run.dropped["no skill in source"] == 1
    assert run.dropped["unmapped phenomenon"] == 2
    assert [str(m) for m in run.malformed_records] == [
        "in_domain_dev.csv:5: expected id, sentence, acceptable (0/1), error_type"
    ]


# --- bad input ----------------------------------------------------------------------------------


def test_wrong_format_or_language_stops_before_anything(tmp_path: Path, bank: Bank) -> None:
    other = tmp_path / "notes.csv"
    other.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="not a minimal-pair file"):
        collect([other], Language.RU, bank)
    blimp = tmp_path / "x.jsonl"
    blimp.write_text(blimp_line("Tom sees this cat.", "Tom sees these cat.", "x", 0))
    with pytest.raises(ImportFailed, match="BLiMP is en; import it with --lang en"):
        collect([blimp], Language.RU, bank)


def test_cli_import_is_idempotent_and_refuses_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "determiner_noun_agreement_2.jsonl"
    path.write_text(
        blimp_line(
            "Some dog stunned this committee.",
            "Some dog stunned these committee.",
            "determiner_noun_agreement_2",
            0,
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'pairs.sqlite3'}"
    assert runner.invoke(app, ["--db", url, "init"]).exit_code == 0
    command = ["--db", url, "import", "pairs", str(path), "--lang", "en", "--json"]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["kept"] == 3
    assert report["added"] == 3
    assert report["per_type"] == {"choice": 1, "judgement": 2}
    again = json.loads(runner.invoke(app, command).stdout)
    assert again["added"] == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no pair"}\n', encoding="utf-8")
    refused = runner.invoke(app, ["--db", url, "import", "pairs", str(bad), "--lang", "en"])
    assert refused.exit_code == 1


# --- real files ---------------------------------------------------------------------------------

BLIMP_FILES = (
    "determiner_noun_agreement_2.jsonl",
    "determiner_noun_agreement_with_adj_irregular_1.jsonl",
    "distractor_agreement_relational_noun.jsonl",
    "regular_plural_subject_verb_agreement_1.jsonl",
    "irregular_past_participle_verbs.jsonl",
    "adjunct_island.jsonl",
)
RUBLIMP_FILES = (
    "noun_subj_predicate_agreement_gender.csv",
    "noun_subj_predicate_agreement_number.csv",
    "np_agreement_case.csv",
    "verb_ins_object.csv",
    "change_verb_conjugation.csv",
    "anaphor_agreement_gender.csv",
    "change_duration_aspect.csv",
)
RUBLIMP_ROWS = 500


@pytest.fixture(scope="module")
def real_blimp(bank: Bank) -> tuple[ImportRun, list[Candidate]]:
    folder = require_shared_data("corpora/en/blimp")
    return collect([folder / name for name in BLIMP_FILES], Language.EN, bank)


@pytest.fixture(scope="module")
def real_rublimp(
    bank: Bank, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ImportRun, list[Candidate]]:
    """The first RUBLIMP_ROWS pairs of each file (a slice keeps the test fast)."""
    folder = require_shared_data("corpora/ru/rublimp")
    sliced = tmp_path_factory.mktemp("rublimp")
    for name in RUBLIMP_FILES:
        with (folder / name).open(encoding="utf-8", newline="") as source:
            rows = list(itertools.islice(csv.reader(source), RUBLIMP_ROWS + 1))
        with (sliced / name).open("w", encoding="utf-8", newline="") as target:
            csv.writer(target).writerows(rows)
    return collect([sliced / name for name in RUBLIMP_FILES], Language.RU, bank)


def test_real_blimp_import(real_blimp: tuple[ImportRun, list[Candidate]]) -> None:
    run, kept = real_blimp
    assert run.read == 6000
    assert run.malformed_records == []
    assert run.dropped["unmapped phenomenon"] == 1000
    skills = {c.item.primary_skill for c in kept}
    assert skills == {"en.demonstratives", "en.subject_verb_agreement", "en.irregular_past"}
    assert sum(c.item.type is ItemType.CHOICE for c in kept) >= 500
    assert not any(k.startswith("verifier") for k in run.dropped)


def test_real_rublimp_import(real_rublimp: tuple[ImportRun, list[Candidate]]) -> None:
    run, kept = real_rublimp
    assert run.read == RUBLIMP_ROWS * len(RUBLIMP_FILES)
    assert run.malformed_records == []
    assert len({c.item.primary_skill for c in kept}) >= 6
    assert sum(c.item.type is ItemType.CHOICE for c in kept) >= 5
    assert not any(k.startswith("verifier") for k in run.dropped)


def test_real_rucola_import(bank: Bank) -> None:
    folder = require_shared_data("corpora/ru/rucola")
    run, kept = collect([folder / "in_domain_dev.csv"], Language.RU, bank)
    assert kept == []
    assert run.read == 983
    assert run.malformed_records == []
    assert sum(run.dropped.values()) == 983


def word_pair(candidate: Candidate) -> tuple[str, list[str]] | None:
    """The correct words of the item and the words the source marks wrong in their place."""
    item, evidence = candidate.item, candidate.evidence
    if item.type is ItemType.CHOICE:
        return item.answers[0], list(item.distractors)
    if item.answers == ("incorrect",):
        span = pairs.diff(evidence.gold, evidence.wrong)
        return (span.right, [span.wrong]) if span else None
    return None


def english_lemmas(word: str) -> set[str]:
    from lemminflect import getAllLemmas

    return {lemma.casefold() for ls in getAllLemmas(word.casefold()).values() for lemma in ls}


def english_base(word: str) -> str:
    word = word.casefold()
    return {"won't": "will", "can't": "can"}.get(word, word.removesuffix("n't"))


def english_problem(skill: str, right: str, wrong: list[str]) -> str | None:
    from lemminflect import getInflection

    demonstratives = {"this", "that", "these", "those"}
    right_lemmas = english_lemmas(english_base(right))
    if skill == "en.demonstratives" and right.casefold() in demonstratives:
        return None if {w.casefold() for w in wrong} <= demonstratives else "not a determiner"
    if skill == "en.irregular_past":
        past = {f.casefold() for lemma in right_lemmas for f in getInflection(lemma, "VBD")}
        if right.casefold() not in past:
            return f"{right} is not a past tense (lemminflect)"
    for w in wrong:
        if w == "am" and "be" in right_lemmas:
            continue  # the rule-made distractor: a form of "be" too
        if not right_lemmas & english_lemmas(english_base(w)):
            return f"{w} is not a form of the lemma of {right} (lemminflect)"
    return None


def russian_problem(bank: Bank, skill_id: str, right: str, wrong: list[str]) -> str | None:
    analyzer = russian_analyzer()
    parses = analyzer.parse(right.casefold())
    skill = bank.graphs[Language.RU][skill_id]
    if skill.answer_grammemes and not any(
        set(alternative) <= p.tag.grammemes
        for p in parses
        for alternative in skill.answer_grammemes
    ):
        return f"{right} lacks the form of {skill_id}"
    if skill_id == "ru.relative_kotoryj" and not any(p.normal_form == "который" for p in parses):
        return f"{right} is not который"
    if skill_id == "ru.aspect_pairs":
        return None if any("impf" in p.tag for p in parses) else f"{right} is not imperfective"
    lemmas = {p.normal_form.replace("ё", "е") for p in parses}
    for w in wrong:
        wrong_lemmas = {p.normal_form.replace("ё", "е") for p in analyzer.parse(w.casefold())}
        known = analyzer.word_is_known(w.casefold())
        if known and not lemmas & wrong_lemmas:
            return f"{w} is not a form of the lemma of {right}"
    return None


def test_200_random_kept_items_pass_again_and_the_morphology_engines(
    bank: Bank,
    real_blimp: tuple[ImportRun, list[Candidate]],
    real_rublimp: tuple[ImportRun, list[Candidate]],
) -> None:
    """Drawn from both real imports: the verifier again, then lemminflect / pymorphy3 on the
    words that differ, independently of how the builder chose the skill."""
    rng = random.Random(2026)
    sample = rng.sample(real_blimp[1], 100) + rng.sample(real_rublimp[1], 100)
    problems: list[tuple[str, Any]] = []
    for candidate in sample:
        item = candidate.item
        reason = verify(candidate, bank.graphs[item.language], bank.topics)
        if reason:
            problems.append((item.id, reason))
            continue
        found = word_pair(candidate)
        if found is None:
            continue
        right, wrong = found
        if item.language is Language.EN:
            problem = english_problem(item.primary_skill, right, wrong)
        else:
            problem = russian_problem(bank, item.primary_skill, right, wrong)
        if problem:
            problems.append((item.provenance.record_id, problem))
    assert problems == []
