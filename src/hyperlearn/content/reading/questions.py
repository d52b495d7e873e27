"""Questions built deterministically from a reading text, every answer a span of the text.

Four kinds, each stored as an ordinary Item so that answering feeds the learner and memory
models through the same path as every other exercise:

- `cloze` (choice): a key sentence with one content word gapped; distractors are other words of
  the text with the same part of speech, put into the same form by the morphology engine, from
  a similar frequency band (Zipf within one step);
- `vocabulary` (cloze with the lemma as hint): a word above B1 (English: cefrpy; Russian: word
  frequency) whose form in the text differs from its dictionary form; the learner writes the
  form the sentence needs (lemminflect / pymorphy3 check it is a form of the lemma). There is
  no offline WordNet lexicon on PyPI, so meaning-choice questions are not built;
- `wh` (choice): who/what (the subject), when (a date phrase), how many (a number and its
  noun), where (in/at + a name), made by moving the phrase out of the sentence's first clause
  (English with do-support from lemminflect, Russian with pymorphy3 re-inflection);
- `true_false` (judgement): a sentence of the text as it is (true) or with one number or name
  swapped for another of the text (false; its correction is the original sentence).

Nothing is trusted: `grounding.check` re-finds each answer in the text and rejects the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hyperlearn.content.importing.difficulty import sentence_level
from hyperlearn.content.morphology import russian_analyzer
from hyperlearn.content.reading import words
from hyperlearn.content.reading.texts import ReadingText, Sentence, tokens
from hyperlearn.core import GAP, CEFRLevel, Item, ItemType, Language, Provenance


class Kind(StrEnum):
    CLOZE = "cloze"
    VOCABULARY = "vocabulary"
    WH = "wh"
    TRUE_FALSE = "true_false"
    NOT_GIVEN = "not_given"
    COLLOCATION = "collocation"


NOT_GIVEN = "not given"  # the answer of a NOT_GIVEN question (true/false are judgements)


@dataclass(frozen=True, slots=True)
class Question:
    kind: Kind
    item: Item
    prompt: str  # what the reading page shows (the question, statement or gapped sentence)
    answer: str  # the span of the text; for true/false, the sentence that decides it
    start: int  # offsets of `answer` in ReadingText.body
    end: int
    sentence: int  # index of the supporting sentence
    # NOT_GIVEN: the name swapped in for `answer` (the sentence's subject), absent from the text.
    absent: str = ""


@dataclass(frozen=True, slots=True)
class Limits:
    """How many questions of each kind one text gets at most."""

    cloze: int = 4
    vocabulary: int = 3
    wh: int = 8
    true_false: int = 2
    not_given: int = 1
    collocation: int = 2


@dataclass(frozen=True, slots=True)
class Tok:
    text: str
    start: int  # offset in the sentence
    end: int


_TOK = re.compile(r"[^\W_]+(?:['’\-.,][^\W_]+)*|[^\w\s]")
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")
_BOUNDARY = frozenset({",", ";", ":", "–", "—", "(", ")", '"', "“", "”", "«", "»"})
_EN_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_RU_MONTH = re.compile(
    r"^(январ|феврал|март|апрел|ма|июн|июл|август|сентябр|октябр|ноябр|декабр)(ь|я|е|а|й|)$"
)
_EN_NUMBER_WORDS = frozenset(
    [
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "fifteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "hundred",
        "hundreds",
        "thousand",
        "thousands",
        "million",
        "millions",
        "dozens",
    ]
)
_EN_MODIFIERS = frozenset(
    [
        "just",
        "only",
        "about",
        "around",
        "nearly",
        "almost",
        "over",
        "some",
        "roughly",
        "approximately",
    ]
)
_RU_MODIFIERS = frozenset(
    ["всего", "лишь", "около", "почти", "более", "менее", "свыше", "примерно", "только"]
)
_RANGE = frozenset(["and", "и", "–", "-", "—", "between", "между", "from", "to", "по"])
_GOVERNING = frozenset(
    [
        "with",
        "of",
        "in",
        "at",
        "by",
        "to",
        "from",
        "for",
        "on",
        "into",
        "than",
        "с",
        "со",
        "в",
        "во",
        "на",
        "к",
        "ко",
        "по",
        "о",
        "об",
        "от",
        "до",
        "из",
        "у",
        "за",
        "под",
        "над",
        "при",
        "для",
        "без",
    ]
)
_EN_PERSON_HINTS = frozenset(
    [
        "president",
        "minister",
        "king",
        "queen",
        "mr",
        "mrs",
        "ms",
        "dr",
        "professor",
        "coach",
        "player",
        "players",
        "scientist",
        "scientists",
        "people",
        "man",
        "woman",
        "men",
        "women",
        "leader",
        "director",
        "founder",
        "author",
        "students",
    ]
)
_EN_DETERMINERS = frozenset(
    ["The", "A", "An", "This", "These", "Those", "Its", "His", "Her", "Their", "Our", "My"]
)
_EN_PRONOUNS = frozenset(
    ["i", "you", "he", "she", "it", "we", "they", "this", "that", "there", "these", "those"]
)


def _toks(text: str) -> list[Tok]:
    return [Tok(m.group(), m.start(), m.end()) for m in _TOK.finditer(text)]


def _join(sentence: str, toks: Sequence[Tok]) -> str:
    """Tokens as the sentence writes them: original spacing where they were adjacent."""
    out = ""
    for n, tok in enumerate(toks):
        if n and (toks[n - 1].end != tok.start or tok.start < toks[n - 1].end):
            gap = sentence[toks[n - 1].end : tok.start] if toks[n - 1].end <= tok.start else " "
            out += gap if gap.isspace() and toks[n - 1].end < tok.start else " "
        out += tok.text
    return out


@dataclass
class _Context:
    text: ReadingText
    used_sentences: set[int] = field(default_factory=set)

    @property
    def language(self) -> Language:
        return self.text.language

    def provenance(self, sentence: Sentence) -> Provenance:
        record = self.text.record_id or self.text.title
        return Provenance(
            self.text.source or "Reading text",
            self.text.licence or "unknown",
            f"{record}#s{sentence.index}"[:200],
        )

    def skill(self, kind: str) -> str:
        return f"{self.language}.reading_{kind}"


def generate(text: ReadingText, limits: Limits | None = None) -> list[Question]:
    """Candidate questions for the text (not yet checked: pass them through grounding)."""
    limits = limits or Limits()
    ctx = _Context(text)
    found: list[Question] = []
    found += _take(_cloze(ctx), limits.cloze)
    found += _take(_vocabulary(ctx), limits.vocabulary)
    found += _take(_wh(ctx), limits.wh)
    found += _take(_collocation(ctx), limits.collocation)
    # True/false statements are never made of a "not given" statement's sentence: side by
    # side, the two would tell each other's answer.
    not_given = _take(_not_given(ctx), limits.not_given)
    statements = _take(_true_false(ctx, {q.sentence for q in not_given}), limits.true_false)
    # A "not given" statement goes among the true/false ones at a place fixed by its content,
    # so that its position does not give its answer away.
    for question in not_given:
        statements.insert(int(question.item.id[-6:], 16) % (len(statements) + 1), question)
    return found + statements


def _take(questions: Iterator[Question], limit: int) -> list[Question]:
    out: list[Question] = []
    seen: set[str] = set()
    for question in questions:
        if len(out) >= limit:
            break
        if question.item.id not in seen:
            seen.add(question.item.id)
            out.append(question)
    return out


# ---------------------------------------------------------------- cloze and vocabulary


def _content_positions(ctx: _Context, sentence: Sentence) -> list[Tok]:
    toks = _toks(sentence.text)
    return [
        t
        for n, t in enumerate(toks)
        if words.is_content_word(t.text, ctx.language, sentence_initial=n == 0)
        and sum(o.text.casefold() == t.text.casefold() for o in toks) == 1
    ]


def _info(word: str, language: Language) -> words.WordInfo:
    return words.english_info(word) if language is Language.EN else words.russian_info(word)


def _same_form(candidate: str, target: words.WordInfo, language: Language) -> str | None:
    """The candidate word put into the target's form, or None."""
    info = _info(candidate, language)
    if info.pos != target.pos or info.lemma == target.lemma:
        return None
    if language is Language.EN:
        return words.english_inflect(info.lemma, target.form)
    wanted = frozenset(target.form.split(",")) & _RU_FORM_GRAMMEMES
    return words.russian_inflect(info.lemma, wanted) if wanted else None


_RU_FORM_GRAMMEMES = frozenset(
    [
        "nomn",
        "gent",
        "datv",
        "accs",
        "ablt",
        "loct",
        "sing",
        "plur",
        "masc",
        "femn",
        "neut",
        "past",
        "pres",
        "futr",
        "1per",
        "2per",
        "3per",
        "indc",
        "impr",
    ]
)


def _cloze(ctx: _Context) -> Iterator[Question]:
    language = ctx.language
    pool: dict[str, float] = {}
    for sentence in ctx.text.usable_sentences:
        for tok in _content_positions(ctx, sentence):
            pool.setdefault(tok.text.casefold(), _info(tok.text, language).zipf)
    ranked = sorted(
        ctx.text.usable_sentences, key=lambda s: (-len(_content_positions(ctx, s)), s.index)
    )
    for sentence in ranked:
        targets = sorted(
            (t for t in _content_positions(ctx, sentence) if t.text.islower()),
            key=lambda t: _info(t.text, language).zipf,
        )
        for target in targets:
            info = _info(target.text, language)
            if not 2.5 <= info.zipf <= 5.5:
                continue
            in_sentence = {t.text.casefold() for t in _toks(sentence.text)}
            options: list[str] = []
            for word, frequency in sorted(pool.items(), key=lambda p: abs(p[1] - info.zipf)):
                if abs(frequency - info.zipf) > 1.0 or len(options) == 3:
                    break
                form = _same_form(word, info, language)
                if form and form.casefold() not in in_sentence and form not in options:
                    options.append(form)
            if len(options) < 3:
                continue
            gapped = sentence.text[: target.start] + GAP + sentence.text[target.end :]
            item = Item.create(
                language=language,
                type=ItemType.CHOICE,
                text=gapped,
                answers=(target.text,),
                distractors=tuple(options),
                skills=(ctx.skill("vocabulary"),),
                level=words.word_level(target.text, language),
                explanation=f"The text says: “{sentence.text}”",
                provenance=ctx.provenance(sentence),
            )
            yield Question(
                Kind.CLOZE,
                item,
                gapped,
                target.text,
                sentence.start + target.start,
                sentence.start + target.end,
                sentence.index,
            )
            break


def _vocabulary(ctx: _Context) -> Iterator[Question]:
    language = ctx.language
    for sentence in ctx.text.usable_sentences:
        for target in _content_positions(ctx, sentence):
            if not target.text.islower():
                continue
            info = _info(target.text, language)
            level = words.word_level(target.text, language)
            if level.rank < CEFRLevel.B1.rank or info.lemma == target.text.casefold():
                continue
            if not words.is_form_of(target.text, info.lemma, language):
                continue
            gapped = sentence.text[: target.start] + GAP + sentence.text[target.end :]
            item = Item.create(
                language=language,
                type=ItemType.CLOZE,
                text=gapped,
                answers=(target.text,),
                skills=(ctx.skill("vocabulary"),),
                level=level,
                hint=info.lemma,
                explanation=f"The text says: “{sentence.text}”",
                provenance=ctx.provenance(sentence),
            )
            yield Question(
                Kind.VOCABULARY,
                item,
                gapped,
                target.text,
                sentence.start + target.start,
                sentence.start + target.end,
                sentence.index,
            )
            break


# ---------------------------------------------------------------- wh-questions


@dataclass(frozen=True, slots=True)
class _Phrase:
    wh: str  # when, how_many, where
    answer: tuple[int, int]  # token range of the answer
    removed: tuple[int, int]  # token range taken out of the clause
    noun: str = ""  # how many + noun


def _phrases(toks: Sequence[Tok], language: Language) -> Iterator[_Phrase]:
    lower = [t.text.casefold() for t in toks]
    preps = {"in", "on", "by", "since", "during", "at"} if language is Language.EN else {"в", "во"}
    for n, tok in enumerate(toks):
        if _YEAR.match(tok.text):
            if {lower[n - 1] if n else "", lower[n + 1] if n + 1 < len(toks) else ""} & _RANGE:
                continue  # one end of a range ("between 1402 and 1405") is not a date
            start = n
            if n and _is_month(lower[n - 1], language):
                start = n - 1
                if n > 1 and lower[n - 2].isdigit():
                    start = n - 2
            end = n + 1
            if language is Language.RU and end < len(toks) and lower[end] in ("году", "года"):
                end += 1
            removed_start = start - 1 if start and lower[start - 1] in preps else start
            answer_start = start if language is Language.EN else removed_start
            yield _Phrase("when", (answer_start, end), (removed_start, end))
        elif (_NUMBER.match(tok.text) or lower[n] in _EN_NUMBER_WORDS) and n + 1 < len(toks):
            noun = toks[n + 1]
            if language is Language.EN:
                info = words.english_info(noun.text)
                counted = info.pos == "NOUN" and info.form == "NNS" and noun.text.islower()
            else:
                info = words.russian_info(noun.text)
                counted = info.pos == "NOUN" and noun.text.islower()
            if not counted or _YEAR.match(tok.text) or (n and lower[n - 1] in _GOVERNING):
                continue  # "with 11 sacks": the question would strand its preposition
            modifiers = _EN_MODIFIERS if language is Language.EN else _RU_MODIFIERS
            removed_start = n
            while removed_start and lower[removed_start - 1] in modifiers:
                removed_start -= 1
            if language is Language.RU:
                plural = words.russian_inflect(info.lemma, frozenset({"gent", "plur"}))
                if plural is None:
                    continue
                yield _Phrase("how_many", (n, n + 1), (removed_start, n + 2), plural)
            else:
                yield _Phrase("how_many", (n, n + 1), (removed_start, n + 2), noun.text)
    for n in range(1, len(toks) - 1):
        if lower[n] in ({"in", "at"} if language is Language.EN else {"в", "во", "на"}):
            end = n + 1
            while end < len(toks) and toks[end].text[:1].isupper() and toks[end].text.isalpha():
                end += 1
            if end == n + 1 or _is_month(lower[n + 1], language):
                continue
            if language is Language.RU and "loct" not in words.russian_info(toks[n + 1].text).form:
                continue
            yield _Phrase("where", (n + 1, end), (n, end))


def _is_month(word: str, language: Language) -> bool:
    if language is Language.EN:
        return word in _EN_MONTHS
    return bool(_RU_MONTH.match(word))


def _clause_end(toks: Sequence[Tok], start: int) -> int:
    for n in range(start, len(toks)):
        if toks[n].text in _BOUNDARY or toks[n].text in ".!?":
            return n
    return len(toks)


def _en_finite_verb(word: str) -> bool:
    lower = word.casefold()
    if lower in words.EN_AUXILIARIES:
        return True
    from lemminflect import getAllLemmas, getInflection

    lemmas = getAllLemmas(lower)
    if "VERB" not in lemmas or "NOUN" in lemmas or not word.islower():
        return False
    lemma = lemmas["VERB"][0]
    return lower in getInflection(lemma, "VBD") or lower in getInflection(lemma, "VBZ")


def _en_question(
    sentence: str, toks: Sequence[Tok], phrase: _Phrase
) -> tuple[str, tuple[int, int]] | None:
    """A do-support question with the phrase moved out, or None when the clause has no
    clear subject and finite verb."""
    a, b = phrase.removed
    rest = [t for n, t in enumerate(toks) if not a <= n < b]
    if a == 0 and rest and rest[0].text == ",":
        rest = rest[1:]
    if not rest:
        return None
    verb = next((n for n, t in enumerate(rest[:8]) if _en_finite_verb(t.text)), None)
    if verb is None or verb == 0 or any(t.text in _BOUNDARY for t in rest[:verb]):
        return None
    end = _clause_end(rest, verb + 1)
    # The moved phrase must belong to this clause (after its verb), not to a later one.
    if a > 0 and (
        toks[a].start < rest[verb].start or (end < len(rest) and toks[a].start > rest[end].start)
    ):
        return None
    subject = list(rest[:verb])
    if len(subject) > 7:
        return None
    first = subject[0].text
    subject_text = _join(sentence, subject)
    if first in _EN_DETERMINERS or first.casefold() in _EN_PRONOUNS:
        subject_text = first.casefold() + subject_text[len(first) :]
    verb_word = rest[verb].text
    tail = _join(sentence, rest[verb + 1 : end])
    wh = {"when": "When", "where": "Where", "how_many": f"How many {phrase.noun}"}[phrase.wh]
    if verb_word.casefold() in words.EN_AUXILIARIES:
        parts = [wh, verb_word.casefold(), subject_text, tail]
    else:
        info = words.english_info(verb_word)
        if info.pos != "VERB":
            return None
        do = "does" if info.form == "VBZ" else "did" if info.form == "VBD" else "do"
        parts = [wh, do, subject_text, info.lemma, tail]
    return " ".join(p for p in parts if p) + "?", phrase.answer


_EN_LEADING_ADVERBS = frozenset(
    [
        "then",
        "however",
        "meanwhile",
        "later",
        "finally",
        "thus",
        "instead",
        "now",
        "today",
        "yesterday",
        "still",
    ]
)
_EN_TRAILING_ADVERBS = frozenset(
    ["also", "still", "already", "then", "now", "later", "often", "never", "always", "even"]
)


def _en_subject_question(sentence: str, toks: Sequence[Tok]) -> tuple[str, tuple[int, int]] | None:
    verb = next((n for n, t in enumerate(toks[:8]) if _en_finite_verb(t.text)), None)
    if verb is None or verb == 0 or any(t.text in _BOUNDARY for t in toks[:verb]):
        return None
    first = 1 if toks[0].text.casefold() in _EN_LEADING_ADVERBS else 0
    last = verb
    while last > first and toks[last - 1].text.casefold() in _EN_TRAILING_ADVERBS:
        last -= 1
    subject = toks[first:last]
    if not subject or (len(subject) == 1 and subject[0].text.casefold() in _EN_PRONOUNS):
        return None
    if not subject[0].text[:1].isupper() and first == 0:
        return None
    end = _clause_end(toks, verb + 1)
    for n in range(verb + 1, end - 1):
        # "X did this and Y did that": the question is about the first clause only.
        if toks[n].text == "and" and toks[n + 1].text[:1].isupper():
            end = n
            break
    if end - verb < 2:
        return None
    names = [t for t in subject if t.text[:1].isupper() and t.text not in _EN_DETERMINERS]
    person = any(t.text.casefold() in _EN_PERSON_HINTS for t in subject) or (
        len(names) >= 2 and subject[0].text not in _EN_DETERMINERS
    )
    wh = "Who" if person else "What"
    return f"{wh} {_join(sentence, toks[last:end])}?", (first, last)


def _ru_question(
    sentence: str, toks: Sequence[Tok], phrase: _Phrase
) -> tuple[str, tuple[int, int]] | None:
    a, b = phrase.removed
    rest = [t for n, t in enumerate(toks) if not a <= n < b]
    if a == 0 and rest and rest[0].text == ",":
        rest = rest[1:]
    end = _clause_end(rest, 0)
    if end < 2 or (a > 0 and any(t.text in _BOUNDARY for t in toks[:a])):
        return None
    if not any(words.russian_info(t.text).pos == "VERB" for t in rest[:end]):
        return None
    body = _join(sentence, rest[:end])
    first = rest[0].text
    if not words.russian_info(first).proper:
        body = first.casefold() + body[len(first) :]
    wh = {"when": "Когда", "where": "Где", "how_many": f"Сколько {phrase.noun}"}[phrase.wh]
    return f"{wh} {body}?", phrase.answer


def _ru_subject_question(sentence: str, toks: Sequence[Tok]) -> tuple[str, tuple[int, int]] | None:
    verb = next(
        (n for n, t in enumerate(toks[:10]) if words.russian_info(t.text).pos == "VERB"), None
    )
    if verb is None or verb == 0 or any(t.text in _BOUNDARY for t in toks[:verb]):
        return None
    # The subject: the noun phrase right before the verb, from its first word that can be
    # nominative (genitive modifiers after the head stay in it: "стадион Полонии").
    first = verb
    while first and words.russian_info(toks[first - 1].text).pos in ("NOUN", "ADJF", "PRTF"):
        first -= 1
    while first < verb and not words.russian_can_be_nominative(toks[first].text):
        first += 1
    # Lower-case nouns that open the run after some other words close a preceding phrase
    # ("на протяжении существования Варшава").
    while first and first < verb - 1 and toks[first].text.islower():
        first += 1
    subject = [words.russian_info(t.text) for t in toks[first:verb]]
    heads = [i for i in subject if i.pos == "NOUN"]
    if not heads:
        return None
    grammemes = set(words.russian_info(toks[verb].text).form.split(","))
    if "plur" in grammemes:
        return None  # a plural verb would need its participles and adjectives changed too
    if verb + 1 < len(toks) and words.russian_info(toks[verb + 1].text).pos in ("PRTS", "ADJS"):
        return None  # "была основана": the short form would need re-inflecting as well
    animate = any(
        "anim" in i.form.split(",") and not {"Geox", "Orgn"} & set(i.form.split(",")) for i in heads
    )
    wh = "Кто" if animate else "Что"
    if "past" in grammemes:
        wanted = frozenset({"sing", "masc" if animate else "neut"})
    elif "pres" in grammemes or "futr" in grammemes:
        wanted = frozenset({"sing", "3per"})
    else:
        return None
    verb_form = words.russian_inflect(toks[verb].text.casefold(), wanted)
    end = _clause_end(toks, verb + 1)
    if verb_form is None or end - verb < 2:
        return None
    tail = _join(sentence, toks[verb + 1 : end])
    return f"{wh} {verb_form} {tail}?", (first, verb)


def _wh(ctx: _Context) -> Iterator[Question]:
    language = ctx.language
    spans = _answer_spans(ctx.text)
    for sentence in ctx.text.usable_sentences:
        toks = _toks(sentence.text)
        built: list[tuple[str, tuple[int, int], str]] = []
        subject = (
            _en_subject_question(sentence.text, toks)
            if language is Language.EN
            else _ru_subject_question(sentence.text, toks)
        )
        if subject:
            built.append((*subject, "subject"))
        for phrase in _phrases(toks, language):
            made = (
                _en_question(sentence.text, toks, phrase)
                if language is Language.EN
                else _ru_question(sentence.text, toks, phrase)
            )
            if made:
                built.append((*made, phrase.wh))
        for question, (a, b), role in built:
            answer = sentence.text[toks[a].start : toks[b - 1].end]
            distractors = _distractors(answer, role, sentence, spans, language)
            if len(distractors) < 2:
                continue
            item = Item.create(
                language=language,
                type=ItemType.CHOICE,
                text=f"{question} {GAP}",
                answers=(answer,),
                distractors=tuple(distractors),
                skills=(ctx.skill("comprehension"),),
                level=sentence_level(sentence.text, tokens(sentence.text), language),
                explanation=f"The text says: “{sentence.text}”",
                provenance=ctx.provenance(sentence),
            )
            yield Question(
                Kind.WH,
                item,
                question,
                answer,
                sentence.start + toks[a].start,
                sentence.start + toks[b - 1].end,
                sentence.index,
            )


def _name_runs(toks: Sequence[Tok]) -> list[tuple[int, int]]:
    """(start, end) offsets of runs of capitalised words that do not open the sentence."""
    runs = []
    n = 1
    while n < len(toks):
        if toks[n].text[:1].isupper() and toks[n].text.isalpha():
            end = n
            while end < len(toks) and toks[end].text[:1].isupper() and toks[end].text.isalpha():
                end += 1
            runs.append((toks[n].start, toks[end - 1].end))
            n = end
        else:
            n += 1
    return runs


def _answer_spans(text: ReadingText) -> dict[str, list[str]]:
    """Spans of the text by role, for distractors: numbers, years, names."""
    found: dict[str, list[str]] = {"number": [], "year": [], "name": []}
    for sentence in text.sentences:
        toks = _toks(sentence.text)
        for tok in toks:
            if _YEAR.match(tok.text):
                found["year"].append(tok.text)
            elif _NUMBER.match(tok.text):
                found["number"].append(tok.text)
        found["name"] += [sentence.text[a:b] for a, b in _name_runs(toks)]
    return {role: list(dict.fromkeys(values)) for role, values in found.items()}


def _distractors(
    answer: str, role: str, sentence: Sentence, spans: dict[str, list[str]], language: Language
) -> list[str]:
    key = answer.casefold()
    in_sentence = sentence.text.casefold()
    if role == "when" or _YEAR.search(answer):
        year = next((t for t in answer.split() if _YEAR.match(t)), None)
        pool = [y for y in spans["year"] if y.casefold() not in in_sentence]
        if year and len(pool) < 3:
            pool += [str(int(year) + d) for d in (-10, 5, 20, -3)]
    elif role == "how_many":
        pool = [x for x in spans["number"] if x.casefold() not in in_sentence]
        if len(pool) < 3 and answer.isdigit():
            value = int(answer)
            pool += [str(v) for v in (value * 2, value + 10, max(1, value // 2), value + 3)]
    else:
        pool = [
            x
            for x in spans["name"]
            if x.casefold() not in in_sentence
            and x.casefold() not in key
            and key not in x.casefold()
        ]
    out: list[str] = []
    for candidate in pool:
        if (
            candidate.casefold() != key
            and candidate not in out
            and candidate.casefold() not in in_sentence
        ):
            out.append(candidate)
        if len(out) == 3:
            break
    return out


def wh_distractors(
    text: ReadingText, sentence: Sentence, answer: str, extra: Sequence[str] = ()
) -> list[str]:
    """Up to three distractors for a wh-answer found by another writer (the LLM layer): chosen
    as for the generator's own by the answer's role (a year, a number, else a name of the
    text), then topped up from `extra` (other spans of the text). None stands in `sentence`."""
    role = "when" if _YEAR.search(answer) else "how_many" if _NUMBER.match(answer) else "subject"
    out = _distractors(answer, role, sentence, _answer_spans(text), text.language)
    key, in_sentence = answer.casefold(), sentence.text.casefold()
    for candidate in extra:
        if len(out) == 3:
            break
        low = candidate.casefold()
        clash = not low or low in in_sentence or low in key or key in low
        if not clash and all(low != o.casefold() for o in out):
            out.append(candidate)
    return out


# ---------------------------------------------------------------- true / false


def _true_false(ctx: _Context, avoid: set[int] | None = None) -> Iterator[Question]:
    """False statements and true ones alternate, never from the same sentence (nor from the
    sentences in `avoid`)."""
    used: set[int] = set(avoid or ())
    falses = (q for q in _false_statements(ctx) if q.sentence not in used)
    sentences = [s for s in ctx.text.usable_sentences if len(s.words) <= 30]
    trues = iter(sentences)
    while True:
        false = next(falses, None)
        if false is not None:
            used.add(false.sentence)
            yield false
        true = next((s for s in trues if s.index not in used), None)
        if true is not None:
            used.add(true.index)
            yield _true_statement(ctx, true)
        if false is None and true is None:
            return


def _true_statement(ctx: _Context, sentence: Sentence) -> Question:
    item = Item.create(
        language=ctx.language,
        type=ItemType.JUDGEMENT,
        text=sentence.text,
        answers=("correct",),
        skills=(ctx.skill("comprehension"),),
        level=sentence_level(sentence.text, tokens(sentence.text), ctx.language),
        explanation="The text says exactly this.",
        provenance=ctx.provenance(sentence),
    )
    return Question(
        Kind.TRUE_FALSE, item, sentence.text, sentence.text, sentence.start, sentence.end,
        sentence.index,
    )  # fmt: skip


def _false_statements(ctx: _Context) -> Iterator[Question]:
    """A sentence with one number, year or (English) name swapped for another of the text.
    Russian names are not swapped: they decline, and the swap could break the grammar."""
    language = ctx.language
    spans = _answer_spans(ctx.text)
    texts = {s.text.casefold() for s in ctx.text.sentences}
    for sentence in (s for s in ctx.text.usable_sentences if len(s.words) <= 30):
        toks = _toks(sentence.text)
        # (start, end, role) in the sentence; English names are whole capitalised runs.
        swappable = [
            (t.start, t.end, "year" if _YEAR.match(t.text) else "number")
            for t in toks
            if _NUMBER.match(t.text)
        ]
        if language is Language.EN:
            swappable += [(a, b, "name") for a, b in _name_runs(toks)]
        for start, end, role in swappable:
            original = sentence.text[start:end]
            size = len(original.split())
            other = next(
                (
                    x
                    for x in spans[role]
                    if x.casefold() not in sentence.text.casefold() and len(x.split()) == size
                ),
                None,
            )
            if other is None:
                continue
            statement = sentence.text[:start] + other + sentence.text[end:]
            if statement.casefold() in texts:
                continue
            item = Item.create(
                language=language,
                type=ItemType.JUDGEMENT,
                text=statement,
                answers=("incorrect",),
                correction=sentence.text,
                skills=(ctx.skill("comprehension"),),
                level=sentence_level(sentence.text, tokens(sentence.text), language),
                explanation=f"The text says: “{sentence.text}”",
                provenance=ctx.provenance(sentence),
            )
            yield Question(
                Kind.TRUE_FALSE, item, statement, sentence.text, sentence.start, sentence.end,
                sentence.index,
            )  # fmt: skip
            break


# ---------------------------------------------------------------- collocations


_EN_COLLOCATIONS = frozenset({("ADJ", "NOUN"), ("NOUN", "NOUN"), ("VERB", "NOUN")})
_RU_COLLOCATIONS = frozenset({("ADJF", "NOUN"), ("NOUN", "NOUN"), ("VERB", "NOUN")})


def _collocation(ctx: _Context) -> Iterator[Question]:
    """Vocabulary in context from the text's own collocations: two adjacent content words
    (adjective + noun, noun + noun, verb + noun), one of them above A2 gapped; the options are
    words of the text with the same part of speech and frequency band, in the same form, that
    the text never puts next to the other word. (Meanings would need a dictionary, and no
    offline one installs from PyPI.)"""
    language = ctx.language
    patterns = _EN_COLLOCATIONS if language is Language.EN else _RU_COLLOCATIONS
    pool: dict[str, float] = {}
    for sentence in ctx.text.usable_sentences:
        for tok in _content_positions(ctx, sentence):
            pool.setdefault(tok.text.casefold(), _info(tok.text, language).zipf)
    body = ctx.text.body.casefold()
    for sentence in ctx.text.usable_sentences:
        toks = _toks(sentence.text)
        content = {t.start for t in _content_positions(ctx, sentence)}
        for n in range(len(toks) - 1):
            left, right = toks[n], toks[n + 1]
            if not (left.start in content and right.start in content and left.end < right.start):
                continue
            if not (left.text.islower() and right.text.islower()):
                continue
            infos = (_info(left.text, language), _info(right.text, language))
            if (infos[0].pos, infos[1].pos) not in patterns:
                continue
            levels = [words.word_level(t.text, language) for t in (left, right)]
            gapped_side = 0 if levels[0].rank >= levels[1].rank else 1
            if language is Language.RU and infos[gapped_side].pos != "NOUN":
                # An adjective or verb agrees with its noun: another one in the "same" form
                # often fits it badly and gives the answer away. Nouns keep their own gender.
                gapped_side = 1 - gapped_side
            if levels[gapped_side].rank < CEFRLevel.B1.rank:
                continue
            target = (left, right)[gapped_side]
            info = infos[gapped_side]
            if not 2.0 <= info.zipf <= 5.5:
                continue
            phrase = sentence.text[left.start : right.end]
            gapped = (
                sentence.text[left.start : target.start]
                + GAP
                + sentence.text[target.end : right.end]
            )
            options: list[str] = []
            for word, frequency in sorted(pool.items(), key=lambda p: abs(p[1] - info.zipf)):
                if abs(frequency - info.zipf) > 1.0 or len(options) == 3:
                    break
                form = _same_form(word, info, language)
                if not form or form in options or form.casefold() == target.text.casefold():
                    continue
                if language is Language.RU and _animacy(word) != _animacy(target.text):
                    continue  # "свежий инженера": animate nouns change the accusative
                if gapped.replace(GAP, form).casefold() in body:
                    continue  # the text has this pair too: a second right answer
                options.append(form)
            if len(options) < 3:
                continue
            item = Item.create(
                language=language,
                type=ItemType.CHOICE,
                text=gapped,
                answers=(target.text,),
                distractors=tuple(options),
                skills=(ctx.skill("vocabulary"),),
                level=levels[gapped_side],
                explanation=f"The text says “{phrase}”: “{sentence.text}”",
                provenance=ctx.provenance(sentence),
            )
            yield Question(
                Kind.COLLOCATION,
                item,
                gapped,
                target.text,
                sentence.start + target.start,
                sentence.start + target.end,
                sentence.index,
            )
            break


def _animacy(word: str) -> set[str]:
    return set(words.russian_info(word).form.split(",")) & {"anim", "inan"}


# ---------------------------------------------------------------- not given

# Made-up people, by grammatical gender: a statement about one of them is about someone the text
# never mentions (the checker makes sure no word of the name is in the text).
_EN_NAMES = {
    "femn": ("Nina Kowalczyk", "Helen Marsh", "Grace Adeyemi"),
    "masc": ("Oliver Hartley", "Samuel Okafor", "Daniel Whitcombe"),
}
_RU_NAMES = {
    "femn": ("Ольга Лебедева", "Вера Климова", "Зоя Панова"),
    "masc": ("Пётр Самойлов", "Илья Воронцов", "Семён Лапин"),
}
# Words that make a statement about one person exclusive ("the first woman to ..."): with them,
# the same statement about someone else would be false, not "not given".
_EXCLUSIVE = frozenset(
    [
        "first",
        "last",
        "only",
        "sole",
        "most",
        "best",
        "worst",
        "single",
        "alone",
        "первый",
        "первая",
        "первым",
        "первой",
        "последний",
        "последняя",
        "единственный",
        "единственная",
        "только",
        "самый",
        "самая",
        "лучший",
        "лучшая",
    ]
)


def _not_given(ctx: _Context) -> Iterator[Question]:
    """A sentence whose subject is a person's name, said of a made-up person instead: the text
    says nothing about them, so the statement is "not given". Sentences with exclusive words
    or superlatives are skipped (there, the swap would make the statement false)."""
    language = ctx.language
    keys = {k.replace("ё", "е") for k in _TOK.findall(ctx.text.body.casefold())}
    if language is Language.RU:
        # "Петров" is also a form of "Пётр": no word of the name may share a lemma either.
        keys |= {x.replace("ё", "е") for k in set(keys) for x in words.russian_lemmas(k)}
    for sentence in (s for s in ctx.text.usable_sentences if len(s.words) <= 30):
        toks = _toks(sentence.text)
        lower = [t.text.casefold() for t in toks]
        if _EXCLUSIVE & set(lower) or _has_superlative(toks, language):
            continue
        found = _person_subject(toks, language)
        if found is None:
            continue
        (a, b), gender = found
        pool = (_EN_NAMES if language is Language.EN else _RU_NAMES)[gender]
        name = next(
            (x for x in pool if not _name_keys(x, language) & keys),
            None,
        )
        if name is None:
            continue
        start, end = toks[a].start, toks[b - 1].end
        statement = sentence.text[:start] + name + sentence.text[end:]
        item = Item.create(
            language=language,
            type=ItemType.CHOICE,
            text=f"{statement} {GAP}",
            answers=(NOT_GIVEN,),
            distractors=("correct", "incorrect"),
            skills=(ctx.skill("comprehension"),),
            level=sentence_level(sentence.text, tokens(sentence.text), language),
            explanation=f"The text never mentions {name}. It says: “{sentence.text}”",
            provenance=ctx.provenance(sentence),
        )
        yield Question(
            Kind.NOT_GIVEN,
            item,
            statement,
            sentence.text[start:end],
            sentence.start + start,
            sentence.start + end,
            sentence.index,
            absent=name,
        )


def _name_keys(name: str, language: Language) -> set[str]:
    found = {w.casefold().replace("ё", "е") for w in name.split()}
    if language is Language.RU:
        found |= {x.replace("ё", "е") for w in set(found) for x in words.russian_lemmas(w)}
    return found


def _ru_name_subject(word: str) -> bool:
    """Whether some analysis of the word is a first name or surname in the nominative."""
    return any(
        {"Name", "Surn"} & set(p.tag.grammemes) and "nomn" in p.tag.grammemes
        for p in russian_analyzer().parse(word.casefold())
    )


def _has_superlative(toks: Sequence[Tok], language: Language) -> bool:
    if language is Language.EN:
        return any(words.english_info(t.text).form in ("JJS", "RBS") for t in toks)
    return any("Supr" in words.russian_info(t.text).form.split(",") for t in toks)


def _person_subject(toks: Sequence[Tok], language: Language) -> tuple[tuple[int, int], str] | None:
    """The token range of a sentence-opening subject that is a person's full name (two or three
    capitalised words right before the finite verb), and the gender the swap must keep."""
    if language is Language.EN:
        verb = next((n for n, t in enumerate(toks[:5]) if _en_finite_verb(t.text)), None)
        if verb is None or not 2 <= verb <= 3:
            return None
        subject = toks[:verb]
        if subject[0].text in _EN_DETERMINERS or not all(
            t.text[:1].isupper() and t.text.isalpha() and t.text.casefold() not in _EN_PRONOUNS
            for t in subject
        ):
            return None
        if any(words.english_info(t.text).form == "NNS" for t in subject):
            return None  # "Scientists Say" is not a name ("Curie" may be: also a noun)
        # English verbs do not agree in gender; only a later pronoun would ("... her book").
        female = {t.text.casefold() for t in toks} & {"she", "her", "hers", "herself"}
        return (0, verb), "femn" if female else "masc"
    verb = next(
        (n for n, t in enumerate(toks[:5]) if words.russian_info(t.text).pos == "VERB"), None
    )
    if verb is None or not 2 <= verb <= 3:
        return None
    if not all(t.text[:1].isupper() and t.text.isalpha() for t in toks[:verb]):
        return None
    if not all(_ru_name_subject(t.text) for t in toks[:verb]):
        return None
    verb_form = set(words.russian_info(toks[verb].text).form.split(","))
    if "plur" in verb_form:
        return None
    # A past-tense verb shows the person's gender ("Анна Вильсон открыла"); otherwise the
    # first name's own gender does.
    genders = verb_form & {"masc", "femn"} or (
        set(words.russian_info(toks[0].text).form.split(",")) & {"masc", "femn"}
    )
    if len(genders) != 1:
        return None
    gender = next(iter(genders))
    return (0, verb), gender
