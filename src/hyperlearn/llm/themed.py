"""Themed exercises proposed by a language model and verified by HyperLearn.

The model is asked for one sentence on the learner's topic that uses the skill's target form
(the prompt gives the rule, an example, the topic, the level and, where the template lexicon has
one, a lemma). It proposes nothing else: HyperLearn finds the target form in the sentence with
the morphology engines (lemminflect, pymorphy3), recomputes it from its lemma, builds the gap,
the answer and the distractors itself, and runs the same verifier as the template engine. A
proposal that fails any step is counted under its reason and never shown; the template engine
(`ThemedGenerator`) is the fallback.

Only skills whose form can be found reliably are supported (SUPPORTED_SKILLS). A tense needs a
cue in the sentence (a past time expression, a frequency adverb, "than"), or its distractors
could be correct too; a Russian case or gender needs the word that decides it.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import yaml

from hyperlearn.content.bank import DATA_DIR
from hyperlearn.content.importing.base import Candidate, Evidence
from hyperlearn.content.importing.text import sentence_problem
from hyperlearn.content.importing.topics import lexicon as topic_lexicon
from hyperlearn.content.importing.topics import tag_topics, word_forms
from hyperlearn.content.importing.verifier import verify
from hyperlearn.content.morphology import english_inflections, russian_analyzer
from hyperlearn.content.themed import english_form, english_is_regular, russian_form
from hyperlearn.core import GAP, Item, ItemType, Language, Provenance, SkillGraph, Topic
from hyperlearn.core.grading import tokenize
from hyperlearn.llm.backend import CompletionRequest, LLMBackend, LLMError
from hyperlearn.llm.explain import ExplainLanguage, in_script, parse_json_object, words_of
from hyperlearn.llm.prompts import load_prompt

SOURCE = "HyperLearn themed (model-proposed, engine-verified)"
LICENCE = "CC BY-SA 4.0"
MIN_WORDS = 4
MAX_WORDS = 20
MAX_CHARS = 160
MAX_DISTRACTORS = 3

SUPPORTED_SKILLS: dict[Language, tuple[str, ...]] = {
    Language.EN: (
        "en.past_simple_regular",
        "en.irregular_past",
        "en.past_continuous",
        "en.third_person_s",
        "en.comparatives",
    ),
    Language.RU: ("ru.prepositional_case", "ru.past_tense_gender"),
}

# Rejection reasons (counter keys).
INVALID_JSON = "invalid_json"
WRONG_LANGUAGE = "wrong_language"
LENGTH = "too_long_or_short"
ODD_TEXT = "url_markup_or_symbols"
OFFENSIVE = "offensive_word"
OFF_TOPIC = "off_topic"
NOT_FOUND = "target_form_not_found"
AMBIGUOUS = "form_ambiguous"
NO_CUE = "no_context_cue"
AGREEMENT = "agreement"
VERIFIER = "verifier"
REJECTION_REASONS = (
    INVALID_JSON,
    WRONG_LANGUAGE,
    LENGTH,
    ODD_TEXT,
    OFFENSIVE,
    OFF_TOPIC,
    NOT_FOUND,
    AMBIGUOUS,
    NO_CUE,
    AGREEMENT,
    VERIFIER,
)  # and a backend's LLMError reasons (unavailable, timeout, invalid_output)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"sentence": {"type": "string"}},
    "required": ["sentence"],
}

# Where a skill's lemma comes from in the template lexicon (data/themes/<lang>.yaml):
# (categories, lemma field); English verbs filtered by regularity where the skill needs it.
_LEXICON_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "en.past_simple_regular": (("events", "activities"), "verb"),
    "en.irregular_past": (("events", "activities"), "verb"),
    "en.past_continuous": (("activities",), "verb"),
    "en.third_person_s": (("activities",), "verb"),
    "en.comparatives": (("comparisons",), "adjective"),
    "ru.prepositional_case": (("places", "occasions"), "noun"),
    "ru.past_tense_gender": (("activities", "deeds"), "verb"),
}

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_EN_PAST_CUE = re.compile(
    r"\b(yesterday|last|ago|earlier|in (?:19|20)\d\d|when|while|this morning|previous)\b", re.I
)
_EN_HABIT_CUE = re.compile(
    r"\b(every|usually|often|always|never|sometimes|each|twice|once a|at weekends?|"
    r"on (?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays|weekends))\b",
    re.I,
)
_EN_AUX_BEFORE_PARTICIPLE = frozenset(
    [
        "have",
        "has",
        "had",
        "having",
        "was",
        "were",
        "is",
        "are",
        "am",
        "be",
        "been",
        "being",
        "get",
        "gets",
        "got",
        "'s",
        "'ve",
        "'d",
    ]
)
_EN_DETERMINERS = frozenset(
    [
        "the",
        "a",
        "an",
        "his",
        "her",
        "my",
        "our",
        "their",
        "your",
        "its",
        "this",
        "that",
        "these",
        "those",
        "some",
        "two",
        "three",
        "many",
    ]
)
_EN_NOT_3SG = frozenset({"i", "you", "we", "they"})
_EN_ADVERBS = frozenset(
    ["usually", "often", "always", "never", "sometimes", "also", "really", "still", "just"]
)
_RU_LOCATIVE_PREPOSITIONS = frozenset({"в", "во", "на", "о", "об", "обо", "при"})
# After these verbs в/на take the accusative (where to?): the case would depend on the verb.
_RU_DIRECTION_VERBS = frozenset(
    [
        "идти",
        "пойти",
        "ехать",
        "поехать",
        "ходить",
        "ездить",
        "прийти",
        "приехать",
        "бежать",
        "побежать",
        "лететь",
        "полететь",
        "положить",
        "поставить",
        "класть",
        "ставить",
        "вернуться",
        "войти",
        "попасть",
        "отправиться",
        "переехать",
        "приходить",
        "приезжать",
        "уходить",
        "уезжать",
        "уйти",
        "уехать",
        "смотреть",
        "посмотреть",
    ]
)
_RU_PROPER = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad"})
_RU_GENDERS = ("masc", "femn", "neut")


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    key: str  # lower case, ё as е
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Located:
    """The target form found in a sentence: the words it spans, its answer as written, the
    lemma (the cloze hint) and distractors recomputed from the lemma."""

    first: int
    last: int  # inclusive word index
    answer: str
    lemma: str
    distractors: tuple[str, ...]


class Rejected(Exception):
    """A proposal that cannot become an item; `reason` is the counter key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ThemedOutcome:
    item: Item | None
    reason: str | None  # None when accepted
    sentence: str
    latency_ms: float


@dataclass
class ThemedStats:
    """Proposals asked for, accepted, and rejected by reason (thread-safe)."""

    attempted: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, reason: str | None) -> None:
        with self._lock:
            self.attempted += 1
            if reason is None:
                self.accepted += 1
            else:
                self.rejected[reason] += 1


class Maker(Protocol):
    """What the fallback offers: hyperlearn.service.recommend.ThemedMaker, restated here
    because llm/ does not import the service layer."""

    def supports(self, language: Language, skill_id: str, topic_id: str) -> bool: ...

    def make(
        self, language: Language, skill_id: str, topic_id: str, rng: random.Random
    ) -> Item | None: ...


class LLMThemedMaker:
    """A `ThemedMaker` (hyperlearn.service.recommend) that asks a model for the sentence.

    `graphs` and `topics` give the stored skill graph and topics (the service passes its
    session's); `fallback`, usually the template maker, serves every request this maker cannot
    or whose proposals were all rejected. `tries` bounds the model calls per request."""

    def __init__(
        self,
        backend: LLMBackend,
        graphs: Callable[[Language], SkillGraph],
        topics: Callable[[], Mapping[str, Topic]],
        fallback: Maker | None = None,
        tries: int = 1,
    ) -> None:
        if tries < 1:
            raise ValueError("tries must be at least 1")
        self.backend = backend
        self.graphs = graphs
        self.topics = topics
        self.fallback = fallback
        self.tries = tries
        self.stats = ThemedStats()

    def handles(self, language: Language, skill_id: str, topic_id: str) -> bool:
        """Whether the model path (not the fallback) serves this pair: a supported skill and
        a topic that the topic tagger can recognise in the language."""
        return skill_id in SUPPORTED_SKILLS.get(language, ()) and topic_id in tagged_topics(
            language
        )

    def supports(self, language: Language, skill_id: str, topic_id: str) -> bool:
        if self.handles(language, skill_id, topic_id):
            return True
        return bool(
            self.fallback is not None and self.fallback.supports(language, skill_id, topic_id)
        )

    def make(
        self, language: Language, skill_id: str, topic_id: str, rng: random.Random
    ) -> Item | None:
        if self.handles(language, skill_id, topic_id):
            for _ in range(self.tries):
                outcome = self.propose(language, skill_id, topic_id, rng)
                if outcome.item is not None:
                    return outcome.item
        if self.fallback is not None and self.fallback.supports(language, skill_id, topic_id):
            return self.fallback.make(language, skill_id, topic_id, rng)
        return None

    def request(
        self, language: Language, skill_id: str, topic_id: str, lemma: str, seed: int
    ) -> CompletionRequest:
        graph = self.graphs(language)
        skill = graph[skill_id]
        topic = self.topics()[topic_id]
        template = load_prompt("themed", str(language))
        rendered = template.render(
            topic_name=topic.name("en"),
            level=str(skill.level),
            skill_name=skill.name,
            rule=skill.explanation,
            example=skill.example,
            instruction=template.skills.get(skill_id, ""),
            lemma=lemma,
        )
        return CompletionRequest(
            prompt=rendered.prompt,
            system=rendered.system,
            schema=SCHEMA,
            max_tokens=rendered.max_tokens,
            temperature=0.7,
            seed=seed,
        )

    def propose(
        self, language: Language, skill_id: str, topic_id: str, rng: random.Random
    ) -> ThemedOutcome:
        """One model proposal, checked; counted in `stats` whatever the outcome."""
        started = time.perf_counter()
        lemmas = lexicon_lemmas(language, skill_id, topic_id)
        lemma = lemmas[rng.randrange(len(lemmas))] if lemmas else ""
        request = self.request(language, skill_id, topic_id, lemma, rng.randrange(2**31))
        sentence = ""
        try:
            completion = self.backend.complete(request)
            sentence = _sentence(completion.data, completion.text)
            item = build_item(
                sentence,
                language,
                skill_id,
                topic_id,
                self.graphs(language),
                self.topics(),
                rng,
                lemma=lemma,
                provenance=Provenance(SOURCE, LICENCE, record_id=_model_id(self.backend)),
            )
        except LLMError as error:
            outcome = ThemedOutcome(None, error.reason, sentence, _since(started))
        except Rejected as rejected:
            outcome = ThemedOutcome(None, rejected.reason, sentence, _since(started))
        else:
            outcome = ThemedOutcome(item, None, sentence, _since(started))
        self.stats.record(outcome.reason)
        return outcome


def build_item(
    sentence: str,
    language: Language,
    skill_id: str,
    topic_id: str,
    graph: SkillGraph,
    topics: Mapping[str, Topic],
    rng: random.Random,
    lemma: str = "",
    provenance: Provenance | None = None,
) -> Item:
    """The verified item made from a proposed sentence, or `Rejected` with the reason."""
    sentence = " ".join(sentence.split())
    check_sentence(sentence, language, topic_id)
    words = split_words(sentence, language)
    locate = _LOCATORS.get(skill_id)
    if locate is None or skill_id not in graph:
        raise Rejected(NOT_FOUND, f"no locator for {skill_id}")
    found = locate(words, sentence, lemma)
    text = sentence[: words[found.first].start] + GAP + sentence[words[found.last].end :]
    distractors = tuple(d for d in found.distractors if d)[:MAX_DISTRACTORS]
    kind = ItemType.CHOICE if len(distractors) >= 2 and rng.random() < 0.5 else ItemType.CLOZE
    skill = graph[skill_id]
    rule = skill.explanation.split(". ")[0].rstrip(".")
    item = Item.create(
        language=language,
        type=kind,
        text=text,
        answers=(found.answer,),
        skills=(skill_id,),
        level=skill.level,
        topics=(topic_id,),
        distractors=distractors if kind is ItemType.CHOICE else (),
        explanation=f"{rule}: {found.answer}.",
        hint=found.lemma if kind is ItemType.CLOZE else "",
        provenance=provenance or Provenance(SOURCE, LICENCE),
    )
    problem = verify(Candidate(item, Evidence(gold=sentence)), graph, topics)
    if problem is not None:
        raise Rejected(VERIFIER, problem)
    return item


def check_sentence(sentence: str, language: Language, topic_id: str) -> None:
    """The checks every proposal passes before its form is looked for."""
    words = words_of(sentence)
    if not MIN_WORDS <= len(words) <= MAX_WORDS or len(sentence) > MAX_CHARS:
        raise Rejected(LENGTH)
    lang: ExplainLanguage = "en" if language is Language.EN else "ru"
    if sum(1 for w in words if in_script(w, lang)) / len(words) < 0.9:
        raise Rejected(WRONG_LANGUAGE)
    problem = sentence_problem(
        sentence, [t.surface for t in tokenize(sentence, language)], language
    )
    if problem == "offensive word":
        raise Rejected(OFFENSIVE)
    if problem == "sentence length":
        raise Rejected(LENGTH)
    if problem is not None:
        raise Rejected(ODD_TEXT, problem)
    if not mentions_topic(sentence, language, topic_id):
        raise Rejected(OFF_TOPIC)


def mentions_topic(sentence: str, language: Language, topic_id: str) -> bool:
    """Whether the topic tagger puts the sentence under the topic, or one of the topic's
    keywords is in it (the tagger keeps only the two strongest topics: "my brother scored in
    the football match" is family and sports there, and still about football)."""
    if topic_id in tag_topics(sentence, language):
        return True
    keywords = _topic_keywords(language, topic_id)
    return any(word_forms(w.text, language) & keywords for w in split_words(sentence, language))


def split_words(sentence: str, language: Language) -> list[Word]:
    return [
        Word(m.group(), m.group().casefold().replace("ё", "е").replace("’", "'"), *m.span())
        for m in _WORD.finditer(sentence)
    ]


def lexicon_lemmas(language: Language, skill_id: str, topic_id: str) -> tuple[str, ...]:
    """Lemmas the template lexicon lists for the skill on the topic (may be empty)."""
    where = _LEXICON_FIELDS.get(skill_id)
    if where is None:
        return ()
    categories, lemma_field = where
    found: list[str] = []
    topics = _themes(str(language))
    for category in categories:
        for entry in topics.get(topic_id, {}).get(category, ()):
            value = entry.get(lemma_field) if isinstance(entry, dict) else None
            for lemma in value if isinstance(value, list) else [value]:
                if isinstance(lemma, str) and lemma and lemma not in found:
                    found.append(lemma)
    if skill_id in ("en.past_simple_regular", "en.irregular_past"):
        regular = skill_id == "en.past_simple_regular"
        found = [lemma for lemma in found if english_is_regular(lemma) is regular]
    return tuple(found)


# --- English locators ----------------------------------------------------------------------


def _en_verb_lemmas(word: str, tag: str) -> list[str]:
    from lemminflect import getAllLemmas

    lemmas = getAllLemmas(word).get("VERB", ())
    return [lemma for lemma in lemmas if word in english_inflections(lemma, tag)]


def _pick(candidates: list[Located], lemma: str, what: str) -> Located:
    """The one candidate, or the one with the requested lemma among several."""
    if not candidates:
        raise Rejected(NOT_FOUND, what)
    if len(candidates) > 1:
        wanted = [c for c in candidates if c.lemma == lemma]
        if len(wanted) != 1:
            raise Rejected(AMBIGUOUS, f"{len(candidates)} candidates for {what}")
        return wanted[0]
    return candidates[0]


def _one_lemma(lemmas: Iterable[str], word: str) -> str:
    unique = sorted(set(lemmas))
    if len(unique) != 1:
        raise Rejected(AMBIGUOUS, f"{word!r} is a form of {unique}")
    return unique[0]


def _en_past_simple(regular: bool) -> Callable[[list[Word], str, str], Located]:
    def locate(words: list[Word], sentence: str, lemma: str) -> Located:
        candidates: list[Located] = []
        for i, word in enumerate(words):
            if word.key in ("was", "were", "had", "did"):
                continue
            if i > 0 and words[i - 1].key in _EN_AUX_BEFORE_PARTICIPLE:
                continue  # a participle (has played, was built), not the past simple
            lemmas = [
                v for v in _en_verb_lemmas(word.key, "VBD") if english_is_regular(v) is regular
            ]
            if not lemmas:
                continue
            verb = _one_lemma(lemmas, word.key)
            gold = english_form(verb, "VBD")
            if gold is None:
                raise Rejected(AMBIGUOUS, f"{verb} has two past forms")
            if gold != word.key:
                continue
            if regular:
                wrong = [english_form(verb, "VBG"), english_form(verb, "VBZ"), f"will {verb}"]
            else:
                participle = english_form(verb, "VBN")
                wrong = [
                    english_form(verb, "REG"),
                    participle if participle != gold else None,
                    english_form(verb, "VBZ"),
                ]
            candidates.append(Located(i, i, word.text, verb, _clean(wrong, gold)))
        found = _pick(candidates, lemma, "a past simple verb")
        if not _EN_PAST_CUE.search(sentence):
            raise Rejected(NO_CUE, "no past time expression")
        return found

    return locate


def _en_past_continuous(words: list[Word], sentence: str, lemma: str) -> Located:
    candidates: list[Located] = []
    for i, (aux, verb_word) in enumerate(itertools.pairwise(words)):
        if aux.key not in ("was", "were") or not verb_word.key.endswith("ing"):
            continue
        lemmas = _en_verb_lemmas(verb_word.key, "VBG")
        if not lemmas:
            continue
        verb = _one_lemma(lemmas, verb_word.key)
        if verb == "go" and i + 2 < len(words) and words[i + 2].key == "to":
            continue  # "was going to": a future in the past, another skill
        if english_form(verb, "VBG") != verb_word.key:
            continue
        subject = words[i - 1].key if i > 0 else ""
        if (subject in ("i", "he", "she", "it") and aux.key != "was") or (
            subject in ("you", "we", "they") and aux.key != "were"
        ):
            raise Rejected(AGREEMENT, f"{subject} {aux.key}")
        other = "were" if aux.key == "was" else "was"
        present = "am" if subject == "i" else ("is" if aux.key == "was" else "are")
        answer = f"{aux.text} {verb_word.text}"
        wrong = [f"{other} {verb_word.key}", f"{present} {verb_word.key}", verb_word.key]
        candidates.append(Located(i, i + 1, answer, verb, _clean(wrong, answer)))
    found = _pick(candidates, lemma, "was/were + -ing")
    rest = sentence[: words[found.first].start] + sentence[words[found.last].end :]
    if not _EN_PAST_CUE.search(rest) and not _has_en_past(split_words(rest, Language.EN)):
        raise Rejected(NO_CUE, "no past time expression")
    return found


def _has_en_past(words: list[Word]) -> bool:
    return any(
        w.key in ("was", "were") or _en_verb_lemmas(w.key, "VBD") for w in words if len(w.key) > 2
    )


def _en_third_person(words: list[Word], sentence: str, lemma: str) -> Located:
    candidates: list[Located] = []
    for i, word in enumerate(words):
        if word.key in ("is", "was", "does", "goes's") or not word.key.endswith("s"):
            continue
        if i > 0 and words[i - 1].key in _EN_DETERMINERS:
            continue  # a plural noun ("the watches")
        lemmas = [v for v in _en_verb_lemmas(word.key, "VBZ") if v != word.key]
        if not lemmas:
            continue
        verb = _one_lemma(lemmas, word.key)
        if english_form(verb, "VBZ") != word.key:
            continue
        j = i - 1
        while j >= 0 and words[j].key in _EN_ADVERBS:
            j -= 1
        if j >= 0 and words[j].key in _EN_NOT_3SG:
            raise Rejected(AGREEMENT, f"{words[j].key} {word.key}")
        wrong = [verb, english_form(verb, "VBG")]
        candidates.append(Located(i, i, word.text, verb, _clean(wrong, word.key)))
    found = _pick(candidates, lemma, "a verb with -s")
    if not _EN_HABIT_CUE.search(sentence):
        raise Rejected(NO_CUE, "no frequency expression")
    return found


def _en_comparative(words: list[Word], sentence: str, lemma: str) -> Located:
    from lemminflect import getAllLemmas

    candidates: list[Located] = []
    for i, word in enumerate(words):
        follows = [w.key for w in words[i + 1 : i + 3]]
        if word.key == "more" and i + 1 < len(words):
            adjective, last = words[i + 1].key, i + 1
            if "than" not in [w.key for w in words[i + 2 : i + 4]]:
                continue
            lemmas = [a for a in getAllLemmas(adjective).get("ADJ", ()) if a == adjective]
        elif word.key.endswith(("er", "r")) and "than" in follows:
            adjective, last = word.key, i
            lemmas = [
                a
                for a in getAllLemmas(adjective).get("ADJ", ())
                if adjective in english_inflections(a, "JJR")
            ]
        else:
            continue
        if not lemmas:
            continue
        base = _one_lemma(lemmas, adjective)
        gold = english_form(base, "CMP")
        if gold is None:
            raise Rejected(AMBIGUOUS, f"{base} has no single comparative")
        answer = " ".join(w.key for w in words[i : last + 1])
        if gold != answer:
            raise Rejected(NOT_FOUND, f"{answer!r} is not the comparative {gold!r}")
        wrong = [english_form(base, "SUP"), english_form(base, "CMPX"), base]
        original = sentence[word.start : words[last].end]
        candidates.append(Located(i, last, original, base, _clean(wrong, gold)))
    return _pick(candidates, lemma, "a comparative before than")


# --- Russian locators ----------------------------------------------------------------------


def _parses(word: str) -> list[Any]:
    return list(russian_analyzer().parse(word))


def _ru_prepositional(words: list[Word], sentence: str, lemma: str) -> Located:
    if any(
        p.normal_form.replace("ё", "е") in _RU_DIRECTION_VERBS
        for w in words
        for p in _parses(w.key)
        if p.tag.POS in ("VERB", "INFN")
    ):
        raise Rejected(AMBIGUOUS, "a verb of direction: в/на may take the accusative")
    candidates: list[Located] = []
    for i, word in enumerate(words):
        if word.key not in _RU_LOCATIVE_PREPOSITIONS:
            continue
        for j in range(i + 1, min(i + 4, len(words))):
            parses = [
                p
                for p in _parses(words[j].key)
                if p.tag.POS == "NOUN"
                and ({"loct", "loc2"} & p.tag.grammemes)
                and not _RU_PROPER & p.tag.grammemes
            ]
            if not parses:
                continue
            noun = _one_lemma((p.normal_form for p in parses), words[j].key)
            if any(p.normal_form == noun and "accs" in p.tag for p in _parses(words[j].key)):
                raise Rejected(AMBIGUOUS, f"{words[j].key!r} reads as accusative too")
            number = "plur" if "plur" in parses[0].tag else "sing"
            gold = russian_form(noun, "noun", frozenset({"loct", number}))
            if gold is None:
                raise Rejected(AMBIGUOUS, f"{noun} has no single prepositional form")
            if gold.replace("ё", "е") != words[j].key:
                raise Rejected(NOT_FOUND, f"{words[j].key!r} is not {gold!r}")
            wrong = [
                russian_form(noun, "noun", frozenset({case, number}))
                for case in ("accs", "gent", "datv", "ablt")
            ]
            candidates.append(Located(j, j, words[j].text, noun, _clean(wrong, gold)))
            break
    return _pick(candidates, lemma, "в/на + a noun in the prepositional")


def _ru_past_gender(words: list[Word], sentence: str, lemma: str) -> Located:
    candidates: list[tuple[int, Any]] = []
    for i, word in enumerate(words):
        past = [p for p in _parses(word.key) if p.tag.POS == "VERB" and "past" in p.tag]
        if past:
            candidates.append((i, past))
    located: list[Located] = []
    for i, parses in candidates:
        verb = _one_lemma((p.normal_form for p in parses), words[i].key)
        tag = parses[0].tag
        agreement = (
            {"plur"} if "plur" in tag else {next(g for g in _RU_GENDERS if g in tag), "sing"}
        )
        gold = russian_form(verb, "verb", frozenset({"past", *agreement}))
        if gold is None or gold.replace("ё", "е") != words[i].key:
            raise Rejected(NOT_FOUND, f"{words[i].key!r} is not a past form of {verb}")
        wrong = [
            russian_form(verb, "verb", frozenset(g))
            for g in ({"past", "masc", "sing"}, {"past", "femn", "sing"}, {"past", "plur"})
        ]
        located.append(Located(i, i, words[i].text, verb, _clean(wrong, gold)))
    found = _pick(located, lemma, "a past tense verb")
    _ru_subject_agrees(words, found.first)
    return found


def _ru_subject_agrees(words: list[Word], verb_index: int) -> None:
    """The subject (the nearest nominative noun or pronoun, before the verb or else after
    it) must fix the verb's gender and number, and agree with it."""
    verb_tag = _parses(words[verb_index].key)[0].tag
    order = [*range(verb_index - 1, -1, -1), *range(verb_index + 1, len(words))]
    for j in order:
        first = _parses(words[j].key)[0]
        if first.tag.POS not in ("NOUN", "NPRO") or "nomn" not in first.tag:
            continue
        if words[j].key in ("я", "ты"):
            raise Rejected(AMBIGUOUS, f"{words[j].key!r} does not show gender")
        if "plur" in first.tag or words[j].key in ("мы", "вы"):
            if "plur" not in verb_tag:
                raise Rejected(AGREEMENT, f"{words[j].key} + {words[verb_index].key}")
            return
        gender = next((g for g in _RU_GENDERS if g in first.tag), None)
        if gender is None:
            raise Rejected(AMBIGUOUS, f"{words[j].key!r} has no fixed gender")
        if gender not in verb_tag or "plur" in verb_tag:
            raise Rejected(AGREEMENT, f"{words[j].key} + {words[verb_index].key}")
        return
    raise Rejected(AMBIGUOUS, "no subject shows the gender")


_LOCATORS: dict[str, Callable[[list[Word], str, str], Located]] = {
    "en.past_simple_regular": _en_past_simple(regular=True),
    "en.irregular_past": _en_past_simple(regular=False),
    "en.past_continuous": _en_past_continuous,
    "en.third_person_s": _en_third_person,
    "en.comparatives": _en_comparative,
    "ru.prepositional_case": _ru_prepositional,
    "ru.past_tense_gender": _ru_past_gender,
}


# --- helpers -------------------------------------------------------------------------------


def _clean(forms: Iterable[str | None], gold: str) -> tuple[str, ...]:
    """Distinct forms other than the gold one; None (not applicable to the lemma) dropped."""
    key = gold.casefold().replace("ё", "е")
    seen = {key}
    result: list[str] = []
    for form in forms:
        if not form:
            continue
        norm = form.casefold().replace("ё", "е")
        if norm not in seen:
            seen.add(norm)
            result.append(form)
    return tuple(result)


def _sentence(data: Any, text: str) -> str:
    if data is None:
        data = parse_json_object(text)
    value = data.get("sentence") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise Rejected(INVALID_JSON)
    return value.strip()


def _model_id(backend: LLMBackend) -> str:
    return f"{backend.name}:{backend.model}" if backend.model else backend.name


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@cache
def _themes(language: str) -> dict[str, dict[str, list[Any]]]:
    """topic -> category -> entries of the template lexicon, with the shared `common` ones."""
    raw = yaml.safe_load((DATA_DIR / "themes" / f"{language}.yaml").read_text(encoding="utf-8"))
    common = raw.get("common") or {}
    merged: dict[str, dict[str, list[Any]]] = {}
    for topic_id, categories in (raw.get("lexicon") or {}).items():
        names = {*categories, *common}
        merged[str(topic_id)] = {
            c: [*(categories.get(c) or []), *(common.get(c) or [])] for c in names
        }
    return merged


@cache
def _topic_keywords(language: Language, topic_id: str) -> frozenset[str]:
    """The one-word keywords of a topic (phrases of several words are left to the tagger)."""
    return frozenset(
        key[0]
        for key, topics in topic_lexicon(language).phrases.items()
        if len(key) == 1 and topic_id in topics
    )


@cache
def tagged_topics(language: Language) -> frozenset[str]:
    """Topics the keyword tagger can find in the language (others would always be off topic)."""
    return frozenset(t for topics in topic_lexicon(language).phrases.values() for t in topics)
