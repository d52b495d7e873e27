"""Reading practice pages and JSON: choose or paste a text, read it, answer its questions.

Answers go through `service.reading.answer`, which checks that the question belongs to the text
and then calls `submit_answer`: the learner and memory models are updated with the attempt.
Pasted text is stored as plain text (HTML reduced to its text) and always rendered escaped.

Glosses work without JavaScript: the words at or above the learner's level are buttons of one
form around the text; pressing one posts the lookup (recorded as a "did not know this word"
signal), and the redirect comes back to the same page with the gloss open under the word and
the page scrolled to it (`#w<offset>`).

Teachers assign texts to their classes from the class page (routes under /teacher/classes,
guarded like the teacher pages: a teacher role, and only the class's own teacher).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hyperlearn.content.reading.texts import MAX_BYTES
from hyperlearn.service import InvalidInput, practice
from hyperlearn.service import reading as service
from hyperlearn.service.accounts import UserView
from hyperlearn.web import i18n
from hyperlearn.web.auth import current_user
from hyperlearn.web.deps import NowDep, RngDep, SessionDep
from hyperlearn.web.pages import _current_learner, templates
from hyperlearn.web.teacher import _class_page, _teacher

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/reading", tags=["reading"])


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/reading", response_class=HTMLResponse)
def texts(request: Request, session: SessionDep, now: NowDep) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    return _page(
        request,
        "reading_list.html",
        learner=learner,
        texts=service.list_texts(session, learner.language, viewer=learner.id),
        words=service.words_to_review(session, learner.id, now),
    )


@router.post("/reading")
def paste(
    request: Request,
    session: SessionDep,
    now: NowDep,
    body: Annotated[str, Form(max_length=MAX_BYTES)],
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    report = service.add_text(
        session,
        body,
        learner.language,
        now=now,
        title=title,
        source="Pasted by a learner",
        licence="unknown",
        created_by=learner.id,
        settings=request.app.state.settings,
    )
    return RedirectResponse(f"/reading/{report.text_id}", status_code=303)


@router.get("/reading/{text_id}", response_class=HTMLResponse)
def read(
    request: Request, session: SessionDep, rng: RngDep, text_id: str, gloss: int | None = None
) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    return _reading_page(request, session, rng, learner, text_id, None, gloss)


@router.post("/reading/{text_id}/lookup")
def look_up(
    request: Request,
    session: SessionDep,
    now: NowDep,
    text_id: str,
    word: Annotated[int, Form(ge=0, le=10 * MAX_BYTES)],
    key: Annotated[str, Form(max_length=60)],
) -> Response:
    """Record that the learner looked the word up, then show its gloss in place."""
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    service.look_up(
        session, learner.id, text_id, offset=word, idempotency_key=f"lookup-{key}-{word}", now=now
    )
    return RedirectResponse(f"/reading/{text_id}?gloss={word}#w{word}", status_code=303)


@router.post("/reading/{text_id}/answer", response_class=HTMLResponse)
def answer(
    request: Request,
    session: SessionDep,
    now: NowDep,
    rng: RngDep,
    text_id: str,
    item_id: Annotated[str, Form(max_length=64)],
    key: Annotated[str, Form(max_length=100)],
    answer: Annotated[str, Form(max_length=practice.MAX_ANSWER_CHARS)] = "",
) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    feedback = service.answer(
        session, learner.id, text_id, item_id=item_id, answer=answer, idempotency_key=key, now=now
    )
    return _reading_page(request, session, rng, learner, text_id, feedback)


def _reading_page(
    request: Request,
    session: SessionDep,
    rng: RngDep,
    learner: practice.LearnerView,
    text_id: str,
    feedback: practice.FeedbackView | None,
    gloss: int | None = None,
) -> Response:
    text = service.get_text(
        session, text_id, rng, viewer=learner.id, level=learner.level, gloss_at=gloss
    )
    return _page(
        request,
        "reading.html",
        learner=learner,
        text=text,
        feedback=feedback,
        keys={q.item_id: str(uuid.uuid4()) for q in text.questions},
        lookup_key=str(uuid.uuid4()),
        no_questions=service.NO_SENTENCES if not text.questions else "",
    )


# -- teachers: assigning texts to a class -----------------------------------------------------

Teacher = Annotated[UserView, Depends(_teacher)]


@router.post("/teacher/classes/{class_id}/reading/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: Teacher,
    class_id: str,
    text_id: Annotated[str, Form(max_length=40)],
) -> Response:
    try:
        service.assign_text(session, user, class_id, text_id, now=now)
    except InvalidInput as error:
        reason = i18n.reason(request, error)
        return _class_page(request, session, now, user, class_id, reason, status_code=422)
    return RedirectResponse(f"/teacher/classes/{class_id}#reading", status_code=303)


@router.post("/teacher/classes/{class_id}/reading/paste", response_class=HTMLResponse)
def assign_pasted(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: Teacher,
    class_id: str,
    body: Annotated[str, Form(max_length=MAX_BYTES)],
    title: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        service.assign_new_text(
            session, user, class_id, body, title=title, now=now, settings=request.app.state.settings
        )
    except InvalidInput as error:
        reason = i18n.reason(request, error)
        return _class_page(request, session, now, user, class_id, reason, status_code=422)
    return RedirectResponse(f"/teacher/classes/{class_id}#reading", status_code=303)


@router.post("/teacher/classes/{class_id}/reading/unassign")
def unassign(
    session: SessionDep,
    user: Teacher,
    class_id: str,
    text_id: Annotated[str, Form(max_length=40)],
) -> Response:
    service.unassign_text(session, user, class_id, text_id)
    return RedirectResponse(f"/teacher/classes/{class_id}#reading", status_code=303)


@api_router.get("/texts/{text_id}")
def text_json(request: Request, session: SessionDep, rng: RngDep, text_id: str) -> dict[str, Any]:
    """A text with its questions (answers not included). A text pasted by a learner is
    theirs alone."""
    user = current_user(request)
    view = service.get_text(session, text_id, rng, viewer=user.learner_id if user else None)
    return {
        "id": view.id,
        "title": view.title,
        "language": str(view.language),
        "level": view.level,
        "paragraphs": view.paragraphs,
        "source": view.source,
        "licence": view.licence,
        "questions": [
            {
                "item_id": q.item_id,
                "kind": q.kind,
                "type": str(q.type),
                "prompt": q.prompt,
                "options": q.options,
                "hint": q.hint,
                "model_written": q.model_written,
            }
            for q in view.questions
        ],
    }
