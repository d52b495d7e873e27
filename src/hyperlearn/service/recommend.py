"""The recommender as use cases: what a policy may know about a learner, the next exercise with
its reasons, engagement signals, item reports and per-learner recommender settings.

The policy sees estimates only: the learner model's skill states, the memory model's recall
probabilities, the interest profile learned from stated topics and engagement events. When the
hybrid policy finds no stored item on a liked topic for the skill the learner needs most, the
template engine builds one (answer computed by the morphology engines, checked by the verifier)
and stores it like any other item.

Policies come from the registry in `hyperlearn.llm.policies`, so a learner may choose `llm` or
`tallrec` too. Whatever keeps such a policy from being built (no tuned model, unusable model
settings) is logged, and the learner gets the hybrid policy's choice; a model that fails at
answer time makes `llm` fall back to the hybrid order itself. With an embedding backend
configured, the learner's interests in their own words add topic weights (explicit ones win).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from hyperlearn.core import (
    CandidateSet,
    CEFRLevel,
    HybridPolicy,
    Item,
    Language,
    Policy,
    PolicyState,
    Ranked,
    Reason,
    SkillGraph,
    require_utc,
)
from hyperlearn.core.interests import EngagementEvent, Signal, interest_weights
from hyperlearn.core.memory import MemoryModel
from hyperlearn.core.policy import DEFAULT_BAND
from hyperlearn.llm import embeddings
from hyperlearn.llm.backend import LLMError
from hyperlearn.llm.policies import POLICY_NAMES, make_policy
from hyperlearn.service import classes
from hyperlearn.service.errors import InvalidInput, NotFound
from hyperlearn.settings import Settings
from hyperlearn.store import content_version, memory_repo, repository
from hyperlearn.store.models import ItemReportRow, LearnerRow

log = logging.getLogger(__name__)

HISTORY_FOR_POLICY = 60
EVENTS_FOR_INTERESTS = 500
ANSWERS_FOR_INTERESTS = 200
MAX_REPORT_CHARS = 500
USER_SIGNALS = (Signal.LIKE, Signal.DISLIKE, Signal.SKIP)


class ThemedMaker(Protocol):
    """Builds verified themed items. Injected so that the service does not depend on how (or
    whether) templates are available."""

    def supports(self, language: Language, skill_id: str, topic_id: str) -> bool: ...

    def make(
        self, language: Language, skill_id: str, topic_id: str, rng: random.Random
    ) -> Item | None: ...


MAX_INTERESTS_TEXT = 500  # learners.interests_text


@dataclass(frozen=True, slots=True)
class Choice:
    item: Item
    reasons: tuple[Reason, ...]
    policy: str
    themed: bool  # built for this learner from templates
    graph: SkillGraph


@dataclass(frozen=True, slots=True)
class RecommenderSettings:
    policy: str
    band: tuple[float, float]
    goal_level: CEFRLevel
    desired_retention: float
    interests_text: str  # the learner's interests in their own words (embeddings read it)


def policy_state(
    session: Session, learner: LearnerRow, now: datetime, settings: Settings | None = None
) -> PolicyState:
    """Everything the policies may use about a learner, estimated from their log."""
    require_utc(now)
    settings = settings or _default_settings()
    language = Language(learner.language)
    level = CEFRLevel(learner.level)
    params = memory_repo.memory_params(session, learner.id)
    rows = memory_repo.recall_inputs(session, learner.id)
    elapsed = np.fromiter(
        ((now - last).total_seconds() / 86400.0 for _, _, last in rows), np.float64, len(rows)
    )
    stability = np.fromiter((s for _, s, _ in rows), np.float64, len(rows))
    recall_now = MemoryModel(params).recall_curve(elapsed, stability)
    recall = dict(zip((item_id for item_id, _, _ in rows), recall_now.tolist(), strict=True))
    recent = repository.recent_outcomes(session, learner.id, HISTORY_FOR_POLICY)
    return PolicyState(
        level=level,
        skills=repository.skill_states(session, learner.id),
        interests=embeddings.merged_interests(
            interests(session, learner.id, now), text_interests(session, learner, settings)
        ),
        interests_text=learner.interests_text,
        history=[item_id for item_id, _ in recent],
        outcomes=[correct for _, correct in recent],
        retrievability=recall,
        target_retention=params.desired_retention,
        band=_band(learner),
        excluded=repository.withheld_item_ids(session),
        goal_level=CEFRLevel(learner.goal_level) if learner.goal_level else None,
        topic_names=repository.topic_names(session, language),
        focus_skills=classes.focus_skills_for_learner(session, learner.id),
    )


def interests(session: Session, learner_id: str, now: datetime) -> dict[str, float]:
    """Topic weights: stated topics, plus likes, skips and answers, fading with time."""
    events = [
        EngagementEvent(Signal(kind), topics, at)
        for kind, topics, at in repository.engagement_events(
            session, learner_id, EVENTS_FOR_INTERESTS
        )
    ]
    events += [
        EngagementEvent(Signal.ANSWER, topics, at)
        for _, topics, at in repository.recent_answers(session, learner_id, ANSWERS_FOR_INTERESTS)
    ]
    events.sort(key=lambda e: e.at)
    return interest_weights(repository.learner_interests(session, learner_id), events, now)


def choose(
    session: Session,
    learner_id: str,
    now: datetime,
    rng: random.Random,
    themed: ThemedMaker | None = None,
    settings: Settings | None = None,
) -> Choice:
    """The next exercise for the learner under their policy, with the policy's reasons.
    `settings` (default: from the environment) configure the LLM policies and embeddings."""
    settings = settings or _default_settings()
    learner = _learner(session, learner_id)
    language = Language(learner.language)
    candidates = repository.candidate_set(session, language)
    state = policy_state(session, learner, now, settings)
    policy = _policy(learner.policy, settings)
    if themed is not None and isinstance(policy, HybridPolicy):
        made = _themed(session, policy, state, candidates, now, rng, themed, language)
        if made is not None:
            return made
    ranked = policy.rank(state, candidates, now, rng, limit=1)
    if not ranked:
        raise NotFound(f"no exercises available for language {language}")
    return Choice(
        ranked[0].item, ranked[0].reasons, policy.name, themed=False, graph=candidates.graph
    )


def rank(
    session: Session,
    learner_id: str,
    now: datetime,
    rng: random.Random,
    limit: int = 10,
    settings: Settings | None = None,
) -> list[Ranked]:
    """The policy's top `limit` items (for inspection; nothing is generated or stored)."""
    settings = settings or _default_settings()
    learner = _learner(session, learner_id)
    candidates = repository.candidate_set(session, Language(learner.language))
    state = policy_state(session, learner, now, settings)
    return _policy(learner.policy, settings).rank(state, candidates, now, rng, limit=limit)


def text_interests(session: Session, learner: LearnerRow, settings: Settings) -> dict[str, float]:
    """Topic weights from the learner's interests in their own words, when an embedding
    backend is configured; {} otherwise, and (logged) when the embedder fails."""
    text = learner.interests_text.strip()
    if settings.embed_backend == "none" or not text:
        return {}
    language = Language(learner.language)
    try:
        embedder = embeddings.embedder_from_settings(settings)
        if embedder is None:
            return {}
        names = {t.id: t.name("en") for t in repository.load_topics(session)}
        version = (content_version.current(session), tuple(sorted(names.items())))
        key = (session.get_bind().engine.url.render_as_string(), str(language), id(embedder))
        index = _TEXT_INDEXES.get(
            key,
            version,
            lambda: embeddings.ItemEmbeddings(
                embedder,
                _topic_texts(names),
                repository.candidate_items(session, language),
                version=version,
            ),
        )
        return index.interest_from_text(text)
    except (LLMError, ValueError) as error:
        log.warning("interests from text unavailable (%s): %s", settings.embed_backend, error)
        return {}


_TEXT_INDEXES = embeddings.IndexCache()
TOPIC_KEYWORDS = 20  # of the tagging lexicon, to describe a topic beyond its name


def _topic_texts(names: dict[str, str]) -> dict[str, str]:
    """What each topic is about, for embedding: "Other sports: sport, athlete, tennis, ..."."""
    keywords = _english_keywords()
    return {
        topic: f"{name}: {', '.join(keywords.get(topic, [])[:TOPIC_KEYWORDS])}".rstrip(": ")
        for topic, name in names.items()
    }


@cache
def _english_keywords() -> dict[str, list[str]]:
    from hyperlearn.content.importing.topics import read_lexicon_file

    english = read_lexicon_file().get("en") or {}
    return {str(t): [str(w) for w in words] for t, words in english.items() if t != "shared"}


@cache
def _default_settings() -> Settings:
    return Settings()


def _policy(name: str, settings: Settings) -> Policy:
    """The learner's policy; the hybrid one when it cannot be built here."""
    try:
        return make_policy(name, settings)
    except ValueError as error:
        log.warning("policy %r unavailable, serving hybrid: %s", name, error)
        return HybridPolicy()


def _themed(
    session: Session,
    policy: HybridPolicy,
    state: PolicyState,
    candidates: CandidateSet,
    now: datetime,
    rng: random.Random,
    themed: ThemedMaker,
    language: Language,
) -> Choice | None:
    wanted = policy.themed_request(
        state, candidates, now, lambda skill, topic: themed.supports(language, skill, topic)
    )
    if wanted is None:
        return None
    skill_id, topic_id = wanted
    item = themed.make(language, skill_id, topic_id, rng)
    if item is None or item.id in state.excluded:
        return None
    repository.add_items(session, [item], now)
    session.commit()
    skill = candidates.graph[skill_id]
    topic = state.topic_names.get(topic_id, topic_id)
    reasons = (
        Reason("need", 1.0, f"{skill.name} is the skill you need most now."),
        Reason("interest", 1.0, f"It is about {topic}, which you like."),
        Reason("themed", 0.0, "Made for you from HyperLearn's templates; the answer is checked."),
    )
    return Choice(item, reasons, policy.name, themed=True, graph=candidates.graph)


# -- engagement and reports ----------------------------------------------------------------------


def record_signal(
    session: Session, learner_id: str, item_id: str, signal: str, now: datetime
) -> None:
    """A like, dislike or skip on an item: the interest profile learns from it."""
    require_utc(now)
    try:
        kind = Signal(signal)
    except ValueError:
        kind = None
    if kind not in USER_SIGNALS:
        allowed = ", ".join(str(s) for s in USER_SIGNALS)
        raise InvalidInput(f"unknown signal {signal!r}; use one of {allowed}")
    _learner(session, learner_id)
    _require_item(session, item_id)
    repository.add_event(session, learner_id, item_id, str(kind), now)
    session.commit()


def report_item(session: Session, learner_id: str, item_id: str, reason: str, now: datetime) -> int:
    """Report an item as wrong: it is withheld from every learner until a teacher resolves the
    report. Returns the report id."""
    require_utc(now)
    reason = " ".join(reason.split())
    if len(reason) > MAX_REPORT_CHARS:
        raise InvalidInput(f"a report has at most {MAX_REPORT_CHARS} characters")
    _learner(session, learner_id)
    _require_item(session, item_id)
    row = ItemReportRow(
        item_id=item_id, learner_id=learner_id, reason=reason, status="open", created_at=now
    )
    session.add(row)
    repository.add_event(session, learner_id, item_id, str(Signal.REPORT), now)
    session.commit()
    return row.id


# -- settings --------------------------------------------------------------------------------


def settings(session: Session, learner_id: str) -> RecommenderSettings:
    learner = _learner(session, learner_id)
    level = CEFRLevel(learner.level)
    return RecommenderSettings(
        policy=learner.policy,
        band=_band(learner),
        goal_level=CEFRLevel(learner.goal_level)
        if learner.goal_level
        else CEFRLevel.from_rank(level.rank + 1),
        desired_retention=memory_repo.memory_params(session, learner_id).desired_retention,
        interests_text=learner.interests_text,
    )


def update_settings(
    session: Session,
    learner_id: str,
    *,
    policy: str | None = None,
    band: tuple[float, float] | None = None,
    goal_level: str | None = None,
    interests_text: str | None = None,
) -> RecommenderSettings:
    """Change the learner's policy, desirable-difficulty band, goal level or interests in
    their own words; all or nothing."""
    learner = _learner(session, learner_id)
    if policy is not None and policy not in POLICY_NAMES:
        raise InvalidInput(f"unknown policy {policy!r}; use one of {', '.join(POLICY_NAMES)}")
    if band is not None:
        low, high = band
        if not 0.05 <= low < high <= 0.99:
            raise InvalidInput("the band needs 0.05 <= low < high <= 0.99 (success probabilities)")
    goal = None
    if goal_level is not None:
        try:
            goal = CEFRLevel(goal_level)
        except ValueError:
            levels = ", ".join(str(v) for v in CEFRLevel)
            raise InvalidInput(f"unknown goal level {goal_level!r}; use one of {levels}") from None
    if interests_text is not None:
        interests_text = " ".join(interests_text.split())
        if len(interests_text) > MAX_INTERESTS_TEXT:
            raise InvalidInput(f"the interests text is longer than {MAX_INTERESTS_TEXT} characters")
    if policy is not None:
        learner.policy = policy
    if interests_text is not None:
        learner.interests_text = interests_text
    if band is not None:
        learner.band_low, learner.band_high = band
    if goal is not None:
        learner.goal_level = str(goal)
    session.commit()
    return settings(session, learner_id)


def _band(learner: LearnerRow) -> tuple[float, float]:
    if learner.band_low is None or learner.band_high is None:
        return DEFAULT_BAND
    return (learner.band_low, learner.band_high)


def _learner(session: Session, learner_id: str) -> LearnerRow:
    row = repository.get_learner(session, learner_id)
    if row is None:
        raise NotFound(f"no learner with id {learner_id!r}")
    return row


def _require_item(session: Session, item_id: str) -> None:
    if not repository.load_items(session, ids=[item_id]):
        raise NotFound(f"no item with id {item_id!r}")


__all__ = [
    "Choice",
    "RecommenderSettings",
    "ThemedMaker",
    "choose",
    "interests",
    "policy_state",
    "rank",
    "record_signal",
    "report_item",
    "settings",
    "text_interests",
    "update_settings",
]
