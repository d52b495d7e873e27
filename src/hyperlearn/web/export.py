"""Data portability routes: download everything (JSON), attempts (CSV), delete the account.

The API takes the learner id from the path like the other learner routes, so the same
authentication and ownership checks apply; the pages act for the browser's current learner.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from hyperlearn.service import export as service
from hyperlearn.web import auth, i18n, pages
from hyperlearn.web.deps import NowDep, SessionDep

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["export"])
CONFIRM_WORD = "delete"


class DeletionOut(BaseModel):
    learner_id: str
    deleted: dict[str, int]
    unlinked: dict[str, int]


def _download(body: str | bytes, media_type: str, filename: str) -> Response:
    # Downloads, not pages: the browser saves them, and nothing in them is ever rendered.
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _json_download(session: SessionDep, learner_id: str, now: NowDep) -> Response:
    data = service.export_learner(session, learner_id, now)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return _download(body, "application/json", f"hyperlearn-{learner_id}.json")


def _csv_download(session: SessionDep, learner_id: str) -> Response:
    body = service.attempts_csv(session, learner_id)
    return _download(body, "text/csv; charset=utf-8", f"hyperlearn-{learner_id}-attempts.csv")


# -- JSON API ----------------------------------------------------------------------------------


@api_router.get(
    "/learners/{learner_id}/export.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def export_json(learner_id: str, session: SessionDep, now: NowDep) -> Response:
    """Everything stored about the learner: profile, interests, settings, attempts, skill and
    review states, engagement events, reports and pasted texts."""
    return _json_download(session, learner_id, now)


@api_router.get(
    "/learners/{learner_id}/attempts.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_attempts_csv(learner_id: str, session: SessionDep) -> Response:
    """The learner's attempts as CSV, oldest first."""
    return _csv_download(session, learner_id)


@api_router.delete("/learners/{learner_id}", response_model=DeletionOut)
def delete_learner(learner_id: str, session: SessionDep) -> DeletionOut:
    """Delete the learner and all their data. Their reports keep withholding the item, without
    the link to the learner."""
    done = service.delete_learner(session, learner_id)
    return DeletionOut(learner_id=done.learner_id, deleted=done.deleted, unlinked=done.unlinked)


# -- pages -------------------------------------------------------------------------------------


def _page(request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    return pages.templates.TemplateResponse(
        request, "export.html", {"confirm_word": CONFIRM_WORD, **context}, status_code=status_code
    )


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, session: SessionDep) -> Response:
    learner = pages._current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    return _page(request, learner=learner, deleted=False, error=None)


@router.get("/export/data.json")
def export_page_json(request: Request, session: SessionDep, now: NowDep) -> Response:
    learner = pages._current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    return _json_download(session, learner.id, now)


@router.get("/export/attempts.csv")
def export_page_csv(request: Request, session: SessionDep) -> Response:
    learner = pages._current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    return _csv_download(session, learner.id)


@router.post("/export/delete", response_class=HTMLResponse)
def delete_page(
    request: Request,
    session: SessionDep,
    confirm: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Deletes only after the learner typed the confirmation word (the form carries the CSRF
    token like every form); then the browser's session ends."""
    learner = pages._current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    if confirm.strip().casefold() != CONFIRM_WORD:
        return _page(
            request,
            status_code=422,
            learner=learner,
            deleted=False,
            error=i18n.tr(
                request,
                "Type %(word)r to confirm that everything should be deleted.",
                word=CONFIRM_WORD,
            ),
        )
    service.delete_learner(session, learner.id)
    # Answered here rather than by a redirect: the login went with the learner, so the next
    # request is anonymous and would be sent to /login.
    response = _page(request, learner=None, deleted=True, error=None)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    response.delete_cookie(pages.LEARNER_COOKIE)
    return response
