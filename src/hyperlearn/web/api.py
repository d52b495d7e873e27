"""The JSON API. Every route is a thin call into hyperlearn.service."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from hyperlearn.core import Language
from hyperlearn.service import InvalidInput
from hyperlearn.service import memory as memory_service
from hyperlearn.service import practice as service
from hyperlearn.store import repository
from hyperlearn.web import schemas
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
    graph = repository.load_graph(session, lang)
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
def create_learner(body: schemas.LearnerCreate, session: SessionDep, now: NowDep) -> Any:
    learner = service.onboard(
        session,
        name=body.name,
        language=body.language,
        level=body.level,
        interests=body.interests,
        now=now,
    )
    return _plain(learner)


@router.get("/learners/{learner_id}", response_model=schemas.Learner, tags=["learners"])
def read_learner(learner_id: str, session: SessionDep) -> Any:
    return _plain(service.get_learner(session, learner_id))


@router.get("/learners/{learner_id}/next", response_model=schemas.Exercise, tags=["practice"])
def next_exercise(learner_id: str, session: SessionDep, rng: RngDep) -> Any:
    return _plain(service.next_exercise(session, learner_id, rng))


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
