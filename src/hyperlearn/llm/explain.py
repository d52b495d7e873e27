"""Grounded explanations of a wrong answer, checked before a learner sees them.

The prompt carries everything the explanation may rest on: the exercise, its gold answer, the
skill's rule from the skill graph and, quoted as data, the learner's answer. The model answers
`{"explanation": "..."}`; the text is shown only when it passes every check below, otherwise
the learner sees the deterministic explanation (the item's own, the skill rule, the correction)
and the reason is counted. Grading never reads any of this.

Checks, each with a stable reason key:
- `invalid_json`: no JSON object with a non-empty "explanation" string.
- `too_short` / `too_long`: outside the character bounds.
- `url_or_markup`: links, e-mail addresses, HTML or Markdown.
- `wrong_language`: not in the explanation language (script share and stop words, words of
  the exercise itself not counted: a Russian form quoted in an English explanation is fine).
- `missing_gold`: the gold form is not mentioned.
- `wrong_answer_as_correct`: the learner's answer, a distractor or any other form is presented
  as the correct one.
- `not_grounded`: no term of the skill's rule, the item's explanation or grammar at all (a
  translation of the sentence, "The correct answer is ...", explains nothing).
A model error (`LLMError`: unavailable, timeout, invalid output) counts under its own reason.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from hyperlearn.core import Item, ItemType, Language, Skill
from hyperlearn.core.grading import tokenize
from hyperlearn.llm.backend import CompletionRequest, LLMBackend, LLMError
from hyperlearn.llm.prompts import load_prompt

logger = logging.getLogger(__name__)

ExplainLanguage = Literal["en", "ru"]
RULES = "rules"
MIN_CHARS = 20
MAX_CHARS = 400
# Share of an explanation's own words (not quoted from the exercise) in its language's script:
# an English explanation of Russian grammar quotes lemmas and endings (писать, он, -ет).
MIN_SCRIPT_SHARE = 0.6

INVALID_JSON = "invalid_json"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
URL_OR_MARKUP = "url_or_markup"
WRONG_LANGUAGE = "wrong_language"
MISSING_GOLD = "missing_gold"
WRONG_AS_CORRECT = "wrong_answer_as_correct"
NOT_GROUNDED = "not_grounded"
CHECK_REASONS = (
    INVALID_JSON,
    TOO_SHORT,
    TOO_LONG,
    URL_OR_MARKUP,
    WRONG_LANGUAGE,
    MISSING_GOLD,
    WRONG_AS_CORRECT,
    NOT_GROUNDED,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"explanation": {"type": "string"}},
    "required": ["explanation"],
}

_LANGUAGE_NAMES = {Language.EN: "English", Language.RU: "Russian"}
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_URL = re.compile(r"https?://|www\.|\S+@\S+\.\w+|\b\w+\.(?:com|org|net|ru|io|html?)\b", re.I)
_MARKUP = re.compile(r"<[^>]+>|\*\*|__|`|^\s*#|^\s*[-*]\s|\[[^\]]*\]\(|&[a-z]+;", re.M)
# Frequent function words: an English explanation has some of the first set, a Russian one of
# the second. Together with the script share they tell the language of a short text.
STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "a",
            "an",
            "is",
            "are",
            "was",
            "were",
            "be",
            "to",
            "of",
            "and",
            "in",
            "on",
            "at",
            "for",
            "with",
            "after",
            "before",
            "this",
            "that",
            "it",
            "you",
            "your",
            "here",
            "because",
            "so",
            "as",
            "by",
            "not",
            "but",
            "or",
            "when",
            "use",
            "uses",
            "used",
            "form",
            "verb",
            "noun",
            "which",
            "its",
            "their",
            "has",
            "have",
            "had",
            "do",
            "does",
            "did",
        ]
    ),
    "ru": frozenset(
        [
            "и",
            "в",
            "во",
            "не",
            "на",
            "что",
            "с",
            "со",
            "по",
            "это",
            "как",
            "а",
            "к",
            "ко",
            "после",
            "для",
            "о",
            "об",
            "от",
            "из",
            "у",
            "но",
            "или",
            "так",
            "потому",
            "здесь",
            "форма",
            "слово",
            "глагол",
            "если",
            "когда",
            "нужно",
            "надо",
            "тут",
            "же",
            "ли",
            "бы",
        ]
    ),
}
# What presents a form as the answer, and what takes that back, within one clause.
_POSITIVE = {
    "en": re.compile(
        r"\b(correct|right|should|must|use|need|needs|fits|proper|appropriate|accepted|"
        r"acceptable|required|works)\b"
    ),
    "ru": re.compile(r"(правильн|верн|нужн|надо|следует|подходит|используй|употребля)"),
}
_NEGATIVE = {
    "en": re.compile(
        r"\b(not|no|never|incorrect|wrong|instead|rather|mistake|error|cannot|wrongly)\b|n't\b"
    ),
    "ru": re.compile(r"(\bне\b|\bнет\b|неправильн|неверн|ошиб|вместо|нельзя)"),
}
_BOTH = {
    "en": re.compile(r"\b(both|also|either|too|equally|as well)\b"),
    "ru": re.compile(r"(\bоба\b|\bобе\b|\bтоже\b|\bтакже\b|\bили\b)"),
}
# A judgement's verdict words are also the words of praise and blame, so a wrong verdict is
# found by what a clause claims about the sentence rather than by the word alone.
_VERDICT_CLAIMS = {
    ("en", "incorrect"): re.compile(
        r"\b(is|was|looks|sounds)\s+(correct|right|fine|grammatical)\b"
    ),
    ("en", "correct"): re.compile(
        r"\b(is|was|looks|sounds)\s+(incorrect|wrong|ungrammatical)\b|\b(a|an|one)\s+(mistake|error)\b"
    ),
    ("ru", "incorrect"): re.compile(r"(?<!не)(правильно|правильное|верно|верное)\b"),
    ("ru", "correct"): re.compile(r"(неправильн|неверн|ошибк)"),
}
_DENIAL = {
    "en": re.compile(r"\b(not|no|never)\b|n't\b"),
    "ru": re.compile(r"(\bне\b|\bнет\b|\bбез\b)"),
}
_CLAUSE = re.compile(r"[.;:!?\n]|,|\bbut\b|\bwhereas\b|\bно\b|\bа\b")
_NAMED_ANSWER = {
    "en": re.compile(
        r"\b(?:correct|right)\s+(?:answer|form|word|verb|choice|option|ending|version)\s+"
        r"(?:here\s+)?(?:is|would be)\s+(.{0,60})"
    ),
    "ru": re.compile(r"правильн\w*\s+(?:ответ|форма|вариант|слово)\s*[:—-]?\s*(.{0,60})"),
}
_NOT_A_MENTION = r"(?:answer|form|version|word|option|choice|ответ|форма|вариант)\b"
# Words that show an explanation talks about grammar, besides the terms of the skill's rule;
# stems cover the inflected forms (Russian) and derivations (English).
GRAMMAR_TERMS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "tense",
            "past",
            "present",
            "future",
            "verb",
            "noun",
            "adjective",
            "adverb",
            "article",
            "preposition",
            "pronoun",
            "subject",
            "object",
            "singular",
            "plural",
            "form",
            "ending",
            "base",
            "infinitive",
            "participle",
            "gerund",
            "comparative",
            "superlative",
            "conditional",
            "passive",
            "continuous",
            "perfect",
            "simple",
            "regular",
            "irregular",
            "case",
            "gender",
            "masculine",
            "feminine",
            "neuter",
            "agree",
            "agrees",
            "agreement",
            "rule",
            "auxiliary",
            "modal",
            "clause",
            "countable",
            "uncountable",
            "-s",
            "-es",
            "-ed",
            "-ing",
        ]
    ),
    "ru": frozenset(
        [
            "падеж",
            "род",
            "число",
            "время",
            "глагол",
            "форма",
            "окончание",
            "предлог",
            "правило",
            "вид",
            "лицо",
        ]
    ),
}
GRAMMAR_STEMS: dict[str, tuple[str, ...]] = {
    "en": ("nominativ", "accusativ", "genitiv", "dativ", "instrumental", "prepositional"),
    "ru": (
        "падеж",
        "существительн",
        "прилагательн",
        "глагол",
        "окончани",
        "предлог",
        "мужск",
        "женск",
        "средн",
        "прошедш",
        "настоящ",
        "будущ",
        "множественн",
        "единственн",
        "именительн",
        "родительн",
        "дательн",
        "винительн",
        "творительн",
        "предложн",
        "согласу",
        "спряжени",
        "совершенн",
        "несовершенн",
        "инфинитив",
    ),
}
_GOLD_MARK = "\u27e6gold\u27e7"  # stands for a mention of the gold form while checking


@dataclass(frozen=True, slots=True)
class ExplanationResult:
    """What the learner is shown: `source` is "model:<backend>" or "rules"; `reason` says why
    a model explanation was not used (None when it was, or when no model was asked)."""

    text: str
    source: str
    reason: str | None = None
    latency_ms: float = 0.0
    model_text: str = ""  # what the model answered, shown or not ("" when it gave nothing)

    @property
    def from_model(self) -> bool:
        return self.source != RULES


def deterministic_explanation(item: Item, skill: Skill, expected: str) -> str:
    """The explanation that needs no model, from what practice feedback shows: the gold
    answer, the correction of a judged sentence, the item's own explanation or else the rule
    of its skill in the skill graph."""
    parts = [f"The correct answer is “{expected}”."]
    if item.correction and normalize_text(item.correction) != normalize_text(expected):
        parts.append(f"Correct version: “{item.correction}”.")
    parts.append(item.explanation or skill.explanation)
    return " ".join(p.strip() for p in parts if p.strip())


def normalize_text(text: str) -> str:
    """Lower case, ё as е, one kind of quote and apostrophe, single spaces."""
    text = text.casefold().replace("ё", "е").replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def gold_forms(item: Item, expected: str) -> tuple[str, ...]:
    """The forms an explanation may mention to name the gold answer (any one suffices): the
    accepted answers of a gap, the words a correction changes, a judgement's verdict and the
    words its correction changes."""
    if item.type in (ItemType.CLOZE, ItemType.CHOICE):
        return _unique([expected, *item.answers])
    if item.type is ItemType.CORRECTION:
        return _unique([*_changed(item.text, expected, item.language), expected])
    forms = [expected]
    if item.correction:
        forms += _changed(item.text, item.correction, item.language)
    return _unique(forms)


def wrong_forms(item: Item, answer: str, expected: str) -> tuple[str, ...]:
    """Forms that must not be presented as correct: the learner's answer (or, for whole
    sentences, the words where it differs from the gold) and every distractor."""
    if item.type in (ItemType.CORRECTION, ItemType.JUDGEMENT) and len(answer.split()) > 2:
        candidates = _changed(expected, answer, item.language)
    else:
        candidates = [answer]
    candidates += list(item.distractors)
    accepted = {normalize_text(a) for a in (*item.answers, expected)}
    return _unique(c for c in candidates if normalize_text(c) not in accepted)


def check_explanation(
    text: str,
    item: Item,
    answer: str,
    expected: str,
    language: ExplainLanguage = "en",
    min_chars: int = MIN_CHARS,
    max_chars: int = MAX_CHARS,
    rule: str = "",
) -> str | None:
    """None when `text` may be shown as the explanation of `answer`, else the reason key.
    `rule` is the skill's name and rule from the skill graph, which a grounded explanation
    draws its terms from."""
    stripped = text.strip()
    if len(stripped) < min_chars:
        return TOO_SHORT
    if len(stripped) > max_chars:
        return TOO_LONG
    if _URL.search(stripped) or _MARKUP.search(stripped):
        return URL_OR_MARKUP
    if not is_language(stripped, language, _exercise_words(item, answer)):
        return WRONG_LANGUAGE
    masked = _mask(normalize_text(stripped), gold_forms(item, expected))
    # The worse fault first: a wrong answer called correct, whether or not the gold is named.
    if item.type is ItemType.JUDGEMENT:
        if _contradicts_verdict(masked, expected, language):
            return WRONG_AS_CORRECT
    elif _presents_wrong(masked, wrong_forms(item, answer, expected), language):
        return WRONG_AS_CORRECT
    if _GOLD_MARK not in masked:
        return MISSING_GOLD
    if not _grounded(stripped, item, language, rule):
        return NOT_GROUNDED
    return None


def _grounded(text: str, item: Item, language: ExplainLanguage, rule: str) -> bool:
    """Whether the text says something about the grammar: a term of the skill's rule or the
    item's explanation, or a grammar word, outside the exercise's own words (a translation of
    the sentence, or "The correct answer is", explains nothing)."""
    terms = {
        w for source in (rule, item.explanation) for w in words_of(source) if len(w) >= 4
    } - STOP_WORDS[language]
    terms |= GRAMMAR_TERMS[language]
    terms -= {normalize_text(w) for w in _exercise_words(item, "")}
    return any(w in terms or w.startswith(GRAMMAR_STEMS[language]) for w in words_of(text))


def is_language(text: str, language: ExplainLanguage, ignore: Iterable[str] = ()) -> bool:
    """Whether `text` is written in `language`: most of its words, those in `ignore` (words
    quoted from the exercise) aside, are in the language's script, and it has at least one of
    the language's stop words (two from eight words up), more than of the other language's
    outside the quoted words."""
    skip = {normalize_text(w) for w in ignore}
    words = words_of(text)
    own = [w for w in words if w not in skip]
    if not own:
        return False
    if sum(1 for w in own if in_script(w, language)) / len(own) < MIN_SCRIPT_SHARE:
        return False
    other = "ru" if language == "en" else "en"
    stops = sum(1 for w in words if w in STOP_WORDS[language])
    foreign = sum(1 for w in own if w in STOP_WORDS[other])
    return stops >= (2 if len(words) >= 8 else 1) and stops > foreign


def in_script(word: str, language: ExplainLanguage) -> bool:
    """Whether a (lower-case) word is written in the script of `language` only."""
    if language == "en":
        return all("a" <= c <= "z" or c in "'-" for c in word)
    return all("а" <= c <= "я" or c in "ё'-" for c in word)


def words_of(text: str) -> list[str]:
    """The words of `text`, normalised (see normalize_text)."""
    return [normalize_text(w) for w in _WORD.findall(text)]


def parse_explanation(data: Any, text: str) -> str | None:
    """The "explanation" string of the model's JSON answer, or None."""
    if data is None:
        data = parse_json_object(text)
    if isinstance(data, dict):
        value = data.get("explanation")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def parse_json_object(text: str) -> Any:
    """The first JSON object in a model's text (code fences and chatter around it ignored),
    or None."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return value
    return None


@dataclass
class Explainer:
    """Asks `backend` for explanations of wrong answers and keeps only those that pass the
    checks. `outcomes` counts "model" for each shown model explanation and every reason for
    which one was not shown (thread-safe: one explainer serves a whole process)."""

    backend: LLMBackend
    language: ExplainLanguage = "en"
    min_chars: int = MIN_CHARS
    max_chars: int = MAX_CHARS
    outcomes: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def explain(self, item: Item, skill: Skill, answer: str, expected: str) -> ExplanationResult:
        started = time.perf_counter()
        text, reason = self._ask(item, skill, answer, expected)
        latency_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            self.outcomes["model" if reason is None else reason] += 1
        if reason is None and text is not None:
            return ExplanationResult(text, f"model:{self.backend.name}", None, latency_ms, text)
        logger.info("model explanation of item %s not used: %s", item.id, reason)
        fallback = deterministic_explanation(item, skill, expected)
        return ExplanationResult(fallback, RULES, reason, latency_ms, text or "")

    def prompt(self, item: Item, skill: Skill, answer: str, expected: str) -> CompletionRequest:
        template = load_prompt("explain", self.language)
        rendered = template.render(
            item_language_name=_LANGUAGE_NAMES[item.language],
            item_type=str(item.type),
            item_text=item.text,
            gold=expected,
            correction=item.correction,
            skill_name=skill.name,
            rule=skill.explanation,
            example=skill.example,
            learner_answer=answer,
            min_chars=self.min_chars,
            max_chars=self.max_chars,
        )
        return CompletionRequest(
            prompt=rendered.prompt,
            system=rendered.system,
            schema=SCHEMA,
            max_tokens=rendered.max_tokens,
            temperature=0.0,
            seed=0,
        )

    def _ask(
        self, item: Item, skill: Skill, answer: str, expected: str
    ) -> tuple[str | None, str | None]:
        try:
            completion = self.backend.complete(self.prompt(item, skill, answer, expected))
        except LLMError as error:
            return None, error.reason
        text = parse_explanation(completion.data, completion.text)
        if text is None:
            return completion.text, INVALID_JSON
        rule = f"{skill.name}. {skill.explanation}"
        reason = check_explanation(
            text, item, answer, expected, self.language, self.min_chars, self.max_chars, rule
        )
        return text, reason


# --- helpers -------------------------------------------------------------------------------


def _unique(forms: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for form in forms:
        key = normalize_text(form)
        if key and key not in seen:
            seen[key] = form.strip()
    return tuple(seen.values())


def _changed(before: str, after: str, language: Language) -> list[str]:
    """The runs of words of `after` that replace or add to words of `before`."""
    old = [t.key for t in tokenize(before, language) if t.key[:1].isalnum()]
    new_tokens = [t for t in tokenize(after, language) if t.key[:1].isalnum()]
    matcher = difflib.SequenceMatcher(a=old, b=[t.key for t in new_tokens], autojunk=False)
    return [
        " ".join(t.surface for t in new_tokens[j1:j2])
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert") and j2 > j1
    ]


def _exercise_words(item: Item, answer: str) -> set[str]:
    """Words an explanation may quote from the exercise whatever language it is written in."""
    texts = [item.text, *item.answers, *item.distractors, item.hint, item.correction, answer]
    return {w for text in texts for w in _WORD.findall(text)}


def _mask(text: str, forms: Iterable[str]) -> str:
    """`text` with every whole-word mention of a gold form replaced by a marker, longest
    forms first (so "was playing" is one mention, not "playing" inside it)."""
    for form in sorted((normalize_text(f) for f in forms), key=len, reverse=True):
        # "correct answer" is not a mention of the verdict "correct" (nor "form" of a form).
        text = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)(?!\s+{_NOT_A_MENTION})", _GOLD_MARK, text)
    return text


def _contradicts_verdict(masked: str, expected: str, language: ExplainLanguage) -> bool:
    """For a judgement: a clause that calls the sentence what the verdict says it is not
    ("the sentence is correct" when it is incorrect), without negating it."""
    claim = _VERDICT_CLAIMS[(language, expected)]
    denial = _DENIAL[language]
    return any(
        claim.search(clause) and not denial.search(clause) for clause in _CLAUSE.split(masked)
    )


def _presents_wrong(masked: str, wrong: Iterable[str], language: ExplainLanguage) -> bool:
    positive, negative = _POSITIVE[language], _NEGATIVE[language]
    for form in wrong:
        pattern = re.compile(rf"(?<!\w){re.escape(normalize_text(form))}(?!\w)")
        for clause in _CLAUSE.split(masked):
            if not pattern.search(clause) or not positive.search(clause):
                continue
            if negative.search(clause):
                continue
            # A clause that also names the gold form praises the gold form ("use played, as
            # play is the base form"), unless it puts both on a par ("both ... are correct").
            if _GOLD_MARK not in clause or _BOTH[language].search(clause):
                return True
    # "The correct answer is X" naming anything other than the gold form.
    for match in _NAMED_ANSWER[language].finditer(masked):
        named = match.group(1).lstrip(" \"'“«")
        if not named.startswith(_GOLD_MARK):
            return True
    return False
