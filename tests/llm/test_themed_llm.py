"""Model-proposed themed exercises: a correct proposal becomes a verified item whose answer and
distractors HyperLearn computed; each kind of bad proposal is rejected under its reason; the
template engine serves whatever the model path cannot."""

from __future__ import annotations

import random
from random import Random

import pytest

from hyperlearn.content.bank import Bank
from hyperlearn.content.importing.base import Candidate, Evidence
from hyperlearn.content.importing.verifier import verify
from hyperlearn.content.themed import ThemedGenerator
from hyperlearn.core import GAP, Item, ItemType, Language, grade
from hyperlearn.llm import themed
from hyperlearn.llm.backend import CompletionRequest, LLMTimeout
from hyperlearn.llm.themed import LLMThemedMaker, Rejected, build_item
from tests.llm.test_explain import Canned, Reply

# (language, skill, topic, proposal, the answer HyperLearn must find, its lemma)
GOOD = [
    (
        "en",
        "en.past_simple_regular",
        "football",
        "Yesterday my brother scored a goal in the football match.",
        "scored",
        "score",
    ),
    (
        "en",
        "en.irregular_past",
        "football",
        "Last week our team won the football match at the stadium.",
        "won",
        "win",
    ),
    (
        "en",
        "en.past_continuous",
        "football",
        "At eight o'clock last night the players were training at the stadium.",
        "were training",
        "train",
    ),
    (
        "en",
        "en.third_person_s",
        "football",
        "My brother plays football with his team every Saturday.",
        "plays",
        "play",
    ),
    (
        "en",
        "en.comparatives",
        "football",
        "The new ball is lighter than the old ball in our football team.",
        "lighter",
        "light",
    ),
    (
        "en",
        "en.comparatives",
        "football",
        "Our new stadium is more modern than the old football ground.",
        "more modern",
        "modern",
    ),
    (
        "ru",
        "ru.prepositional_case",
        "football",
        "Вчера наши игроки тренировались на стадионе.",
        "стадионе",
        "стадион",
    ),
    (
        "ru",
        "ru.past_tense_gender",
        "football",
        "Вчера моя сестра смотрела футбольный матч.",
        "смотрела",
        "смотреть",
    ),
]

# (language, skill, topic, proposal, reason)
BAD = [
    (
        "en",
        "en.past_simple_regular",
        "football",
        "Вчера мой брат забил гол на матче.",
        themed.WRONG_LANGUAGE,
    ),
    ("en", "en.past_simple_regular", "football", "Yesterday he scored.", themed.LENGTH),
    (
        "en",
        "en.past_simple_regular",
        "football",
        "Yesterday my brother scored a goal in the football match, " * 3,
        themed.LENGTH,
    ),
    (
        "en",
        "en.past_simple_regular",
        "football",
        "Yesterday my brother scored a goal, see www.football.com now.",
        themed.ODD_TEXT,
    ),
    (
        "en",
        "en.past_simple_regular",
        "football",
        "Yesterday my shitty brother scored a goal in the football match.",
        themed.OFFENSIVE,
    ),
    (
        "en",
        "en.past_simple_regular",
        "football",
        "Yesterday my aunt cooked a lovely dinner for the whole village.",
        themed.OFF_TOPIC,
    ),
    (
        "en",
        "en.past_simple_regular",
        "football",
        "My brother is a good football player in our team.",
        themed.NOT_FOUND,
    ),
    (
        "en",
        "en.irregular_past",
        "football",
        "Last week our team winned the football match at the stadium.",
        themed.NOT_FOUND,
    ),
    (
        "en",
        "en.comparatives",
        "football",
        "The new ball is more light than the old ball in our football team.",
        themed.NOT_FOUND,
    ),
    (
        "en",
        "en.past_simple_regular",
        "football",
        "Yesterday my brother scored and the players celebrated in the football stadium.",
        themed.AMBIGUOUS,
    ),
    (
        "en",
        "en.past_simple_regular",
        "football",
        "My brother scored a goal in the football match.",
        themed.NO_CUE,
    ),
    (
        "en",
        "en.third_person_s",
        "football",
        "My brother plays football with his team in the park.",
        themed.NO_CUE,
    ),
    (
        "en",
        "en.third_person_s",
        "football",
        "They usually plays football with the team every Saturday.",
        themed.AGREEMENT,
    ),
    (
        "en",
        "en.past_continuous",
        "football",
        "At eight o'clock last night they was training at the stadium.",
        themed.AGREEMENT,
    ),
    (
        "ru",
        "ru.past_tense_gender",
        "football",
        "Вчера я смотрела футбольный матч по телевизору.",
        themed.AMBIGUOUS,
    ),
    (
        "ru",
        "ru.past_tense_gender",
        "football",
        "Вчера моя сестра смотрел футбольный матч.",
        themed.AGREEMENT,
    ),
    (
        "ru",
        "ru.prepositional_case",
        "football",
        "Завтра мы пойдём на футбольный матч на стадионе.",
        themed.AMBIGUOUS,
    ),
]


@pytest.mark.parametrize(("language", "skill", "topic", "sentence", "answer", "lemma"), GOOD)
def test_a_correct_proposal_becomes_a_verified_item(
    bank: Bank, language: str, skill: str, topic: str, sentence: str, answer: str, lemma: str
) -> None:
    lang = Language(language)
    graph = bank.graphs[lang]
    for seed in range(4):  # both item types come up
        item = build_item(sentence, lang, skill, topic, graph, bank.topics, random.Random(seed))
        assert item.answers == (answer,) and item.skills == (skill,) and item.topics == (topic,)
        assert item.text.count(GAP) == 1 and item.text.replace(GAP, answer) == sentence
        assert verify(Candidate(item, Evidence(gold=sentence)), graph, bank.topics) is None
        assert grade(item, answer).correct
        if item.type is ItemType.CLOZE:
            assert item.hint == lemma and not item.distractors
        else:
            assert len(item.distractors) >= 2
            for distractor in item.distractors:
                assert not grade(item, distractor).correct
                assert item.text.replace(GAP, distractor) != sentence


def test_distractors_are_recomputed_from_the_lemma(bank: Bank) -> None:
    graph = bank.graphs[Language.EN]
    choices = [
        build_item(GOOD[1][3], Language.EN, GOOD[1][1], "football", graph, bank.topics, Random(s))
        for s in range(6)
    ]
    choice = next(i for i in choices if i.type is ItemType.CHOICE)
    assert set(choice.distractors) == {"winned", "wins"}  # over-regularised, present


@pytest.mark.parametrize(("language", "skill", "topic", "sentence", "reason"), BAD)
def test_each_kind_of_bad_proposal_is_rejected(
    bank: Bank, language: str, skill: str, topic: str, sentence: str, reason: str
) -> None:
    lang = Language(language)
    with pytest.raises(Rejected) as rejected:
        build_item(sentence, lang, skill, topic, bank.graphs[lang], bank.topics, random.Random(0))
    assert rejected.value.reason == reason, str(rejected.value)


def test_an_item_the_verifier_refuses_is_rejected(bank: Bank) -> None:
    # The content verifier runs last: here it does not know the item's topic.
    topics = {k: v for k, v in bank.topics.items() if k != "football"}
    graph = bank.graphs[Language.EN]
    with pytest.raises(Rejected) as rejected:
        build_item(GOOD[0][3], Language.EN, GOOD[0][1], "football", graph, topics, Random(0))
    assert rejected.value.reason == themed.VERIFIER


class _Templates:
    """The fallback the service uses: HyperLearn's template engine over the shipped bank."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.generator = ThemedGenerator.load()
        self.made = 0

    def supports(self, language: Language, skill_id: str, topic_id: str) -> bool:
        return self.generator.supports(language, skill_id, topic_id)

    def make(
        self, language: Language, skill_id: str, topic_id: str, rng: random.Random
    ) -> Item | None:
        self.made += 1
        graph = self.bank.graphs[language]
        return self.generator.generate(language, skill_id, topic_id, rng, graph, self.bank.topics)


def _maker(bank: Bank, reply: Reply, fallback: _Templates | None = None) -> LLMThemedMaker:
    return LLMThemedMaker(
        Canned.always(reply), bank.graphs.__getitem__, lambda: bank.topics, fallback=fallback
    )


def test_the_maker_shows_an_accepted_model_item(bank: Bank) -> None:
    templates = _Templates(bank)
    maker = _maker(bank, {"sentence": GOOD[3][3]}, templates)
    item = maker.make(Language.EN, "en.third_person_s", "football", random.Random(0))
    assert item is not None and item.answers == ("plays",)
    assert item.provenance.source == themed.SOURCE
    assert item.provenance.record_id == "canned:canned-1"
    assert (maker.stats.attempted, maker.stats.accepted, templates.made) == (1, 1, 0)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Here is a sentence: my brother plays football.", themed.INVALID_JSON),
        ({"sentence": 42}, themed.INVALID_JSON),
        ({"sentence": "They usually plays football with the team every Saturday."}, "agreement"),
        (LLMTimeout("slow"), "timeout"),
    ],
)
def test_a_rejected_proposal_is_counted_and_never_shown(
    bank: Bank, reply: Reply, reason: str
) -> None:
    templates = _Templates(bank)
    maker = _maker(bank, reply, templates)
    item = maker.make(Language.EN, "en.third_person_s", "football", random.Random(0))
    assert item is not None and item.provenance.source != themed.SOURCE  # the template's
    assert templates.made == 1
    assert (maker.stats.attempted, maker.stats.accepted) == (1, 0)
    assert maker.stats.rejected == {reason: 1}


def test_unsupported_pairs_go_to_the_fallback_without_a_model_call(bank: Bank) -> None:
    templates = _Templates(bank)
    model = Canned.always({"sentence": GOOD[3][3]})
    maker = LLMThemedMaker(model, bank.graphs.__getitem__, lambda: bank.topics, templates)
    assert not maker.handles(Language.EN, "en.present_perfect", "football")
    assert maker.supports(Language.EN, "en.present_perfect", "football")
    item = maker.make(Language.EN, "en.present_perfect", "football", random.Random(1))
    assert item is not None and item.skills == ("en.present_perfect",)
    assert model.requests == [] and maker.stats.attempted == 0
    alone = LLMThemedMaker(model, bank.graphs.__getitem__, lambda: bank.topics)
    assert not alone.supports(Language.EN, "en.present_perfect", "football")
    assert alone.make(Language.EN, "en.present_perfect", "football", random.Random(1)) is None


def test_the_prompt_names_the_skill_topic_and_lexicon_lemma(bank: Bank) -> None:
    seen: list[CompletionRequest] = []

    def reply(request: CompletionRequest) -> Reply:
        seen.append(request)
        return {"sentence": GOOD[1][3]}

    maker = LLMThemedMaker(Canned(reply), bank.graphs.__getitem__, lambda: bank.topics)
    outcome = maker.propose(Language.EN, "en.irregular_past", "football", random.Random(2))
    prompt = seen[0].prompt
    assert "Football" in prompt or "football" in prompt
    assert bank.graphs[Language.EN]["en.irregular_past"].name in prompt
    lemma = prompt.split('Use the word "')[1].split('"')[0]
    assert lemma in themed.lexicon_lemmas(Language.EN, "en.irregular_past", "football")
    assert outcome.reason is None and outcome.item is not None
