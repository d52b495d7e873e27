"""The CoNLL-U importer: reading, the matching rules and their drop reasons on hand-made
sentences, and imports of the real UD treebanks in ../shared/data re-checked by the verifier
and, independently of the builder, by the morphology engines."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import conllu as conllu_lib
import pytest
from typer.testing import CliRunner

from hyperlearn.cli import app
from hyperlearn.content.bank import Bank
from hyperlearn.content.importing import conllu as C
from hyperlearn.content.importing.base import Candidate, ImportRun
from hyperlearn.content.importing.runner import ImportFailed
from hyperlearn.content.importing.verifier import verify
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import GAP, Item, ItemType, Language
from tests.conftest import require_shared_data

EN, RU = Language.EN, Language.RU


# ----------------------------------------------------------------------------- helpers


def rows_to_conllu(rows: str, text: str = "") -> str:
    """Compact rows "ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL [MISC]" -> CoNLL-U lines."""
    lines = [f"# text = {text}"] if text else []
    for row in rows.strip().splitlines():
        fields = row.split()
        misc = fields[8] if len(fields) > 8 else "_"
        lines.append("\t".join([*fields[:8], "_", misc]))
    return "\n".join(lines) + "\n\n"


def sentence(rows: str, text: str = "") -> C.Sentence:
    tokens = conllu_lib.parse(rows_to_conllu(rows, text), field_parsers=dict(C._PARSERS))[0]
    return C._sentence(tokens, "test.conllu", 1)


def word(s: C.Sentence, form: str) -> C.Word:
    return next(w for w in s.words if w.form == form)


def gap_of(rule: C.Rule, s: C.Sentence, form: str) -> C.Gap:
    found = rule(s, word(s, form))
    assert isinstance(found, C.Gap), found
    return found


def new_run(bank: Bank, language: Language, limit: int | None = None) -> ImportRun:
    return ImportRun(language, bank.graphs[language], bank.topics, "Test UD", "CC BY-SA 4.0", limit)


def candidates(
    bank: Bank, language: Language, paths: Sequence[Path], limit: int | None = None
) -> tuple[ImportRun, list[Candidate]]:
    run = new_run(bank, language, limit)
    out = []
    for candidate in C.generate(paths, run):
        assert verify(candidate, bank.graphs[language], bank.topics) is None, candidate
        out.append(candidate)
        run.kept += 1
        if run.exhausted:
            break
    return run, out


def write(tmp_path: Path, name: str, *blocks: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(blocks), encoding="utf-8")
    return path


# ------------------------------------------------------------------------- English rules

SHE_WORKS = """
1 She she PRON PRP Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs 2 nsubj
2 works work VERB VBZ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
3 in in ADP IN _ 4 case
4 London London PROPN NNP Number=Sing 2 obl SpaceAfter=No
5 . . PUNCT . _ 2 punct
"""


def test_third_person_s_is_a_choice_without_past_forms() -> None:
    s = sentence(SHE_WORKS)
    gap = gap_of(C.verb_group, s, "works")
    assert gap.skill == "en.third_person_s"
    assert gap.hint == "work"
    assert gap.distractors == ("work", "working")  # never "worked": the past would be right
    assert gap.cloze_drop == "cloze: tense is free without an anchor"


def test_relative_pronoun_subject_takes_the_number_of_its_noun() -> None:
    rows = """
1 Read read VERB VB Mood=Imp|VerbForm=Fin 0 root
2 the the DET DT Definite=Def|PronType=Art 3 det
3 {noun} {lemma} NOUN {tag} Number={number} 1 obj
4 that that PRON WDT PronType=Rel 5 nsubj
5 {verb} follow VERB {vtag} Mood=Ind|Tense=Pres|VerbForm=Fin 3 acl:relcl SpaceAfter=No
6 . . PUNCT . _ 1 punct
"""
    s = sentence(
        rows.format(noun="file", lemma="file", tag="NN", number="Sing", verb="follows", vtag="VBZ")
    )
    assert gap_of(C.verb_group, s, "follows").distractors == ("follow", "following")
    s = sentence(
        rows.format(noun="files", lemma="file", tag="NNS", number="Plur", verb="follow", vtag="VBP")
    )
    gap = gap_of(C.verb_group, s, "follow")
    assert (gap.skill, gap.distractors) == ("en.present_simple", ("follows", "following"))


def test_after_suggest_the_base_form_is_right_too() -> None:
    s = sentence("""
1 I I PRON PRP Case=Nom|Number=Sing|Person=1|PronType=Prs 2 nsubj
2 suggest suggest VERB VBP Mood=Ind|Number=Sing|Person=1|Tense=Pres|VerbForm=Fin 0 root
3 that that SCONJ IN _ 5 mark
4 he he PRON PRP Case=Nom|Gender=Masc|Number=Sing|Person=3|PronType=Prs 5 nsubj
5 works work VERB VBZ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 2 ccomp
6 harder hard ADV RBR Degree=Cmp 5 advmod SpaceAfter=No
7 . . PUNCT . _ 2 punct
""")
    assert C.verb_group(s, word(s, "works")) == "subjunctive possible"


def test_collective_subject_is_dropped() -> None:
    s = sentence("""
1 The the DET DT Definite=Def|PronType=Art 2 det
2 team team NOUN NN Number=Sing 3 nsubj
3 plays play VERB VBZ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
4 very very ADV RB _ 5 advmod
5 well well ADV RB Degree=Pos 3 advmod SpaceAfter=No
6 . . PUNCT . _ 3 punct
""")
    assert C.verb_group(s, word(s, "plays")) == "subject number unclear"


WENT = """
1 We we PRON PRP Case=Nom|Number=Plur|Person=1|PronType=Prs 2 nsubj
2 went go VERB VBD Mood=Ind|Number=Plur|Person=1|Tense=Past|VerbForm=Fin 0 root
3 home home ADV RB _ 2 advmod
4 {when} {when} ADV RB _ 2 advmod SpaceAfter=No
5 . . PUNCT . _ 2 punct
"""


def test_past_simple_cloze_needs_a_past_time_anchor() -> None:
    s = sentence(WENT.format(when="yesterday"))
    gap = gap_of(C.verb_group, s, "went")
    assert gap.skill == "en.irregular_past"
    assert gap.cloze_drop == ""
    assert set(gap.distractors) == {"going", "gone", "go", "goes"}
    s = sentence(WENT.format(when="early"))
    gap = gap_of(C.verb_group, s, "went")
    assert gap.cloze_drop == "cloze: no past time anchor"
    # Without an anchor the present could be right: only forms wrong in any tense remain.
    assert set(gap.distractors) == {"going", "gone", "goes"}


def test_regular_and_irregular_past() -> None:
    assert C._regular_past("stop", "stopped") and C._regular_past("study", "studied")
    assert not C._regular_past("pay", "paid") and not C._regular_past("go", "went")


def test_past_continuous_blanks_the_whole_verb_group() -> None:
    s = sentence("""
1 They they PRON PRP Case=Nom|Number=Plur|Person=3|PronType=Prs 3 nsubj
2 were be AUX VBD Mood=Ind|Number=Plur|Person=3|Tense=Past|VerbForm=Fin 3 aux
3 watching watch VERB VBG Tense=Pres|VerbForm=Part 0 root
4 TV TV NOUN NN Number=Sing 3 obj SpaceAfter=No
5 . . PUNCT . _ 3 punct
""")
    gap = gap_of(C.verb_group, s, "watching")
    assert (gap.skill, gap.first, gap.last, gap.hint) == ("en.past_continuous", 2, 3, "watch")
    assert C.span_text(s, gap.first, gap.last) == "were watching"
    # Not "were watches" / "were watch": watch is also a noun ("they were watches" parses).
    assert gap.distractors == ("was watching", "been watching", "be watching")
    assert gap.cloze_drop == "cloze: tense is free without an anchor"


def test_base_form_after_did_is_a_cloze_even_though_it_equals_the_hint() -> None:
    s = sentence("""
1 Did do AUX VBD Mood=Ind|Tense=Past|VerbForm=Fin 3 aux
2 you you PRON PRP Case=Nom|Person=2|PronType=Prs 3 nsubj
3 see see VERB VB VerbForm=Inf 0 root
4 the the DET DT Definite=Def|PronType=Art 5 det
5 match match NOUN NN Number=Sing 3 obj SpaceAfter=No
6 ? ? PUNCT . _ 3 punct
""")
    gap = gap_of(C.verb_group, s, "see")
    assert gap.skill == "en.past_simple_questions"
    assert (gap.first, gap.last, gap.cloze_drop, gap.copy_ok) == (3, 3, "", True)
    assert gap.distractors == ("saw", "sees", "seeing")


def test_modal_keeps_the_modal_and_blanks_the_base_form() -> None:
    s = sentence("""
1 You you PRON PRP Case=Nom|Person=2|PronType=Prs 3 nsubj
2 must must AUX MD VerbForm=Fin 3 aux
3 leave leave VERB VB VerbForm=Inf 0 root
4 now now ADV RB _ 3 advmod SpaceAfter=No
5 . . PUNCT . _ 3 punct
""")
    gap = gap_of(C.verb_group, s, "leave")
    assert gap.skill == "en.modals_obligation"
    assert gap.cloze_drop == "cloze: the modal is not given by the hint"
    assert gap.distractors[:3] == ("leaves", "leaving", "left")


BRIDGE = """
1 The the DET DT Definite=Def|PronType=Art 2 det
2 bridge bridge NOUN NN Number=Sing 4 nsubj:pass
3 was be AUX VBD Mood=Ind|Number=Sing|Person=3|Tense=Past|VerbForm=Fin 4 aux:pass
4 built build VERB VBN Tense=Past|VerbForm=Part|Voice=Pass 0 root
5 in in ADP IN _ 6 case
6 1890 1890 NUM CD NumForm=Digit|NumType=Card 4 obl SpaceAfter=No
7 . . PUNCT . _ 4 punct
"""


def test_past_passive_with_a_year() -> None:
    s = sentence(BRIDGE)
    gap = gap_of(C.verb_group, s, "built")
    assert (gap.skill, C.span_text(s, gap.first, gap.last)) == ("en.passive_basic", "was built")
    assert gap.cloze_drop == ""
    # Never "were built" for a singular subject: "if the bridge were built" is right.
    assert gap.distractors == ("been built", "be built")


def test_contraction_inside_the_group_is_dropped() -> None:
    s = sentence(
        """
1-2 I've _ _ _ _ _ _
1 I I PRON PRP Case=Nom|Number=Sing|Person=1|PronType=Prs 3 nsubj
2 've have AUX VBP Mood=Ind|Number=Sing|Person=1|Tense=Pres|VerbForm=Fin 3 aux
3 seen see VERB VBN Tense=Past|VerbForm=Part 0 root
4 it it PRON PRP Case=Acc|Gender=Neut|Number=Sing|Person=3|PronType=Prs 3 obj
5 twice twice ADV RB _ 3 advmod SpaceAfter=No
6 . . PUNCT . _ 3 punct
""",
    )
    gap = gap_of(C.verb_group, s, "seen")
    assert C.gap_problem(s, gap) == "gap inside a contraction"
    assert C.render(s) == "I've seen it twice."


def test_gerund_and_infinitive_after_verbs_that_take_one_pattern() -> None:
    s = sentence("""
1 I I PRON PRP Case=Nom|Number=Sing|Person=1|PronType=Prs 2 nsubj
2 enjoy enjoy VERB VBP Mood=Ind|Number=Sing|Person=1|Tense=Pres|VerbForm=Fin 0 root
3 reading read VERB VBG VerbForm=Ger 2 xcomp
4 books book NOUN NNS Number=Plur 3 obj SpaceAfter=No
5 . . PUNCT . _ 2 punct
""")
    gap = gap_of(C.en_gerund_infinitive, s, "reading")
    assert (gap.skill, gap.hint, gap.cloze_drop) == ("en.gerund_infinitive", "read", "")
    assert gap.distractors[0] == "to read"
    s = sentence("""
1 She she PRON PRP Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs 2 nsubj
2 decided decide VERB VBD Mood=Ind|Number=Sing|Person=3|Tense=Past|VerbForm=Fin 0 root
3 to to PART TO _ 4 mark
4 leave leave VERB VB VerbForm=Inf 2 xcomp
5 early early ADV RB Degree=Pos 4 advmod SpaceAfter=No
6 . . PUNCT . _ 2 punct
""")
    gap = gap_of(C.en_gerund_infinitive, s, "leave")
    assert C.span_text(s, gap.first, gap.last) == "to leave"
    assert gap.distractors[:2] == ("leaving", "to leaving")


CHEAPER = """
1 This this DET DT Number=Sing|PronType=Dem 2 det
2 phone phone NOUN NN Number=Sing 4 nsubj
3 is be AUX VBZ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 4 cop
4 cheaper cheap ADJ JJR Degree=Cmp 0 root
5 than than ADP IN _ 7 case
6 that that DET DT Number=Sing|PronType=Dem 7 det
7 one one NOUN NN Number=Sing 4 obl SpaceAfter=No
8 . . PUNCT . _ 4 punct
"""


def test_comparative_needs_than() -> None:
    s = sentence(CHEAPER)
    gap = gap_of(C.en_comparison, s, "cheaper")
    assert (gap.skill, gap.cloze_drop, gap.distractors) == (
        "en.comparatives",
        "",
        ("cheap", "cheapest"),
    )
    s = sentence(CHEAPER.replace("5 than than ADP IN _ 7 case", "5 for for ADP IN _ 7 case"))
    assert C.en_comparison(s, word(s, "cheaper")) == "comparative without than"


def test_copula_agrees_with_a_clear_subject() -> None:
    gap = gap_of(C.en_be, sentence(CHEAPER), "is")
    assert (gap.skill, gap.distractors) == ("en.verb_be", ("am", "are"))


def test_demonstrative_agrees_with_its_noun() -> None:
    gap = gap_of(C.en_demonstrative, sentence(CHEAPER), "This")
    assert (gap.skill, gap.hint, gap.distractors) == (
        "en.demonstratives",
        "this",
        ("these", "those"),
    )


BOXES = """
1 I I PRON PRP Case=Nom|Number=Sing|Person=1|PronType=Prs 2 nsubj
2 bought buy VERB VBD Mood=Ind|Number=Sing|Person=1|Tense=Past|VerbForm=Fin 0 root
3 {det} {det} NUM CD NumType=Card 4 nummod
4 {noun} {lemma} NOUN NNS Number=Plur 2 obj SpaceAfter=No
5 . . PUNCT . _ 2 punct
"""


def test_plural_nouns_need_a_context_that_forces_the_plural() -> None:
    s = sentence(BOXES.format(det="two", noun="boxes", lemma="box"))
    gap = gap_of(C.en_plural, s, "boxes")
    assert (gap.skill, gap.hint, gap.distractors, gap.choice_drop) == (
        "en.plural_nouns", "box", ("box", "boxs"), ""
    )  # fmt: skip
    s = sentence(BOXES.format(det="two", noun="cars", lemma="car"))
    assert gap_of(C.en_plural, s, "cars").choice_drop  # car -> cars has no second wrong form
    s = sentence(BOXES.replace("nummod", "amod").format(det="new", noun="cars", lemma="car"))
    assert C.en_plural(s, word(s, "cars")) == "plural not forced by context"
    s = sentence(BOXES.format(det="two", noun="sheep", lemma="sheep"))
    assert C.en_plural(s, word(s, "sheep")) is None  # the form is its lemma: nothing to practise


def test_object_pronoun_after_a_verb() -> None:
    s = sentence("""
1 She she PRON PRP Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs 2 nsubj
2 called call VERB VBD Mood=Ind|Number=Sing|Person=3|Tense=Past|VerbForm=Fin 0 root
3 me I PRON PRP Case=Acc|Number=Sing|Person=1|PronType=Prs 2 obj
4 last last ADJ JJ Degree=Pos 5 amod
5 night night NOUN NN Number=Sing 2 obl:tmod SpaceAfter=No
6 . . PUNCT . _ 2 punct
""")
    gap = gap_of(C.en_pronoun, s, "me")
    # Not "mine": "She called mine" is grammatical.
    assert (gap.skill, gap.hint, gap.distractors) == ("en.personal_pronouns", "I", ("I", "my"))


def test_a_or_an_follows_the_sound_of_the_next_word() -> None:
    rows = """
1 He he PRON PRP Case=Nom|Gender=Masc|Number=Sing|Person=3|PronType=Prs 4 nsubj
2 is be AUX VBZ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 4 cop
3 {art} a DET DT Definite=Ind|PronType=Art 4 det
4 {noun} {noun} NOUN NN Number=Sing 0 root SpaceAfter=No
5 . . PUNCT . _ 4 punct
"""
    s = sentence(rows.format(art="an", noun="engineer"))
    gap = gap_of(C.en_article, s, "an")
    assert (gap.skill, gap.hint, gap.choice_drop) == (
        "en.articles_a_an",
        "a",
        "choice: a/an has one alternative",
    )
    s = sentence(rows.format(art="a", noun="university"))
    assert gap_of(C.en_article, s, "a").hint == "a"
    s = sentence(rows.format(art="a", noun="teacher"))
    assert C.en_article(s, word(s, "a")) == "a/an: consonant letter (trivial)"
    s = sentence(rows.format(art="an", noun="teacher"))
    assert C.en_article(s, word(s, "an")) == "a/an: treebank and sound rule disagree"


def test_dependent_preposition_from_the_lexicon() -> None:
    s = sentence("""
1 She she PRON PRP Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs 3 nsubj
2 is be AUX VBZ Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 3 cop
3 interested interested ADJ JJ Degree=Pos 0 root
4 in in ADP IN _ 5 case
5 music music NOUN NN Number=Sing 3 obl SpaceAfter=No
6 . . PUNCT . _ 3 punct
""")
    gap = gap_of(C.en_dependent_preposition, s, "in")
    assert (gap.skill, gap.hint, gap.cloze_drop) == ("en.dependent_prepositions", "", "")
    assert "in" not in gap.distractors


def test_lower_cased_source_is_truecased_and_detokenised() -> None:
    s = sentence(
        """
1 i I PRON PRP Case=Nom|Number=Sing|Person=1|PronType=Prs 3 nsubj
2 'd would AUX MD VerbForm=Fin 3 aux
3 like like VERB VB VerbForm=Inf 0 root
4 a a DET DT Definite=Ind|PronType=Art 5 det
5 flight flight NOUN NN Number=Sing 3 obj
6 to to ADP IN _ 7 case
7 boston Boston PROPN NNP Number=Sing 5 nmod
8 on on ADP IN _ 9 case
9 monday Monday NOUN NN Number=Sing 5 nmod
""",
        text="i 'd like a flight to boston on monday",
    )
    assert s.lowercase and s.detok
    assert C.render(s) == "I'd like a flight to Boston on Monday"


# ------------------------------------------------------------------------- Russian rules

LIVES = """
1 Он он PRON PRP Case=Nom|Gender=Masc|Number=Sing|Person=3 2 nsubj
2 {verb} {lemma} VERB VBC Aspect=Imp|Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
3 в в ADP IN _ 4 case
4 Москве Москва PROPN NNP Animacy=Inan|Case=Loc|Gender=Fem|Number=Sing 2 obl SpaceAfter=No
5 . . PUNCT . _ 2 punct
"""


def test_prepositional_case_after_a_location_verb() -> None:
    s = sentence(LIVES.format(verb="живёт", lemma="жить"))
    gap = gap_of(C.ru_case, s, "Москве")
    assert (gap.skill, gap.hint, gap.cloze_drop) == ("ru.prepositional_case", "Москва", "")
    assert gap.distractors[:3] == ("Москва", "Москву", "Москвы")


def test_v_and_na_without_a_deciding_verb_are_dropped() -> None:
    s = sentence(LIVES.format(verb="пишет", lemma="писать"))  # в газете / в газету
    assert C.ru_case(s, word(s, "Москве")) == "в/на: no verb decides between location and direction"


def test_present_tense_person_and_conjugation() -> None:
    s = sentence(LIVES.format(verb="живёт", lemma="жить"))
    gap = gap_of(C.ru_present, s, "живёт")
    assert gap.skill == "ru.present_first_conjugation"
    assert gap.distractors[:3] == ("живу", "живёшь", "живём")
    assert gap.cloze_drop == "cloze: tense is free without an anchor"


def test_genitive_after_u_with_number_left_open() -> None:
    s = sentence("""
1 У у ADP IN _ 2 case
2 брата брат NOUN NN Animacy=Anim|Case=Gen|Gender=Masc|Number=Sing 3 obl
3 есть быть VERB VBC Aspect=Imp|Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin 0 root
4 новая новый ADJ JJL Case=Nom|Degree=Pos|Gender=Fem|Number=Sing 5 amod
5 машина машина NOUN NN Animacy=Inan|Case=Nom|Gender=Fem|Number=Sing 3 nsubj SpaceAfter=No
6 . . PUNCT . _ 3 punct
""")
    gap = gap_of(C.ru_case, s, "брата")
    assert gap.skill == "ru.genitive_case"
    assert gap.cloze_drop == "cloze: number not fixed by the context"  # у братьев fits too
    assert gap.distractors[:3] == ("брат", "брату", "братом")
    agreement = gap_of(C.ru_agreement, s, "новая")
    assert (agreement.skill, agreement.cloze_drop) == ("ru.adjective_agreement", "")
    assert "новая" not in agreement.distractors and "новый" in agreement.distractors


PAST = """
1 {adv} {adv} ADV RB Degree=Pos 3 advmod
2 {subj} {subj} PRON PRP Case=Nom|Gender=Fem|Number=Sing|Person={person} 3 nsubj
3 работала работать VERB VBC Gender=Fem|Mood=Ind|Number=Sing|Tense=Past|VerbForm=Fin 0 root
4 дома дома ADV RB Degree=Pos 3 advmod SpaceAfter=No
5 . . PUNCT . _ 3 punct
"""


def test_past_tense_agrees_with_a_subject_of_known_gender() -> None:
    s = sentence(PAST.format(adv="Вчера", subj="она", person=3))
    gap = gap_of(C.ru_past, s, "работала")
    assert (gap.skill, gap.cloze_drop) == ("ru.past_tense_gender", "")
    assert gap.distractors == ("работал", "работало", "работали")
    s = sentence(PAST.format(adv="Часто", subj="она", person=3))
    assert gap_of(C.ru_past, s, "работала").cloze_drop == "cloze: no past time anchor"
    s = sentence(PAST.format(adv="Вчера", subj="я", person=1))
    assert C.ru_past(s, word(s, "работала")) == "speaker's gender unknown"


def test_subject_gender_comes_from_the_dictionary_not_the_referent() -> None:
    s = sentence("""
1 Представитель представитель NOUN NN Animacy=Anim|Case=Nom|Gender=Fem|Number=Sing 3 nsubj
2 компании компания NOUN NN Animacy=Inan|Case=Gen|Gender=Fem|Number=Sing 1 nmod
3 заявила заявить VERB VBC Gender=Fem|Mood=Ind|Number=Sing|Tense=Past|VerbForm=Fin 0 root
4 об о ADP IN _ 5 case
5 этом это PRON DT Case=Loc|Gender=Neut|Number=Sing 3 obl SpaceAfter=No
6 . . PUNCT . _ 3 punct
""")
    # A woman spokesperson: "Представитель заявил" would be right too.
    assert C.ru_past(s, word(s, "заявила")) == "subject gender depends on the referent"


def test_noun_after_two_to_four_is_genitive_singular() -> None:
    s = sentence("""
1 Он он PRON PRP Case=Nom|Gender=Masc|Number=Sing|Person=3 2 nsubj
2 купил купить VERB VBC Aspect=Perf|Gender=Masc|Mood=Ind|Number=Sing|Tense=Past|VerbForm=Fin 0 root
3 два два NUM CD Animacy=Inan|Case=Acc|Gender=Masc 4 nummod:gov
4 стола стол NOUN NN Animacy=Inan|Case=Gen|Gender=Masc|Number=Sing 2 obj SpaceAfter=No
5 . . PUNCT . _ 2 punct
""")
    gap = gap_of(C.ru_numeral_noun, s, "стола")
    assert (gap.skill, gap.cloze_drop) == ("ru.numerals_nouns", "")
    assert set(gap.distractors) >= {"стол", "столов"}


def test_pronoun_after_a_preposition_takes_n() -> None:
    s = sentence("""
1 Я я PRON PRP Case=Nom|Number=Sing|Person=1 2 nsubj
2 иду идти VERB VBC Aspect=Imp|Mood=Ind|Number=Sing|Person=1|Tense=Pres|VerbForm=Fin 0 root
3 к к ADP IN _ 4 case
4 нему он PRON PRP Case=Dat|Gender=Masc|Number=Sing|Person=3 2 obl SpaceAfter=No
5 . . PUNCT . _ 2 punct
""")
    gap = gap_of(C.ru_case, s, "нему")
    assert (gap.skill, gap.hint) == ("ru.personal_pronouns_cases", "он")
    assert gap.distractors[0] == "ему"  # right case, but after к it needs н-


# ------------------------------------------------------------------ reading and the run


def test_sentence_level_drops_and_cap(bank: Bank, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.conllu",
        rows_to_conllu(CHEAPER),  # demonstrative, be, comparative: the comparative is chosen
        rows_to_conllu(SHE_WORKS.replace("NNP Number=Sing", "NNP Typo=Yes")),
        rows_to_conllu("1 Hello hello INTJ UH _ 0 root\n2 there there ADV RB _ 1 advmod"),
    )
    run, found = candidates(bank, EN, [path])
    assert run.read == 3
    assert {c.item.primary_skill for c in found} == {"en.comparatives"}
    assert {c.item.type for c in found} == {ItemType.CLOZE, ItemType.CHOICE}
    assert run.dropped["sentence already has its gaps"] == 3  # this, is, that
    assert run.dropped["typo or abbreviation in the sentence"] == 1
    assert run.dropped["no verb"] == 1
    cloze = next(c.item for c in found if c.item.type is ItemType.CLOZE)
    assert cloze.text == f"This phone is {GAP} than that one."
    assert (cloze.answers, cloze.hint, cloze.provenance.record_id) == (
        ("cheaper",), "cheap", "s.conllu:1",
    )  # fmt: skip
    assert found[0].evidence.gold == "This phone is cheaper than that one."


def test_verse_is_dropped_with_or_without_parsing(bank: Bank, tmp_path: Path) -> None:
    verse = "# genre = poetry\n" + rows_to_conllu(PAST.format(adv="Вчера", subj="она", person=3))
    run, found = candidates(bank, RU, [write(tmp_path, "verse.conllu", verse)])
    assert (run.read, found, run.dropped["verse"]) == (1, [], 1)
    tokens = conllu_lib.parse(verse, field_parsers=dict(C._PARSERS))[0]
    assert C.sentence_drop(C._sentence(tokens, "verse.conllu", 1)) == "verse"


def test_malformed_records_are_reported_and_skipped(bank: Bank, tmp_path: Path) -> None:
    bad_id = rows_to_conllu(SHE_WORKS).replace("3\tin\t", "x\tin\t")
    short = "1\tOnly\tonly\tADV\tRB\t_\t0\troot\t_\n\n"  # nine columns
    path = write(tmp_path, "bad.conllu", bad_id, short, rows_to_conllu(BRIDGE))
    run, found = candidates(bank, EN, [path])
    assert [(m.file, m.line) for m in run.malformed_records] == [
        ("bad.conllu", 1),
        ("bad.conllu", 7),
    ]
    assert "not a valid ID" in run.malformed_records[0].message
    assert "9 columns" in run.malformed_records[1].message
    assert run.dropped["malformed record"] == 2
    assert {c.item.primary_skill for c in found} == {"en.passive_basic"}  # the import went on


def test_a_file_that_is_not_conllu_stops_before_anything(bank: Bank, tmp_path: Path) -> None:
    good = write(tmp_path, "good.conllu", rows_to_conllu(BRIDGE))
    m2 = write(
        tmp_path, "x.m2", "S This are wrong .\nA 1 2|||R:VERB:SVA|||is|||REQUIRED|||-NONE-|||0\n"
    )
    with pytest.raises(ImportFailed, match="not a CoNLL-U file"):
        next(C.generate([good, m2], new_run(bank, EN)))


def test_cli_import_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    path = write(tmp_path, "small.conllu", rows_to_conllu(BRIDGE), rows_to_conllu(CHEAPER))
    cli = CliRunner()
    assert cli.invoke(app, ["--db", url, "init"]).exit_code == 0
    args = ["--db", url, "import", "conllu", str(path), "--lang", "en", "--json"]
    first = cli.invoke(app, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["read"] == 2 and report["kept"] == report["added"] == 4
    assert report["per_skill"] == {"en.passive_basic": 2, "en.comparatives": 2}
    again = json.loads(cli.invoke(app, args).stdout)
    assert again["kept"] == 4 and again["added"] == 0


# ------------------------------------------------------------------- the real treebanks


@pytest.fixture(scope="module")
def english(bank: Bank) -> tuple[ImportRun, list[Candidate]]:
    paths = [
        require_shared_data("corpora/en/ud-ewt/en_ewt-ud-dev.conllu"),
        require_shared_data("corpora/en/ud-atis/en_atis-ud-dev.conllu"),
        require_shared_data("corpora/en/ud-pud/en_pud-ud-test.conllu"),
    ]
    return candidates(bank, EN, paths, limit=1500)


@pytest.fixture(scope="module")
def russian(bank: Bank) -> tuple[ImportRun, list[Candidate]]:
    paths = [
        require_shared_data("corpora/ru/ud-gsd/ru_gsd-ud-dev.conllu"),
        require_shared_data("corpora/ru/ud-taiga/ru_taiga-ud-dev.conllu"),
        require_shared_data("corpora/ru/ud-pud/ru_pud-ud-test.conllu"),
    ]
    return candidates(bank, RU, paths, limit=800)


def test_real_english_import(english: tuple[ImportRun, list[Candidate]]) -> None:
    run, found = english
    skills = Counter(c.item.primary_skill for c in found)
    assert len(found) == 1500 and len(skills) >= 15, skills
    assert not run.malformed_records
    atis = [c.item for c in found if c.item.provenance.record_id.startswith("en_atis")]
    assert atis and all(c.text[:1].isupper() or c.text.startswith(GAP) for c in atis)
    assert all(" 'd" not in c.text and " i " not in f" {c.text} " for c in atis)


def test_real_russian_import(russian: tuple[ImportRun, list[Candidate]]) -> None:
    _, found = russian
    skills = Counter(c.item.primary_skill for c in found)
    assert len(found) == 800 and len(skills) >= 8, skills


def _sample(found: list[Candidate], n: int = 200) -> list[Candidate]:
    return random.Random(20260105).sample(found, n)


_EN_VERB_TAGS = {
    "en.third_person_s": ("VBZ",), "en.present_simple": ("VB", "VBP"),
    "en.past_simple_regular": ("VBD",), "en.irregular_past": ("VBD",),
    "en.past_simple_questions": ("VB",), "en.past_continuous": ("VBG",),
    "en.present_continuous": ("VBG",), "en.present_perfect": ("VBN",),
    "en.past_perfect": ("VBN",), "en.present_perfect_continuous": ("VBG",),
    "en.passive_basic": ("VBN",), "en.passive_advanced": ("VBN",),
    "en.will_future": ("VB",), "en.can_ability": ("VB",), "en.modals_obligation": ("VB",),
    "en.modals_deduction": ("VB", "VBN"), "en.future_continuous_perfect": ("VBG", "VBN"),
    "en.gerund_infinitive": ("VBG", "VB"),
}  # fmt: skip
_EN_FIRST_WORD = {
    "en.past_continuous": {"was", "were", "wasn't", "weren't"},
    "en.present_continuous": {"am", "is", "are", "isn't", "aren't"},
    "en.present_perfect": {"have", "has", "haven't", "hasn't"},
    "en.past_perfect": {"had", "hadn't"},
    "en.present_perfect_continuous": {"have", "has", "haven't", "hasn't"},
    "en.passive_basic": {"am", "is", "are", "was", "were", "isn't", "aren't", "wasn't", "weren't"},
}
_PRONOUNS = {"i", "me", "he", "him", "she", "her", "we", "us", "they", "them"}
_POSSESSIVES = {"my", "your", "his", "her", "its", "our", "their"}


def english_morphology_problem(item: Item) -> str | None:
    """Independent of the builder: does lemminflect agree that the answer has the skill's form?"""
    from lemminflect import getInflection

    words = item.answers[0].casefold().split()
    skill, hint = item.primary_skill, item.hint.casefold()
    if skill in _EN_VERB_TAGS:
        forms = {f.casefold() for t in _EN_VERB_TAGS[skill] for f in getInflection(hint, tag=t)}
        if "VB" in _EN_VERB_TAGS[skill]:
            forms.add(hint)
        if words[-1] not in forms:
            return f"{words[-1]!r} is not {_EN_VERB_TAGS[skill]} of {hint!r}"
        if skill in _EN_FIRST_WORD and words[0] not in _EN_FIRST_WORD[skill]:
            return f"{words[0]!r} does not start {skill}"
        if skill == "en.gerund_infinitive" and len(words) == 2 and words[0] != "to":
            return "infinitive without to"
    elif skill == "en.plural_nouns":
        if (
            words[-1] not in {f.casefold() for f in getInflection(hint, tag="NNS")}
            or words[-1] == hint
        ):
            return "not a plural"
    elif skill in ("en.comparatives", "en.superlatives"):
        tag, word = ("JJR", "more") if skill == "en.comparatives" else ("JJS", "most")
        if words != [word, hint] and words[-1] not in {
            f.casefold() for f in getInflection(hint, tag=tag)
        }:
            return f"not {tag} of {hint!r}"
    elif skill == "en.personal_pronouns" and words[0] not in _PRONOUNS:
        return "not a personal pronoun"
    elif skill == "en.possessives" and words[0] not in _POSSESSIVES:
        return "not a possessive"
    elif skill == "en.demonstratives" and words[0] not in {"this", "that", "these", "those"}:
        return "not a demonstrative"
    elif skill == "en.articles_a_an":
        after = item.text.split(GAP, 1)[1].split()[0].casefold()
        if words[0] not in ("a", "an") or (words[0] == "an") != (after[0] in "aeiouh"):
            return "a/an does not fit the next word"
    elif skill in ("en.verb_be", "en.there_is_are") and words[0] not in {
        "am",
        "is",
        "are",
        "was",
        "were",
    }:
        return "not a form of be"
    return None


def test_200_random_english_items_pass_the_verifier_and_lemminflect(
    bank: Bank, english: tuple[ImportRun, list[Candidate]]
) -> None:
    for candidate in _sample(english[1]):
        item = candidate.item
        assert verify(candidate, bank.graphs[EN], bank.topics) is None
        assert english_morphology_problem(item) is None, item
        assert item.provenance.source == "Test UD" and item.provenance.record_id
        filled = item.text.replace(GAP, item.answers[0])
        assert filled == candidate.evidence.gold
        for distractor in item.distractors:
            assert item.text.replace(GAP, distractor) != candidate.evidence.gold


# Russian skill -> grammemes the gold form must have (one alternative), from pymorphy3.
_RU_GRAMMEMES: dict[str, tuple[set[str], ...]] = {
    "ru.prepositional_case": ({"loct"}, {"loc2"}), "ru.genitive_case": ({"gent"}, {"gen2"}),
    "ru.genitive_plural": ({"gent", "plur"},), "ru.dative_case": ({"datv", "sing"},),
    "ru.instrumental_case": ({"ablt", "sing"},), "ru.accusative_case": ({"accs"},),
    "ru.accusative_animate": ({"accs"},), "ru.nominative_plural": ({"nomn", "plur"},),
    "ru.plural_oblique_cases": ({"datv", "plur"}, {"ablt", "plur"}, {"loct", "plur"}),
    "ru.numerals_nouns": ({"gent"},), "ru.past_tense_gender": ({"past"},),
    "ru.conditional_mood": ({"past"},), "ru.present_first_conjugation": ({"pres"},),
    "ru.present_second_conjugation": ({"pres"},), "ru.future_tense": ({"futr"},),
    "ru.adjective_agreement": ({"ADJF"},), "ru.possessive_pronouns": ({"ADJF"},),
    "ru.participles": ({"PRTF"}, {"PRTS"}), "ru.short_adjectives": ({"ADJS"},),
    "ru.comparatives": ({"COMP"},), "ru.verbal_adverbs": ({"GRND"},),
    "ru.personal_pronouns_cases": ({"gent"}, {"datv"}, {"accs"}, {"ablt"}, {"loct"}),
}  # fmt: skip


def russian_morphology_problem(item: Item) -> str | None:
    analyzer = russian_analyzer()
    answer = item.answers[0].casefold()
    parses = analyzer.parse(answer)
    wanted = _RU_GRAMMEMES[item.primary_skill]
    if not any(any(alt <= p.tag.grammemes for alt in wanted) for p in parses):
        return f"{answer!r}: no parse has {wanted}"
    return None


def test_200_random_russian_items_pass_the_verifier_and_pymorphy(
    bank: Bank, russian: tuple[ImportRun, list[Candidate]]
) -> None:
    analyzer = russian_analyzer()
    case_skills = {
        "ru.prepositional_case": {"loct"}, "ru.genitive_case": {"gent"},
        "ru.dative_case": {"datv"}, "ru.instrumental_case": {"ablt"},
        "ru.genitive_plural": {"gent", "plur"},
    }  # fmt: skip
    for candidate in _sample(russian[1]):
        item = candidate.item
        assert verify(candidate, bank.graphs[RU], bank.topics) is None
        assert russian_morphology_problem(item) is None, item
        assert item.text.replace(GAP, item.answers[0]) == candidate.evidence.gold
        case = case_skills.get(item.primary_skill)
        for distractor in item.distractors if case else ():
            # A distractor never has the case the preposition, verb or noun demands.
            assert not any(case <= p.tag.grammemes for p in analyzer.parse(distractor)), item
