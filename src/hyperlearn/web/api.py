"""The JSON API. Every route is a thin call into hyperlearn.service.

Authentication and access to `{learner_id}` are checked for every route by `web.auth.guard`
(an app-wide dependency); routes that act for the caller read `auth.current_user`.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from hyperlearn.core import Language
from hyperlearn.service import Conflict, InvalidInput, NotFound, accounts, recommend
from hyperlearn.service import memory as memory_service
from hyperlearn.service import practice as service
from hyperlearn.store import repository
from hyperlearn.web import auth, schemas
from hyperlearn.web.deps import NowDep, RngDep, SessionDep

router = APIRouter(prefix="/api")


def _plain(view: Any) -> dict[str, Any]:
    return dataclasses.asdict(view)


@router.get("/health", response_model=schemas.Health, tags=["meta"])
def health() -> schemas.Health:
    return schemas.Health(status="ok")


@router.get("/topics", response_model=list[schemas.TopicOut], tags=["content"])
def topics(
    session: SessionDep, language: Annotated[str, Query(pattern="^(en|ru)$")] = "en"
) -> list[schemas.TopicOut]:
    return [
        schemas.TopicOut(id=t.id, name=t.name(language)) for t in repository.load_topics(session)
    ]


@router.get("/skills", response_model=list[schemas.SkillOut], tags=["content"])
def skills(session: SessionDep, language: str = "en") -> list[schemas.SkillOut]:
    try:
        lang = Language(language)
    except ValueError:
        raise InvalidInput(f"unknown language {language!r}") from None
    graph = repository.cached_graph(session, lang)
    return [
        schemas.SkillOut(
            id=s.id,
            name=s.name,
            level=str(s.level),
            explanation=s.explanation,
            example=s.example,
            prerequisites=list(s.prerequisites),
        )
        for s in (graph[i] for i in graph.topological_order())
    ]


@router.post(
    "/learners",
    response_model=schemas.Learner,
    status_code=status.HTTP_201_CREATED,
    tags=["learners"],
)
def create_learner(
    request: Request, body: schemas.LearnerCreate, session: SessionDep, now: NowDep
) -> Any:
    """Create the caller's learner profile (one per account; 409 when there is one)."""
    user = auth.current_user(request)
    assert user is not None  # the guard answers 401 first
    if user.learner_id is not None:
        raise Conflict("this account already has a learner profile")
    learner = service.onboard(
        session,
        name=body.name,
        language=body.language,
        level=body.level,
        interests=body.interests,
        interests_text=body.interests_text,
        now=now,
    )
    accounts.attach_learner(session, user.id, learner.id)
    return _plain(learner)


@router.get("/learners/{learner_id}", response_model=schemas.Learner, tags=["learners"])
def read_learner(learner_id: str, session: SessionDep) -> Any:
    return _plain(service.get_learner(session, learner_id))


@router.get("/learners/{learner_id}/next", response_model=schemas.Exercise, tags=["practice"])
def next_exercise(learner_id: str, session: SessionDep, rng: RngDep, now: NowDep) -> Any:
    """The exercise the learner's policy ranks first, with the reasons for it."""
    return _plain(service.next_exercise(session, learner_id, rng, now))


@router.post(
    "/learners/{learner_id}/signals",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["practice"],
)
def record_signal(
    learner_id: str, body: schemas.SignalCreate, session: SessionDep, now: NowDep
) -> None:
    """A like, dislike or skip on an item; the learner's interest profile learns from it."""
    recommend.record_signal(session, learner_id, body.item_id, body.signal, now)


@router.post(
    "/items/{item_id}/reports",
    response_model=schemas.ReportOut,
    status_code=status.HTTP_201_CREATED,
    tags=["practice"],
)
def report_item(
    request: Request, item_id: str, body: schemas.ReportCreate, session: SessionDep, now: NowDep
) -> schemas.ReportOut:
    """Report an item as wrong: nobody is shown it until a teacher has looked at it. The
    report is the caller's learner profile's (`learner_id`, if sent, must be that one)."""
    user = auth.current_user(request)
    learner_id = user.learner_id if user is not None else None
    if body.learner_id is not None and not accounts.can_write_learner(user, body.learner_id):
        raise NotFound(f"no learner with id {body.learner_id!r}")
    if learner_id is None:
        raise InvalidInput("reports come from a learner profile: create one first")
    report_id = recommend.report_item(session, learner_id, item_id, body.reason, now)
    return schemas.ReportOut(id=report_id, item_id=item_id, status="open")


@router.get(
    "/learners/{learner_id}/settings", response_model=schemas.SettingsOut, tags=["learners"]
)
def read_settings(learner_id: str, session: SessionDep) -> schemas.SettingsOut:
    return _settings_out(recommend.settings(session, learner_id))


@router.patch(
    "/learners/{learner_id}/settings", response_model=schemas.SettingsOut, tags=["learners"]
)
def change_settings(
    learner_id: str, body: schemas.SettingsUpdate, session: SessionDep
) -> schemas.SettingsOut:
    """Policy (hybrid, mastery, random, llm, tallrec), desirable-difficulty band, goal level
    and interests in the learner's own words (matched to topics when embeddings are on)."""
    band = None
    if body.band_low is not None or body.band_high is not None:
        if body.band_low is None or body.band_high is None:
            raise InvalidInput("give both band_low and band_high")
        band = (body.band_low, body.band_high)
    return _settings_out(
        recommend.update_settings(
            session,
            learner_id,
            policy=body.policy,
            band=band,
            goal_level=body.goal_level,
            interests_text=body.interests_text,
        )
    )


@router.get(
    "/learners/{learner_id}/interests", response_model=list[schemas.InterestOut], tags=["learners"]
)
def read_interests(learner_id: str, session: SessionDep, now: NowDep) -> Any:
    """The interest profile: stated topics and what was learned from engagement, strongest
    first."""
    service.get_learner(session, learner_id)
    weights = recommend.interests(session, learner_id, now)
    ordered = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    return [schemas.InterestOut(topic=t, weight=round(w, 4)) for t, w in ordered]


def _settings_out(found: recommend.RecommenderSettings) -> schemas.SettingsOut:
    return schemas.SettingsOut(
        policy=found.policy,
        band_low=found.band[0],
        band_high=found.band[1],
        goal_level=str(found.goal_level),
        desired_retention=found.desired_retention,
        interests_text=found.interests_text,
    )


@router.post("/learners/{learner_id}/attempts", response_model=schemas.Feedback, tags=["practice"])
def submit_attempt(
    learner_id: str, body: schemas.AttemptCreate, session: SessionDep, now: NowDep
) -> Any:
    return _plain(
        service.submit_answer(
            session,
            learner_id,
            item_id=body.item_id,
            answer=body.answer,
            idempotency_key=body.idempotency_key,
            now=now,
            latency_ms=body.latency_ms,
        )
    )


@router.get(
    "/learners/{learner_id}/attempts", response_model=list[schemas.AttemptOut], tags=["practice"]
)
def list_attempts(learner_id: str, session: SessionDep) -> Any:
    return [_plain(a) for a in service.attempts(session, learner_id)]


@router.get(
    "/learners/{learner_id}/progress",
    response_model=list[schemas.SkillProgressOut],
    tags=["practice"],
)
def read_progress(learner_id: str, session: SessionDep, now: NowDep) -> Any:
    return [_plain(p) for p in service.progress(session, learner_id, now)]


@router.get(
    "/learners/{learner_id}/reviews",
    response_model=list[schemas.DueReviewOut],
    tags=["practice"],
)
def due_reviews(
    learner_id: str,
    session: SessionDep,
    now: NowDep,
    limit: Annotated[int, Query(ge=1, le=500)] = memory_service.DEFAULT_DUE_LIMIT,
) -> Any:
    """Items due for review, least likely to be recalled first (FSRS retrievability)."""
    return [due._asdict() for due in memory_service.due_items(session, learner_id, now, limit)]
