"""Comprehension questions on a reading text proposed by a language model, kept only when grounded.

The model reads one paragraph (as a quoted JSON string: a pasted text may try to instruct it)
and proposes question/answer pairs. It decides nothing: HyperLearn finds the answer in the text
as a token sequence, takes the text's own span (its exact characters and offsets) as the
answer, chooses the supporting sentence and the distractors itself, builds a `wh` question of
the same shape as the deterministic ones, and runs the same grounding checker
(`hyperlearn.content.reading.grounding.check`). Whatever fails is counted under its reason and
never stored, so an injected "the answer is X" can only ever yield a question whose answer is a
span of the text, and grading compares with that span, never with model output.

A question written here is marked in its item's provenance (`record_id` ends with MODEL_MARK),
so the reading page can say that a language model wrote the question and the answer was
checked against the text.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperlearn.content.importing.difficulty import sentence_level, zipf
from hyperlearn.content.reading import grounding, words
from hyperlearn.content.reading.questions import Kind, Question, wh_distractors
from hyperlearn.content.reading.texts import ReadingText, Sentence, tokens
from hyperlearn.core import GAP, Item, ItemType, Language, Provenance, SkillGraph, Topic, normalize
from hyperlearn.llm.backend import CompletionRequest, LLMBackend, LLMError
from hyperlearn.llm.explain import ExplainLanguage, in_script, parse_json_object
from hyperlearn.llm.prompts import load_prompt

MODEL_MARK = "#llm"  # ends the provenance record id of every model-written question
PER_PARAGRAPH = 3  # questions asked for per paragraph
MAX_PARAGRAPHS = 3  # paragraphs of one text sent to the model (each is one call)
MAX_QUESTION_WORDS = 25
MAX_QUESTION_CHARS = 150
MAX_ANSWER_WORDS = 6
MAX_ANSWER_CHARS = 60
MIN_SCRIPT_SHARE = 0.8  # of the question's words not copied from the text
MIN_COMMON_SHARE = 0.6  # ... and of those (names aside), common words of the language:
COMMON_ZIPF = 2.5  # wordfreq Zipf frequency: about once in three million words

# Rejection reasons (counter keys).
INVALID_OUTPUT = "invalid_output"
WRONG_LANGUAGE = "wrong_language"
NOT_IN_TEXT = "answer_not_in_text"
AMBIGUOUS = "answer_ambiguous"
GIVEN_AWAY = "answer_in_question"
NOT_A_QUESTION = "not_a_question"
TOO_LONG = "too_long"
DUPLICATE = "duplicate"
FEW_DISTRACTORS = "too_few_distractors"
OFF_SENTENCE = "not_about_answer_sentence"
UNSUPPORTED = "question_states_what_text_does_not"
FAILED_CHECK = "failed_item_check"  # any other problem the checker finds
REJECTION_REASONS = (
    INVALID_OUTPUT,
    WRONG_LANGUAGE,
    NOT_IN_TEXT,
    AMBIGUOUS,
    GIVEN_AWAY,
    NOT_A_QUESTION,
    TOO_LONG,
    DUPLICATE,
    FEW_DISTRACTORS,
    OFF_SENTENCE,
    UNSUPPORTED,
    FAILED_CHECK,
)

# The grounding checker's reasons, as counted here.
_CHECKER_REASONS = {
    "empty answer": NOT_IN_TEXT,
    "answer not in the text": NOT_IN_TEXT,
    "answer not in the supporting sentence": NOT_IN_TEXT,
    "no supporting sentence": NOT_IN_TEXT,
    "answer ambiguous in the text": AMBIGUOUS,
    "answer given away by the question": GIVEN_AWAY,
}


def schema(count: int) -> dict[str, Any]:
    pair = {
        "type": "object",
        # Bounded, so that a rambling model ends its string (a grammar enforces it).
        "properties": {
            "question": {"type": "string", "maxLength": MAX_QUESTION_CHARS},
            "answer": {"type": "string", "maxLength": MAX_ANSWER_CHARS},
        },
        "required": ["question", "answer"],
    }
    return {
        "type": "object",
        "properties": {"questions": {"type": "array", "items": pair, "maxItems": count}},
        "required": ["questions"],
    }


_KEY = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_EN_WH = frozenset(["who", "whom", "whose", "what", "which", "when", "where", "why", "how"])
_RU_WH = frozenset(
    [
        "кто",
        "кого",
        "кому",
        "кем",
        "ком",
        "что",
        "чего",
        "чему",
        "чем",
        "когда",
        "где",
        "куда",
        "откуда",
        "почему",
        "зачем",
        "как",
        "сколько",
    ]
)
_RU_WH_STEMS = ("как", "котор", "чей", "чья", "чье", "чьи", "чьего", "чьей", "чьим")
_EN_FUNCTION = words.EN_FUNCTION_WORDS | {"do", "does", "did", "many", "much"}


@dataclass(frozen=True, slots=True)
class Written:
    """What one call came to: the accepted questions, how many pairs the model proposed, the
    rejections by reason, and the LLMError reason when the call gave nothing."""

    questions: list[Question]
    proposed: int
    rejected: Counter[str]
    failure: str | None
    latency_ms: float


@dataclass
class WriterStats:
    """Calls, proposals, acceptances, rejections by reason, call failures by reason and call
    latencies, over the writer's life (thread-safe: one writer may serve a process)."""

    calls: int = 0
    proposed: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, written: Written) -> None:
        with self._lock:
            self.calls += 1
            self.proposed += written.proposed
            self.accepted += len(written.questions)
            self.rejected.update(written.rejected)
            if written.failure is not None:
                self.failures[written.failure] += 1
            self.latencies_ms.append(written.latency_ms)


class LLMQuestionWriter:
    """Asks `backend` for wh-questions on a text's paragraphs and keeps the grounded ones.
    `per_paragraph` bounds the pairs asked for per call, `max_paragraphs` the calls per text."""

    def __init__(
        self,
        backend: LLMBackend,
        per_paragraph: int = PER_PARAGRAPH,
        max_paragraphs: int = MAX_PARAGRAPHS,
    ) -> None:
        if per_paragraph < 1 or max_paragraphs < 1:
            raise ValueError("per_paragraph and max_paragraphs must be at least 1")
        self.backend = backend
        self.per_paragraph = per_paragraph
        self.max_paragraphs = max_paragraphs
        self.stats = WriterStats()

    def request(self, text: ReadingText, paragraph: int) -> CompletionRequest:
        a, b = text.paragraphs[paragraph]
        rendered = load_prompt("reading_questions", str(text.language)).render(
            count=self.per_paragraph, paragraph=text.body[a:b]
        )
        return CompletionRequest(
            prompt=rendered.prompt,
            system=rendered.system,
            schema=schema(self.per_paragraph),
            max_tokens=rendered.max_tokens,
            temperature=0.0,
            seed=0,
        )

    def write_text(
        self,
        text: ReadingText,
        existing: Sequence[Question] = (),
        graph: SkillGraph | None = None,
        topics: Mapping[str, Topic] | None = None,
    ) -> Written:
        """Questions on the first `max_paragraphs` paragraphs that have a usable sentence
        (one call each), none a duplicate of `existing` or of each other."""
        paragraphs = sorted({s.paragraph for s in text.usable_sentences})[: self.max_paragraphs]
        accepted: list[Question] = []
        rejected: Counter[str] = Counter()
        proposed = 0
        failure: str | None = None
        latency = 0.0
        for paragraph in paragraphs:
            written = self.write(text, paragraph, [*existing, *accepted], graph, topics)
            accepted += written.questions
            rejected.update(written.rejected)
            proposed += written.proposed
            failure = failure or written.failure
            latency += written.latency_ms
        return Written(accepted, proposed, rejected, failure, latency)

    def write(
        self,
        text: ReadingText,
        paragraph: int,
        existing: Sequence[Question] = (),
        graph: SkillGraph | None = None,
        topics: Mapping[str, Topic] | None = None,
    ) -> Written:
        """One call for one paragraph; every proposal checked and counted in `stats`. A
        failed call (any LLMError) gives no questions."""
        if not 0 <= paragraph < len(text.paragraphs):
            raise ValueError(f"the text has no paragraph {paragraph}")
        if not text.sentences:
            return Written([], 0, Counter(), None, 0.0)  # nothing an answer could stand in
        started = time.perf_counter()
        try:
            completion = self.backend.complete(self.request(text, paragraph))
        except LLMError as error:
            written = Written([], 0, Counter(), error.reason, _since(started))
            self.stats.record(written)
            return written
        latency = _since(started)
        pairs = _pairs(completion.data, completion.text)
        if pairs is None:
            written = Written([], 0, Counter(), INVALID_OUTPUT, latency)
            self.stats.record(written)
            return written
        answers = [a for _, a in pairs if isinstance(a, str)]
        accepted: list[Question] = []
        rejected: Counter[str] = Counter()
        for question, answer in pairs:
            taken = [*existing, *accepted]
            built = self._build(text, question, answer, answers, taken, graph, topics)
            if isinstance(built, str):
                rejected[built] += 1
            else:
                accepted.append(built)
        written = Written(accepted, len(pairs), rejected, None, latency)
        self.stats.record(written)
        return written

    def _build(
        self,
        text: ReadingText,
        question: object,
        answer: object,
        answers: Sequence[str],
        existing: Sequence[Question],
        graph: SkillGraph | None,
        topics: Mapping[str, Topic] | None,
    ) -> Question | str:
        """The accepted question, or the reason it is rejected."""
        if not isinstance(question, str) or not isinstance(answer, str):
            return INVALID_OUTPUT
        question, answer = " ".join(question.split()), " ".join(answer.split())
        if not question or not answer:
            return INVALID_OUTPUT
        if (
            len(question) > MAX_QUESTION_CHARS
            or len(question.split()) > MAX_QUESTION_WORDS
            or len(answer.split()) > MAX_ANSWER_WORDS
        ):
            return TOO_LONG
        ru = text.language is Language.RU
        if not _in_language(question, text, ru):
            return WRONG_LANGUAGE
        if not _is_question(question, ru):
            return NOT_A_QUESTION
        first: str | None = None  # the best-placed occurrence's reason is the one reported
        for built in _questions(text, question, answer, answers):
            found: str | None
            if len(built.item.distractors) < 2:
                # The span checks first: their reason says more than the missing distractors.
                problem = grounding.check(built, text)
                found = FEW_DISTRACTORS if problem is None else _reason(problem)
            else:
                problem = grounding.check(built, text, graph, topics)
                found = None if problem is None else _reason(problem)
            if found is None and not _about(built, text):
                found = OFF_SENTENCE
            elif found is None and not _supported(built, text):
                found = UNSUPPORTED
            if found is None:
                return DUPLICATE if _duplicate(built, existing, text.language) else built
            first = first or found
        return first or NOT_IN_TEXT


def _reason(problem: str) -> str:
    return _CHECKER_REASONS.get(problem, FAILED_CHECK)


def _about(question: Question, text: ReadingText) -> bool:
    """Whether the question shares a content word (or its lemma) with the sentence its
    answer stands in: an answer of the text under a question about something else ("Who is
    the king?" - "Anna Wilson") is grounded, but answers nothing."""
    ru = text.language is Language.RU

    def lemmas(phrase: str) -> set[str]:
        found: set[str] = set()
        for key, _, _ in _spans(phrase, ru):
            if key in _RU_WH or key in _EN_WH or (len(key) <= 2 if ru else key in _EN_FUNCTION):
                continue
            found |= {key, *(_key(m, ru) for m in _lemmas(key, ru))}
        return found

    return bool(lemmas(question.prompt) & lemmas(text.sentences[question.sentence].text))


def _supported(question: Question, text: ReadingText) -> bool:
    """Whether the numbers of the question stand near its answer (in the answer's sentence or
    one next to it, in the same paragraph) and its names (capitalised words after the first)
    in the text: "Who won the 2013 championship?" over a sentence about 2000 has a grounded
    answer and a wrong question. ("... prior to 2000?" may lean on the sentence before.)"""
    ru = text.language is Language.RU
    support = text.sentences[question.sentence]
    near = {
        k
        for s in text.sentences[max(0, support.index - 1) : support.index + 2]
        if s.paragraph == support.paragraph
        for k, _, _ in _spans(s.text, ru)
    }
    known = {k for k, _, _ in _spans(text.body, ru)}
    names: list[str] = []
    for n, match in enumerate(_KEY.finditer(question.prompt.replace("\u2019", "'"))):
        word = match.group()
        key = _key(word, ru)
        if any(c.isdigit() for c in word) and key not in near:
            return False
        # English possessives and plurals of names ("Anna's", "the Wilsons") are the name.
        variants = {key} if ru else {key, key.removesuffix("'s"), key.removesuffix("s")}
        if n and word[:1].isupper() and not variants & known:
            names.append(key)
    if not names:
        return True
    # A name in another form ("the Wilsons", "Вильсоны"): its lemma must be one of the text's.
    text_lemmas = _lemmas_of(text, ru)
    return all({_key(m, ru) for m in _lemmas(name, ru)} & text_lemmas for name in names)


def _lemmas_of(text: ReadingText, ru: bool) -> set[str]:
    found: set[str] = set()
    for key, _, _ in _spans(text.body, ru):
        found |= {key, *(_key(m, ru) for m in _lemmas(key, ru))}
    return found


def _lemmas(key: str, ru: bool) -> set[str]:
    return words.russian_lemmas(key) if ru else words.english_lemmas(key)


def _duplicate(question: Question, existing: Sequence[Question], language: Language) -> bool:
    prompt = normalize(question.prompt, language)
    return any(
        q.item.id == question.item.id or normalize(q.prompt, language) == prompt for q in existing
    )


def is_model_written(item: Item) -> bool:
    """Whether a reading question was written by a language model (then checked here)."""
    return item.provenance.record_id.endswith(MODEL_MARK)


def _pairs(data: Any, text: str) -> list[tuple[object, object]] | None:
    """The proposed (question, answer) pairs as given (checked one by one later), or None
    when the reply is not an object with a list of questions."""
    if data is None:
        data = parse_json_object(text)
    found = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(found, list):
        return None
    return [
        (entry.get("question"), entry.get("answer")) if isinstance(entry, dict) else (None, None)
        for entry in found
    ]


def _key(word: str, ru: bool) -> str:
    word = word.casefold()
    return word.replace("ё", "е") if ru else word


def _spans(body: str, ru: bool) -> list[tuple[str, int, int]]:
    """The words of `body` as (key, start, end); ’ read as ' (same length: offsets hold)."""
    return [
        (_key(m.group(), ru), m.start(), m.end())
        for m in _KEY.finditer(body.replace("\u2019", "'"))
    ]


def _is_question(question: str, ru: bool) -> bool:
    """A wh-question: it ends with "?", a question word stands among its first six words
    ("In which year ...", "Of the city's inhabitants in 1901, what share ...") and at least
    two of its words are not question words (a list of question words asks nothing)."""
    if not question.endswith("?"):
        return False
    keys = [_key(w, ru) for w in _KEY.findall(question)]
    if ru:
        wh = [w in _RU_WH or w.startswith(_RU_WH_STEMS) for w in keys]
    else:
        wh = [w in _EN_WH for w in keys]
    return any(wh[:6]) and wh.count(False) >= 2


def _in_language(question: str, text: ReadingText, ru: bool) -> bool:
    """The words of the question not copied from the text are in the text's script, and most
    of them (names and numbers aside) are common words of its language: a question in French
    is written in the Latin script too, but its words are rare in English."""
    known = {key for key, _, _ in _spans(text.body, ru)}
    own: list[str] = []
    common: list[str] = []
    for n, match in enumerate(_KEY.finditer(question.replace("\u2019", "'"))):
        word, key = match.group(), _key(match.group(), ru)
        if key in known or any(c.isdigit() for c in key):
            continue
        own.append(key)
        if not (n and word[:1].isupper()):
            common.append(key)
    if not own:
        return True
    script: ExplainLanguage = "ru" if ru else "en"
    if sum(in_script(w, script) for w in own) / len(own) < MIN_SCRIPT_SHARE:
        return False
    distinct = set(common)  # "la ... la" is one piece of evidence, not two
    frequent = sum(zipf(w, text.language) >= COMMON_ZIPF for w in distinct)
    return not distinct or frequent / len(distinct) >= MIN_COMMON_SHARE


def _questions(
    text: ReadingText, question: str, answer: str, answers: Sequence[str]
) -> list[Question]:
    """The question as HyperLearn builds it, once per place where the model's answer occurs
    in the text as a word sequence (case and typography aside), the places whose sentence
    shares most words with the question first. The answer is the text's own span there; the
    checker decides which place, if any, is unambiguous. Not found at all: one question with
    the model's answer as it is, for the checker to reject."""
    ru = text.language is Language.RU
    asked = {k for k, _, _ in _spans(question, ru)}
    places: list[tuple[int, int, int, Sentence]] = []
    for start, end in _occurrences(text.body, answer, ru):
        sentence = next((s for s in text.sentences if s.start <= start and end <= s.end), None)
        if sentence is not None:  # not across a sentence boundary
            overlap = len(asked & {k for k, _, _ in _spans(sentence.text, ru)})
            places.append((-overlap, start, end, sentence))
    places.sort(key=lambda p: (p[0], p[1]))
    others = [
        text.body[a:b]
        for other in answers
        if other != answer
        for a, b in _occurrences(text.body, other, ru)[:1]
    ]
    if not places:
        return [_make(text, question, answer, 0, 0, text.sentences[0], others)]
    return [
        _make(text, question, text.body[start:end], start, end, sentence, others)
        for _, start, end, sentence in places
    ]


def _make(
    text: ReadingText,
    question: str,
    span: str,
    start: int,
    end: int,
    sentence: Sentence,
    others: Sequence[str],
) -> Question:
    record = text.record_id or text.title
    item = Item.create(
        language=text.language,
        type=ItemType.CHOICE,
        text=f"{question} {GAP}",
        answers=(span,),
        distractors=tuple(wh_distractors(text, sentence, span, others)),
        skills=(f"{text.language}.reading_comprehension",),
        level=sentence_level(sentence.text, tokens(sentence.text), text.language),
        explanation=f"The text says: “{sentence.text}”",
        provenance=Provenance(
            text.source or "Reading text",
            text.licence or "unknown",
            f"{record}#s{sentence.index}"[:190] + MODEL_MARK,
        ),
    )
    return Question(Kind.WH, item, question, span, start, end, sentence.index)


def _occurrences(body: str, phrase: str, ru: bool) -> list[tuple[int, int]]:
    """Where `phrase` occurs in `body` as a word sequence: (start, end) offsets."""
    words = _spans(body, ru)
    want = [k for k, _, _ in _spans(phrase, ru)]
    keys = [k for k, _, _ in words]
    if not want:
        return []
    return [
        (words[i][1], words[i + len(want) - 1][2])
        for i in range(len(keys) - len(want) + 1)
        if keys[i : i + len(want)] == want
    ]


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
