"""The placement test pages: the offer after onboarding, one question at a time, the result.

Every answer is a POST that redirects to the run's page (post/redirect/get), so reloading never
re-sends an answer; the run id in the URL is all the state the browser keeps.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hyperlearn.service import placement as service
from hyperlearn.service import practice
from hyperlearn.web.deps import NowDep, SessionDep
from hyperlearn.web.pages import _current_learner, templates

router = APIRouter(include_in_schema=False)


@router.get("/placement", response_class=HTMLResponse)
def placement(
    request: Request,
    session: SessionDep,
    run: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    context: dict[str, Any]
    if run is None:
        # The offer: starting is a plain link, because a run id costs nothing until answered.
        context = {"learner": learner, "view": None, "new_run": service.new_run(learner.level)}
    else:
        context = {"learner": learner, "view": service.view(session, learner.id, run)}
    return templates.TemplateResponse(request, "placement.html", context)


@router.post("/placement")
def answer(
    request: Request,
    session: SessionDep,
    now: NowDep,
    run: Annotated[str, Form(max_length=64)],
    item_id: Annotated[str, Form(max_length=64)],
    answer: Annotated[str, Form(max_length=practice.MAX_ANSWER_CHARS)] = "",
) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    service.answer(session, learner.id, run=run, item_id=item_id, answer=answer, now=now)
    return RedirectResponse(f"/placement?run={run}", status_code=303)
