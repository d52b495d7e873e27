"""Themed exercises: hand-written templates filled from per-topic lexicons.

A template ("At eight o'clock last night {who} ___ {act.rest}.") names the lexicon categories it
draws from and gives its answer and distractors as recipes ("{who:was} {act:VBG}"). The words in
the gap are never written by hand: the morphology engines inflect the drawn lemmas (`lemminflect`
for English, `pymorphy3` for Russian) and agreement comes from the drawn subject. Every item is
then checked by the importers' verifier against the gold sentence built with the same forms, so
an inflection the engines get wrong, or a distractor that happens to restore the sentence, is
dropped instead of shown. docs/content-format.md describes the file format.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hyperlearn.content.bank import DATA_DIR
from hyperlearn.content.importing.base import Candidate, Evidence
from hyperlearn.content.importing.verifier import verify
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.core import GAP, Item, ItemType, Language, Provenance, SkillGraph, Topic, normalize

SOURCE = "HyperLearn themed templates"
LICENCE = "CC BY-SA 4.0"
MAX_ATTEMPTS = 24  # draws per generate() call before giving up on a pair
MAX_DISTRACTORS = 3
LEMMA_FIELDS = ("verb", "adjective", "noun")  # the field a spec inflects when none is named
_RESERVED = frozenset({"answer", "hint"})  # explanation-only placeholders

# English auxiliaries chosen by the subject's agreement; the starred ones are the wrong choice,
# for distractors ("the players is training").
_EN_AGREEMENT = ("1sg", "3sg", "pl")
_EN_AUX: dict[str, dict[str, str]] = {
    "be": {"1sg": "am", "3sg": "is", "pl": "are"},
    "be*": {"1sg": "are", "3sg": "are", "pl": "is"},
    "was": {"1sg": "was", "3sg": "was", "pl": "were"},
    "was*": {"1sg": "were", "3sg": "were", "pl": "was"},
    "have": {"1sg": "have", "3sg": "has", "pl": "have"},
    "have*": {"1sg": "has", "3sg": "have", "pl": "has"},
}
_EN_TAGS = frozenset({"VB", "VBD", "VBG", "VBN", "VBZ", "NN", "NNS", "JJ", "JJR", "JJS"})
# PRES/PRES*: present simple agreeing (or not) with ~subject; REG: the regular-rule form
# (over-regularised past "winned", plural "childs"); NAIVE: lemma + s ("citys"); CMP/SUP: the
# comparative or superlative a learner must use (-er or more); CMPX/SUPX: a form that is always
# wrong ("more faster", "expensiver").
_EN_PSEUDO = frozenset({"PRES", "PRES*", "REG", "NAIVE", "CMP", "SUP", "CMPX", "SUPX"})
_EN_PRONOUNS = frozenset({"i", "you", "he", "she", "it", "we", "they"})

_RU_AGREEMENT = ("1sg", "2sg", "3sg", "1pl", "2pl", "3pl")
_RU_GENDERS = ("masc", "femn", "neut")
_RU_PRONOUNS = frozenset({"я", "ты", "он", "она", "оно", "мы", "вы", "они"})
# Variant, archaic or substandard forms ("водою") never become an answer.
_RU_MARKED = frozenset({"Arch", "Infr", "Slng", "Erro", "Dist"})
# A case with a second form in some nouns ("в саду", "чашка чаю"): such a noun is refused for it,
# because the plain case form would not be the one a Russian speaker uses there.
_RU_TWIN_CASES = {"loct": "loc2", "gent": "gen2"}

_REF = re.compile(r"\{([^{}]*)\}")
_REF_BODY = re.compile(r"^(=)?([^\W\d][\w]*)(?:\.([a-z_]+))?(?::(.+))?$")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:])")


class ThemeError(ValueError):
    """A themes file that cannot be loaded; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry: its fields as written and flags computed from them."""

    fields: Mapping[str, str]
    flags: frozenset[str]

    @property
    def lemma_field(self) -> str | None:
        return next((f for f in LEMMA_FIELDS if f in self.fields), None)

    def label(self) -> str:
        return self.fields.get("text") or self.fields.get(self.lemma_field or "", "?")


@dataclass(frozen=True, slots=True)
class Ref:
    """One `{...}` of a recipe: a slot's field, an inflection of its lemma, or a literal lemma."""

    slot: str  # "" for a literal lemma ({=быть:futr,~who})
    field: str | None
    lemma: str  # the literal lemma, or ""
    spec: tuple[str, ...]
    agree: tuple[str, str | None] | None  # (slot, field) the form agrees with
    capital: bool


Part = str | Ref
Recipe = tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class SlotSpec:
    category: str
    require: frozenset[str]
    exclude: frozenset[str]

    def accepts(self, entry: Entry) -> bool:
        return self.require <= entry.flags and not self.exclude & entry.flags


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    language: Language
    skill: str
    slots: Mapping[str, SlotSpec]
    text: Recipe
    answer: Recipe
    distractors: tuple[Recipe, ...]
    explanation: Recipe
    types: tuple[ItemType, ...]
    hint: tuple[str, str | None]  # (slot, field) whose lemma is the cloze hint


Assignment = Mapping[str, Entry]
Lexicon = Mapping[str, Mapping[str, tuple[Entry, ...]]]  # topic -> category -> entries


class ThemedGenerator:
    """Builds verified exercises for (skill, topic) pairs from the themes files."""

    def __init__(
        self,
        templates: Mapping[Language, Sequence[Template]],
        lexicons: Mapping[Language, Lexicon],
        files: Mapping[Language, str],
    ) -> None:
        self._templates = templates
        self._lexicons = lexicons
        self._files = files
        # (template id, topic) -> slot -> entries the slot may draw; absent when a slot has none.
        self._pools: dict[tuple[str, str], dict[str, tuple[Entry, ...]]] = {}
        for language, language_templates in templates.items():
            for template in language_templates:
                for topic_id, categories in lexicons.get(language, {}).items():
                    pools = {
                        slot: tuple(e for e in categories.get(spec.category, ()) if spec.accepts(e))
                        for slot, spec in template.slots.items()
                    }
                    if all(pools.values()):
                        self._pools[(template.id, topic_id)] = pools

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> ThemedGenerator:
        templates: dict[Language, list[Template]] = {}
        lexicons: dict[Language, Lexicon] = {}
        files: dict[Language, str] = {}
        for language in Language:
            path = data_dir / "themes" / f"{language}.yaml"
            files[language] = f"themes/{path.name}"
            templates[language], lexicons[language] = _read_file(path, language, files[language])
        return cls(templates, lexicons, files)

    def supports(self, language: Language, skill_id: str, topic_id: str) -> bool:
        return any(
            t.skill == skill_id and (t.id, topic_id) in self._pools
            for t in self._templates.get(language, ())
        )

    def pairs(self, language: Language) -> set[tuple[str, str]]:
        return {
            (t.skill, topic_id)
            for t in self._templates.get(language, ())
            for topic_id in self._lexicons.get(language, {})
            if (t.id, topic_id) in self._pools
        }

    def templates(self, language: Language) -> tuple[Template, ...]:
        return tuple(self._templates.get(language, ()))

    def generate(
        self,
        language: Language,
        skill_id: str,
        topic_id: str,
        rng: random.Random,
        graph: SkillGraph,
        topics: Mapping[str, Topic],
    ) -> Item | None:
        """A verified item, or None when nothing fits or every bounded draw failed."""
        if skill_id not in graph or topic_id not in topics or graph.language is not language:
            return None
        options = [
            (t, self._pools[(t.id, topic_id)])
            for t in self._templates.get(language, ())
            if t.skill == skill_id and (t.id, topic_id) in self._pools
        ]
        if not options:
            return None
        for _ in range(MAX_ATTEMPTS):
            template, pools = options[rng.randrange(len(options))]
            assignment = {slot: pool[rng.randrange(len(pool))] for slot, pool in pools.items()}
            kind = template.types[rng.randrange(len(template.types))]
            built = _build(template, assignment, kind, topic_id, graph)
            if built is None:
                continue
            item, gold = built
            if verify(Candidate(item, Evidence(gold=gold)), graph, topics) is None:
                return item
        return None

    def generate_many(
        self,
        language: Language,
        skill_id: str,
        topic_id: str,
        count: int,
        rng: random.Random,
        graph: SkillGraph,
        topics: Mapping[str, Topic],
    ) -> list[Item]:
        """Up to `count` distinct items (by id); fewer when the lexicon runs out of variety."""
        items: dict[str, Item] = {}
        for _ in range(count * 3):  # repeats are expected from small lexicons: bounded retries
            if len(items) >= count:
                break
            item = self.generate(language, skill_id, topic_id, rng, graph, topics)
            if item is None:
                break
            items.setdefault(item.id, item)
        return list(items.values())

    def problems(
        self, graphs: Mapping[Language, SkillGraph], topics: Mapping[str, Topic]
    ) -> list[str]:
        """Every content problem of the loaded files (empty when sound): unknown skills and
        topics, lemmas the engines do not know, forms they cannot make unambiguously, subjects
        whose declared agreement the engine reads differently, templates that fit no topic."""
        found: list[str] = []
        for language, language_templates in self._templates.items():
            file = self._files[language]
            graph = graphs.get(language)
            lexicon = self._lexicons.get(language, {})
            found += [f"{file}: unknown topic {t!r}" for t in lexicon if t not in topics]
            found += [f"{file}: {m}" for m in _lexicon_problems(language, lexicon)]
            for template in language_templates:
                where = f"{file}: template {template.id}"
                if graph is None or template.skill not in graph:
                    found.append(f"{where}: unknown skill {template.skill!r}")
                supported = [t for t in lexicon if (template.id, t) in self._pools]
                if not supported:
                    found.append(f"{where}: no topic has entries for every slot")
                for topic_id in supported:
                    pools = self._pools[(template.id, topic_id)]
                    found += [
                        f"{where}, topic {topic_id}: {m}"
                        for m in _render_problems(template, pools, topic_id)
                    ]
        return found


def _build(
    template: Template,
    assignment: Assignment,
    kind: ItemType,
    topic_id: str,
    graph: SkillGraph,
) -> tuple[Item, str] | None:
    """The item for one draw and its gold sentence, or None when a form cannot be made."""
    language = template.language
    text = _render(template.text, assignment, language)
    answer = _render(template.answer, assignment, language)
    if text is None or answer is None or not answer.strip():
        return None
    text = _tidy(text)
    gold = text.replace(GAP, answer)
    distractors = _distractors(template, assignment, answer)
    if kind is ItemType.CHOICE and len(distractors) < 2:
        if ItemType.CLOZE not in template.types:
            return None
        kind = ItemType.CLOZE  # too few wrong forms for this lemma: ask for the form instead
    hint = _hint(template, assignment)
    if hint is None:
        return None
    explanation = _render(template.explanation, assignment, language, answer=answer, hint=hint)
    if explanation is None:
        return None
    skill = graph[template.skill]
    item = Item.create(
        language=language,
        type=kind,
        text=text,
        answers=(answer,),
        skills=(template.skill,),
        level=skill.level,
        topics=(topic_id,),
        distractors=tuple(distractors[:MAX_DISTRACTORS]) if kind is ItemType.CHOICE else (),
        explanation=_tidy(explanation),
        hint=hint if kind is ItemType.CLOZE else "",
        provenance=Provenance(SOURCE, LICENCE, record_id=template.id),
    )
    return item, gold


def _distractors(template: Template, assignment: Assignment, answer: str) -> list[str]:
    language = template.language
    seen = {normalize(answer, language)}
    found: list[str] = []
    for recipe in template.distractors:
        form = _render(recipe, assignment, language)
        if form is None or not form.strip():
            continue  # not applicable to this lemma (a regular verb has no over-regularised form)
        key = normalize(form, language)
        if key not in seen:
            seen.add(key)
            found.append(form)
    return found


def _hint(template: Template, assignment: Assignment) -> str | None:
    slot, field = template.hint
    entry = assignment[slot]
    return entry.fields.get(field or entry.lemma_field or "")


def _tidy(text: str) -> str:
    """An empty optional field leaves doubled or stray spaces behind: close them up."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split()))


# --- rendering -----------------------------------------------------------------------------


def _render(
    recipe: Recipe,
    assignment: Assignment,
    language: Language,
    answer: str = "",
    hint: str = "",
) -> str | None:
    out: list[str] = []
    for part in recipe:
        if isinstance(part, str):
            out.append(part)
            continue
        if part.slot in _RESERVED:
            value: str | None = answer if part.slot == "answer" else hint
        else:
            value = _resolve(part, assignment, language)
        if value is None:
            return None
        out.append(value[:1].upper() + value[1:] if part.capital else value)
    return "".join(out)


def _resolve(ref: Ref, assignment: Assignment, language: Language) -> str | None:
    agree = None
    if ref.agree is not None:
        agree = (assignment[ref.agree[0]], ref.agree[1])
    if ref.lemma:
        return _inflect(language, ref.lemma, "", ref.spec, agree)
    entry = assignment[ref.slot]
    if not ref.spec:
        return entry.fields.get(ref.field or _raw_field(entry))
    if language is Language.EN and ref.spec[0] in _EN_AUX:
        return _EN_AUX[ref.spec[0]].get(entry.fields.get("agr", ""))
    field = ref.field or entry.lemma_field
    if field is None or field not in entry.fields:
        return None
    kind = field if field in LEMMA_FIELDS else ""
    return _inflect(language, entry.fields[field], kind, ref.spec, agree)


def _raw_field(entry: Entry) -> str:
    """What {slot} shows: the entry's text, or its lemma as written when it has no text."""
    return "text" if "text" in entry.fields else entry.lemma_field or "text"


def _inflect(
    language: Language,
    lemma: str,
    kind: str,
    spec: tuple[str, ...],
    agree: tuple[Entry, str | None] | None,
) -> str | None:
    if language is Language.EN:
        agr = agree[0].fields.get("agr") if agree else None
        return english_form(lemma, spec[0], agr, kind)
    extra = _russian_agreement(lemma, kind, frozenset(spec), agree) if agree else frozenset()
    if extra is None:
        return None
    return russian_form(lemma, kind, frozenset(spec) | extra)


# --- English -------------------------------------------------------------------------------


@cache
def _en_dictionary(lemma: str, tag: str) -> tuple[str, ...]:
    from lemminflect import getInflection

    if tag in ("VB", "NN", "JJ"):
        return (lemma,)
    forms = tuple(getInflection(lemma, tag=tag, inflect_oov=False))
    if tag == "NNS" and len(forms) > 1:
        # The dictionary lists the singular among the plurals of most nouns ("eggs", "egg"),
        # from mis-tagged corpus text; only an unchanging plural ("sheep") keeps it.
        forms = tuple(f for f in forms if f != lemma)
    return forms


@cache
def _en_rule(lemma: str, tag: str) -> str:
    """The form the regular spelling rules give, whatever the dictionary says ("breaked")."""
    from lemminflect import getAllInflectionsOOV

    upos = {"VBD": "VERB", "NNS": "NOUN", "JJR": "ADJ", "JJS": "ADJ"}[tag]
    return str(getAllInflectionsOOV(lemma, upos=upos)[tag][0])


def _en_unique(lemma: str, tag: str) -> str | None:
    # Two dictionary forms ("learned"/"learnt") would make a second answer correct: refused.
    forms = _en_dictionary(lemma, tag)
    return forms[0] if len(forms) == 1 else None


def english_form(lemma: str, tag: str, agr: str | None = None, kind: str = "") -> str | None:
    """One English form of `lemma` for a Penn tag or a pseudo-tag (see _EN_PSEUDO), or None when
    the dictionary does not give exactly one. `kind` (verb, noun, adjective) tells REG which
    rule to apply to a word that is both ("score")."""
    if tag in ("PRES", "PRES*"):
        if agr not in _EN_AGREEMENT:
            return None
        third = (agr == "3sg") != (tag == "PRES*")
        return _en_unique(lemma, "VBZ" if third else "VB")
    if tag == "REG":
        rule_tag = "NNS" if kind == "noun" else "VBD"
        real = _en_dictionary(lemma, rule_tag)
        form = _en_rule(lemma, rule_tag)
        return form if real and form not in real else None
    if tag == "NAIVE":
        real = _en_dictionary(lemma, "NNS")
        naive = lemma + "s"
        # Where the real plural differs ("citys", "matchs"); not after -s, where "dresss" is a
        # typo rather than a plural anyone would write.
        return naive if real and naive not in real and not lemma.endswith("s") else None
    if tag in ("CMP", "SUP", "CMPX", "SUPX"):
        return _en_degree(lemma, tag)
    return _en_unique(lemma, tag)


def _en_degree(lemma: str, tag: str) -> str | None:
    penn = "JJR" if tag in ("CMP", "CMPX") else "JJS"
    word = "more" if penn == "JJR" else "most"
    synthetic = english_is_synthetic(lemma)
    if synthetic is None:
        return None
    if tag in ("CMP", "SUP"):
        return _en_unique(lemma, penn) if synthetic else f"{word} {lemma}"
    if synthetic:
        form = _en_unique(lemma, penn)
        return f"{word} {form}" if form else None
    return _en_rule(lemma, penn)  # "expensiver": a non-word, wrong in any slot


def english_is_synthetic(adjective: str) -> bool | None:
    """True for -er/-est adjectives, False for more/most ones, None when lemminflect does not
    know the adjective or cannot give one -er form. The textbook rule: one syllable, or two
    ending in -y, take -er; the rest take more/most (the dictionary also lists rare forms such
    as "moderner", so it cannot decide alone)."""
    if not english_knows(adjective, "adjective"):
        return None
    syllables = _syllables(adjective)
    if syllables == 1 or (syllables == 2 and adjective.endswith("y")):
        return True if len(_en_dictionary(adjective, "JJR")) == 1 else None
    return False


def english_knows(lemma: str, kind: str) -> bool:
    from lemminflect import getAllLemmas

    upos = {"verb": "VERB", "noun": "NOUN", "adjective": "ADJ"}[kind]
    return lemma in getAllLemmas(lemma).get(upos, ())


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1  # silent final e: "large"
    return max(1, count)


def english_is_regular(verb: str) -> bool | None:
    """Whether the past form follows the -ed spelling rules; None when the dictionary does not
    give exactly one past form and one participle."""
    past, participle = _en_unique(verb, "VBD"), _en_unique(verb, "VBN")
    if past is None or participle is None:
        return None
    stem = verb[:-1]
    regular = {verb + "ed", verb + "d", verb + verb[-1:] + "ed", verb + "ked"}
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        regular.add(stem + "ied")
    return past == participle and past in regular


# --- Russian -------------------------------------------------------------------------------


def _yo(text: str) -> str:
    return text.replace("ё", "е")


@cache
def russian_lemmas(lemma: str, kind: str) -> tuple[Any, ...]:
    """Every pymorphy3 parse of `lemma` in its dictionary form, one per lexeme: the infinitive
    for a verb, the nominative singular (or plural-only) noun, the masculine adjective. Other
    parses of the same spelling ("поле" as a form of "пол") are skipped; homonyms with their
    own paradigms ("стул": стулья and стулы) are all kept, so that russian_form can refuse a
    word whose forms depend on the meaning."""
    wanted = {"verb": {"INFN"}, "noun": {"NOUN"}, "adjective": {"ADJF"}}.get(
        kind, {"INFN", "ADJF", "NOUN", "NPRO"}
    )
    found: dict[Any, Any] = {}
    for parse in russian_analyzer().parse(lemma):
        tag = parse.tag
        if _yo(parse.normal_form) != _yo(lemma.lower()) or _yo(parse.word) != _yo(lemma.lower()):
            continue
        if tag.POS not in wanted:
            continue
        if tag.POS == "NOUN" and not ("nomn" in tag and ("sing" in tag or "Pltm" in tag)):
            continue
        if tag.POS == "ADJF" and not {"masc", "sing", "nomn"} <= tag.grammemes:
            continue
        paradigm = parse.methods_stack[0][2] if parse.methods_stack else id(parse)
        found.setdefault((tag.POS, paradigm), parse)
    return tuple(found.values())


def russian_lemma(lemma: str, kind: str) -> Any | None:
    """The most likely parse of `lemma` in its dictionary form (see russian_lemmas)."""
    parses = russian_lemmas(lemma, kind)
    return parses[0] if parses else None


def _plain(grammemes: Iterable[str]) -> frozenset[str]:
    return frozenset(g for g in grammemes if not g.startswith("V-") and g not in _RU_MARKED)


@cache
def russian_form(lemma: str, kind: str, grammemes: frozenset[str]) -> str | None:
    """The one form of `lemma` carrying `grammemes`, or None when pymorphy3 cannot make it or
    the paradigms have two different words for it (an answer must be the only right one)."""
    parses = russian_lemmas(lemma, kind)
    words: dict[str, str] = {}
    for parse in parses:
        for word in _russian_forms(parse, grammemes):
            words[_yo(word)] = word
    if len(words) != 1:
        return None
    return next(iter(words.values()))


def _russian_forms(parse: Any, grammemes: frozenset[str]) -> list[str]:
    """The plain (not archaic or variant) words of one lexeme with the grammemes of the form
    pymorphy3 inflects to, counting a second locative or genitive ("в саду") as a rival."""
    result = parse.inflect(set(grammemes))
    if result is None or not grammemes <= result.tag.grammemes:
        return []
    core = _plain(result.tag.grammemes)
    cores = {core} | {
        core - {case} | {twin} for case, twin in _RU_TWIN_CASES.items() if case in core
    }
    return [
        str(form.word)
        for form in parse.lexeme
        if _plain(form.tag.grammemes) in cores
        and not form.tag.grammemes & _RU_MARKED
        and not any(g.startswith("V-") for g in form.tag.grammemes)
    ]


def _noun_agreement(noun: str) -> tuple[str, str, str] | None:
    """(gender or "", number, animacy) of a noun lemma, for words that agree with it."""
    parse = russian_lemma(noun, "noun")
    if parse is None:
        return None
    tag = parse.tag
    number = "plur" if "Pltm" in tag else "sing"
    gender = next((g for g in _RU_GENDERS if g in tag), "")
    if number == "sing" and not gender:
        return None  # common gender ("судья"): the agreeing form depends on the person
    return gender, number, "anim" if "anim" in tag else "inan"


def _russian_agreement(
    lemma: str, kind: str, spec: frozenset[str], agree: tuple[Entry, str | None]
) -> frozenset[str] | None:
    """Grammemes the form takes from what it agrees with: person and number for a present or
    future verb, gender or plural for a past verb or an adjective (animacy in the accusative)."""
    entry, field = agree
    target = russian_lemma(lemma, kind)
    if target is None:
        return None
    person = ""
    if field is None and "agr" in entry.fields:
        agr = entry.fields["agr"]
        person, number = agr[0], "plur" if agr.endswith("pl") else "sing"
        gender = entry.fields.get("gender", "")
        animacy = "anim"
    else:
        noun = entry.fields.get(field or entry.lemma_field or "")
        found = _noun_agreement(noun) if noun else None
        if found is None:
            return None
        gender, number, animacy = found
    if target.tag.POS == "INFN" and not spec & {"past", "INFN"}:
        if not person:
            return None
        return frozenset({f"{person}per", number})
    if "COMP" in spec:
        return frozenset()
    if number == "plur":
        agreement = {"plur"}
    elif gender:
        agreement = {gender, "sing"}
    else:
        return None  # a singular subject of unknown gender ("я") cannot agree in the past
    if "accs" in spec and (number == "plur" or gender == "masc"):
        agreement.add(animacy)
    return frozenset(agreement)


def russian_conjugation(verb: str) -> str | None:
    """ "first" or "second" for an imperfective verb whose present endings agree on one class
    (-ут/-ют with -ет, -ат/-ят with -ит); None for mixed, irregular or perfective verbs."""
    third_plural = russian_form(verb, "verb", frozenset({"pres", "3per", "plur"}))
    third_single = russian_form(verb, "verb", frozenset({"pres", "3per", "sing"}))
    if third_plural is None or third_single is None:
        return None
    plural, single = (
        _yo(w).removesuffix("ся").removesuffix("сь") for w in (third_plural, third_single)
    )
    if plural.endswith(("ут", "ют")) and single.endswith("ет"):
        return "first"
    if plural.endswith(("ат", "ят")) and single.endswith("ит"):
        return "second"
    return None


# --- loading -------------------------------------------------------------------------------


def _read_file(path: Path, language: Language, file: str) -> tuple[list[Template], Lexicon]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ThemeError(f"{file}: file is missing") from None
    except yaml.YAMLError as exc:
        raise ThemeError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("lexicon"), dict):
        raise ThemeError(f"{file}: expected a mapping with 'language', 'lexicon' and 'templates'")
    if raw.get("language") != str(language):
        raise ThemeError(f"{file}: 'language' must be {str(language)!r}")
    common = _read_categories(raw.get("common") or {}, language, f"{file}: common")
    lexicon: dict[str, dict[str, tuple[Entry, ...]]] = {}
    for topic_id, categories in raw["lexicon"].items():
        own = _read_categories(categories, language, f"{file}: lexicon.{topic_id}")
        merged = {c: own.get(c, ()) + common.get(c, ()) for c in {*own, *common}}
        lexicon[str(topic_id)] = merged
    raw_templates = raw.get("templates")
    if not isinstance(raw_templates, list) or not raw_templates:
        raise ThemeError(f"{file}: 'templates' must be a non-empty list")
    templates: list[Template] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw_templates, start=1):
        name = entry.get("id") if isinstance(entry, dict) else None
        where = f"{file}: template #{n}" + (f" ({name})" if name else "")
        template = _read_template(entry, language, where)
        if template.id in seen:
            raise ThemeError(f"{where}: duplicate template id")
        seen.add(template.id)
        _check_fields(template, lexicon, where)
        templates.append(template)
    return templates, lexicon


def _read_categories(raw: Any, language: Language, where: str) -> dict[str, tuple[Entry, ...]]:
    if not isinstance(raw, dict):
        raise ThemeError(f"{where}: expected a mapping of category -> list of entries")
    categories: dict[str, tuple[Entry, ...]] = {}
    for category, entries in raw.items():
        if not isinstance(entries, list) or not entries:
            raise ThemeError(f"{where}.{category}: expected a non-empty list of entries")
        read: list[Entry] = []
        for n, entry in enumerate(entries, start=1):
            read += _read_entry(entry, language, f"{where}.{category} entry #{n}")
        categories[str(category)] = tuple(read)
    return categories


def _read_entry(raw: Any, language: Language, where: str) -> list[Entry]:
    """One entry, or several when its lemma field lists alternatives (adjective: [big, new])."""
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, dict) or not raw:
        raise ThemeError(f"{where}: an entry is a mapping of field -> text")
    fields: dict[str, str] = {}
    alternatives: list[str] = [""]
    lemma_key = next((k for k in LEMMA_FIELDS if k in raw), None)
    for key, value in raw.items():
        if key == lemma_key and isinstance(value, list):
            if not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise ThemeError(f"{where}: {key!r} must be a word or a list of words")
            alternatives = [v.strip() for v in value]
            continue
        if not isinstance(value, str):
            raise ThemeError(f"{where}: field {key!r} must be text (quote numbers and yes/no)")
        fields[str(key)] = value.strip()
    _check_agreement(fields, language, where)
    entries = []
    for alternative in alternatives:
        own = dict(fields)
        if alternative:
            own[lemma_key or ""] = alternative
        entries.append(Entry(own, _flags(own, language)))
    return entries


def _check_agreement(fields: Mapping[str, str], language: Language, where: str) -> None:
    allowed = _EN_AGREEMENT if language is Language.EN else _RU_AGREEMENT
    if "agr" in fields and fields["agr"] not in allowed:
        raise ThemeError(f"{where}: agr {fields['agr']!r} is not one of {', '.join(allowed)}")
    gender = fields.get("gender")
    if gender is not None and (language is Language.EN or gender not in _RU_GENDERS):
        raise ThemeError(f"{where}: gender {gender!r} is not one of {', '.join(_RU_GENDERS)}")


def _flags(fields: Mapping[str, str], language: Language) -> frozenset[str]:
    """What templates may filter on, computed by the engines where they can say it."""
    flags: set[str] = set()
    text = fields.get("text", "").lower()
    if "agr" in fields:
        flags.add(fields["agr"])
        if text in (_EN_PRONOUNS if language is Language.EN else _RU_PRONOUNS):
            flags.add("pronoun")
        if language is Language.RU and (fields["agr"].endswith("pl") or "gender" in fields):
            flags.add("gender")  # a past verb or an adjective can agree with it
    verb = fields.get("verb")
    if verb and language is Language.EN:
        regular = english_is_regular(verb)
        if regular is not None:
            flags.add("regular" if regular else "irregular")
    if verb and language is Language.RU:
        parse = russian_lemma(verb, "verb")
        if parse is not None:
            flags.add("perf" if "perf" in parse.tag else "impf")
            conjugation = russian_conjugation(verb) if "impf" in parse.tag else None
            if conjugation:
                flags.add(conjugation)
    adjective = fields.get("adjective")
    if adjective and language is Language.EN:
        synthetic = english_is_synthetic(adjective)
        if synthetic is not None:
            flags.add("synthetic" if synthetic else "periphrastic")
    return frozenset(flags)


def _read_template(raw: Any, language: Language, where: str) -> Template:
    if not isinstance(raw, dict):
        raise ThemeError(f"{where}: a template is a mapping")
    missing = [
        k for k in ("id", "skill", "slots", "text", "answer", "explanation") if not raw.get(k)
    ]
    if missing:
        raise ThemeError(f"{where}: missing {', '.join(missing)}")
    skill = str(raw["skill"])
    if not skill.startswith(f"{language}."):
        raise ThemeError(f"{where}: skill {skill!r} is not a {language} skill")
    if not isinstance(raw["slots"], dict):
        raise ThemeError(f"{where}: 'slots' maps slot names to lexicon categories")
    slots = {str(name): _read_slot(str(spec), where) for name, spec in raw["slots"].items()}
    if bad := [s for s in slots if s in _RESERVED or not re.fullmatch(r"[a-z][a-z0-9_]*", s)]:
        raise ThemeError(f"{where}: bad slot name(s) {', '.join(bad)}")
    text = _recipe(raw["text"], slots, language, f"{where}: text")
    literal = "".join(p for p in text if isinstance(p, str))
    if literal.count(GAP) != 1 or any(GAP in p.lemma for p in text if isinstance(p, Ref)):
        raise ThemeError(f"{where}: text needs exactly one gap {GAP!r} outside the {{...}}")
    answer = _recipe(raw["answer"], slots, language, f"{where}: answer")
    distractors = raw.get("distractors") or []
    if not isinstance(distractors, list):
        raise ThemeError(f"{where}: 'distractors' must be a list of recipes")
    types = tuple(_item_type(t, where) for t in (raw.get("types") or ["cloze", "choice"]))
    if ItemType.CHOICE in types and len(distractors) < 2:
        raise ThemeError(f"{where}: a choice template needs at least two distractor recipes")
    hint = _hint_ref(raw.get("hint"), answer, slots, where)
    return Template(
        id=str(raw["id"]),
        language=language,
        skill=skill,
        slots=slots,
        text=text,
        answer=answer,
        distractors=tuple(
            _recipe(d, slots, language, f"{where}: distractor #{n}")
            for n, d in enumerate(distractors, start=1)
        ),
        explanation=_recipe(
            raw["explanation"], slots, language, f"{where}: explanation", explanation=True
        ),
        types=types,
        hint=hint,
    )


def _read_slot(spec: str, where: str) -> SlotSpec:
    """ "category" or "category[flag, !flag]": entries of the category with (or without) flags."""
    match = re.fullmatch(r"\s*([a-z_]+)\s*(?:\[([^\]]*)\])?\s*", spec)
    if not match:
        raise ThemeError(f"{where}: slot {spec!r} is not 'category' or 'category[flag, !flag]'")
    flags = [f.strip() for f in (match.group(2) or "").split(",") if f.strip()]
    return SlotSpec(
        category=match.group(1),
        require=frozenset(f for f in flags if not f.startswith("!")),
        exclude=frozenset(f[1:] for f in flags if f.startswith("!")),
    )


def _item_type(value: Any, where: str) -> ItemType:
    try:
        kind = ItemType(value)
    except ValueError:
        raise ThemeError(f"{where}: type {value!r} is not cloze or choice") from None
    if kind not in (ItemType.CLOZE, ItemType.CHOICE):
        raise ThemeError(f"{where}: type {value!r} is not cloze or choice")
    return kind


def _recipe(
    raw: Any,
    slots: Mapping[str, SlotSpec],
    language: Language,
    where: str,
    explanation: bool = False,
) -> Recipe:
    if not isinstance(raw, str) or not raw.strip():
        raise ThemeError(f"{where}: expected text")
    parts: list[Part] = []
    position = 0
    for match in _REF.finditer(raw):
        if match.start() > position:
            parts.append(raw[position : match.start()])
        parts.append(_ref(match.group(1).strip(), slots, language, where, explanation))
        position = match.end()
    if position < len(raw):
        parts.append(raw[position:])
    if any(isinstance(p, str) and ("{" in p or "}" in p) for p in parts):
        raise ThemeError(f"{where}: unbalanced braces in {raw!r}")
    return tuple(parts)


def _ref(
    body: str, slots: Mapping[str, SlotSpec], language: Language, where: str, explanation: bool
) -> Ref:
    match = _REF_BODY.match(body)
    if not match:
        raise ThemeError(f"{where}: {{{body}}} is not {{slot}}, {{slot.field}} or {{slot:form}}")
    literal, name, field, spec_text = match.groups()
    items = [s.strip() for s in (spec_text or "").split(",") if s.strip()]
    agree_items = [s[1:] for s in items if s.startswith("~")]
    spec = tuple(s for s in items if not s.startswith("~"))
    if len(agree_items) > 1 or (spec_text and not spec):
        raise ThemeError(f"{where}: {{{body}}} needs one form and at most one ~agreement")
    agree = None
    if agree_items:
        agree_slot, _, agree_field = agree_items[0].partition(".")
        if agree_slot not in slots:
            raise ThemeError(f"{where}: {{{body}}} agrees with unknown slot {agree_slot!r}")
        agree = (agree_slot, agree_field or None)
    capital = name[:1].isupper()
    name = name[:1].lower() + name[1:]
    if literal:
        if not spec:
            raise ThemeError(f"{where}: {{{body}}}: a literal lemma needs a form")
        slot, lemma = "", name
    elif name in _RESERVED and explanation and not spec and not field:
        slot, lemma = name, ""
    elif name not in slots:
        raise ThemeError(f"{where}: {{{body}}} uses unknown slot {name!r}")
    else:
        slot, lemma = name, ""
    if language is Language.EN and len(spec) > 1:
        raise ThemeError(f"{where}: {{{body}}}: an English form is one tag, not {len(spec)}")
    for form in spec:
        _check_form(form, language, f"{where}: {{{body}}}")
    if language is Language.EN and spec and spec[0] in ("PRES", "PRES*") and agree is None:
        raise ThemeError(f"{where}: {{{body}}}: PRES needs ~subject to agree with")
    return Ref(slot, field, lemma, spec, agree, capital)


def _check_form(form: str, language: Language, where: str) -> None:
    if language is Language.EN:
        if form not in _EN_TAGS | _EN_PSEUDO | set(_EN_AUX):
            raise ThemeError(f"{where}: unknown English form {form!r}")
        return
    known = russian_analyzer().TagClass.KNOWN_GRAMMEMES
    if form not in known:
        raise ThemeError(f"{where}: {form!r} is not a pymorphy3 grammeme")


def _hint_ref(
    raw: Any, answer: Recipe, slots: Mapping[str, SlotSpec], where: str
) -> tuple[str, str | None]:
    """The slot (and field) whose lemma is shown with the gap: named, or the first inflected
    one in the answer."""
    if raw:
        slot, _, field = str(raw).partition(".")
        if slot not in slots:
            raise ThemeError(f"{where}: hint names unknown slot {slot!r}")
        return slot, field or None
    for part in answer:
        if isinstance(part, Ref) and part.slot and part.spec and part.spec[0] not in _EN_AUX:
            return part.slot, part.field
    raise ThemeError(f"{where}: the answer inflects no slot, so name the 'hint' slot")


def _check_fields(template: Template, lexicon: Lexicon, where: str) -> None:
    """Every field a recipe reads exists in every entry it may draw."""
    recipes = [template.text, template.answer, template.explanation, *template.distractors]
    wanted: dict[str, set[str]] = {slot: set() for slot in template.slots}
    for part in (p for recipe in recipes for p in recipe if isinstance(p, Ref)):
        if part.slot and part.slot not in _RESERVED:
            if part.field:
                wanted[part.slot].add(part.field)
            elif part.spec and part.spec[0] in _EN_AUX:
                wanted[part.slot].add("agr")
            elif part.spec:
                wanted[part.slot].add("@lemma")
        if part.agree and part.agree[1]:
            wanted[part.agree[0]].add(part.agree[1])
    wanted[template.hint[0]].add(template.hint[1] or "@lemma")
    for topic_id, categories in lexicon.items():
        for slot, spec in template.slots.items():
            for entry in (e for e in categories.get(spec.category, ()) if spec.accepts(e)):
                for field in sorted(wanted[slot]):
                    present = entry.lemma_field if field == "@lemma" else entry.fields.get(field)
                    if not present:
                        name = "verb, adjective or noun" if field == "@lemma" else repr(field)
                        raise ThemeError(
                            f"{where}: entry {entry.label()!r} of {topic_id}.{spec.category}"
                            f" has no {name}"
                        )


# --- content checks ------------------------------------------------------------------------


def _lexicon_problems(language: Language, lexicon: Lexicon) -> list[str]:
    found: list[str] = []
    for topic_id, categories in lexicon.items():
        for category, entries in categories.items():
            for entry in entries:
                where = f"{topic_id}.{category} {entry.label()!r}"
                found += [f"{where}: {m}" for m in _entry_problems(language, entry)]
    return sorted(set(found))


def _entry_problems(language: Language, entry: Entry) -> list[str]:
    found: list[str] = []
    for field in LEMMA_FIELDS:
        lemma = entry.fields.get(field)
        if not lemma:
            continue
        if language is Language.EN and not english_knows(lemma, field):
            found.append(f"lemminflect does not know the {field} {lemma!r}")
        if language is Language.RU and russian_lemma(lemma, field) is None:
            found.append(f"pymorphy3 does not know the {field} {lemma!r} in its dictionary form")
    verb = entry.fields.get("verb")
    known_english_verb = verb and language is Language.EN and english_knows(verb, "verb")
    if known_english_verb and english_is_regular(verb or "") is None:
        found.append(f"lemminflect gives {verb!r} more than one past form or participle")
    if language is Language.RU and entry.fields.get("agr", "").startswith("3"):
        found += _russian_subject_problems(entry)
    return found


def _russian_subject_problems(entry: Entry) -> list[str]:
    """The declared agreement of a third-person subject must be what pymorphy3 reads in its
    last word, so a typo in `agr` or `gender` cannot put a wrong form into an answer key."""
    words = entry.fields.get("text", "").split()
    if not words:
        return ["a subject needs 'text'"]
    plural = entry.fields["agr"] == "3pl"
    gender = entry.fields.get("gender")
    for parse in russian_analyzer().parse(words[-1]):
        tag = parse.tag
        if tag.POS not in ("NOUN", "NPRO") or "nomn" not in tag:
            continue
        if plural and "plur" in tag:
            return []
        if not plural and "sing" in tag and (gender is None or gender in tag or "ms-f" in tag):
            return []
    return [f"{words[-1]!r} is not a nominative {'plural' if plural else gender or 'singular'}"]


def _render_problems(
    template: Template, pools: Mapping[str, tuple[Entry, ...]], topic_id: str
) -> list[str]:
    """Render the text and the answer with every entry of every slot (the other slots at their
    first entry): each lemma meets each form the template asks of it."""
    found: list[str] = []
    first = {slot: pool[0] for slot, pool in pools.items()}
    for slot, pool in pools.items():
        for entry in pool:
            assignment = {**first, slot: entry}
            for name, recipe in (("text", template.text), ("answer", template.answer)):
                if _render(recipe, assignment, template.language) is None:
                    drawn = ", ".join(f"{s}={e.label()!r}" for s, e in assignment.items())
                    found.append(f"cannot make the {name} for {drawn}")
    return sorted(set(found))
