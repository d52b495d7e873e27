"""The teacher view: classes with invite codes, the class heat map, a learner's detail, focus
skills, the reported-items queue, content import and class results as CSV; and the learner's
page for joining a class.

Every /teacher page needs a teacher or admin account (`_teacher`, a router dependency, so a
learner gets 403 before any form is read). Class pages answer 404 for classes of other
teachers. The learner detail page has `{learner_id}` in its path, so the guard in auth.py
checks `can_read_learner` (teachers: learners of their classes) before the route runs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hyperlearn.content.importing.runner import FORMATS
from hyperlearn.core import Language
from hyperlearn.service import InvalidInput, NotFound, classes
from hyperlearn.service import export as export_service
from hyperlearn.service import reading as reading_service
from hyperlearn.service.accounts import Role, TooManyAttempts, UserView
from hyperlearn.service.errors import N_
from hyperlearn.service.import_jobs import ImportJobs
from hyperlearn.settings import Settings
from hyperlearn.web import auth, i18n, pages
from hyperlearn.web.deps import NowDep, SessionDep

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Translated where shown.
FORMAT_NAMES = {
    "m2": N_("M2 (learner errors with gold corrections, e.g. from a GEC corpus)"),
    "conllu": N_("CoNLL-U (a treebank with gold morphology)"),
    "pairs": N_("Minimal pairs (TSV: correct and incorrect sentence)"),
}
LANGUAGE_NAMES = classes.LANGUAGE_NAMES
# Report statuses (classes.REPORT_STATUSES) for the catalogues: translated where shown.
REPORT_STATUS_NAMES = (N_("open"), N_("fixed"), N_("disabled"), N_("restored"))
# Import job statuses (service/import_jobs.py), likewise.
IMPORT_STATUS_NAMES = (N_("queued"), N_("running"), N_("done"), N_("failed"), N_("interrupted"))


def _teacher(request: Request) -> UserView:
    return classes.require_teacher(auth.current_user(request))


Teacher = Annotated[UserView, Depends(_teacher)]
router = APIRouter(include_in_schema=False, prefix="/teacher", dependencies=[Depends(_teacher)])
learner_router = APIRouter(include_in_schema=False)


def _page(
    request: Request, session: Session, name: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("learner", pages._current_learner(request, session))
    context.setdefault("language_names", LANGUAGE_NAMES)
    return pages.templates.TemplateResponse(request, name, context, status_code=status_code)


# -- the learner's side: joining a class ------------------------------------------------------


@learner_router.get("/classes", response_class=HTMLResponse)
def my_classes(request: Request, session: SessionDep) -> Response:
    learner = pages._current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    return _join_page(request, session, error=None, joined=request.query_params.get("joined"))


@learner_router.post("/classes/join", response_class=HTMLResponse)
def join(
    request: Request,
    session: SessionDep,
    now: NowDep,
    code: Annotated[str, Form(max_length=40)],
) -> Response:
    """Join with an invite code. Wrong codes are rate limited like logins (the login limits
    apply per learner, and five times over per address), so codes cannot be guessed."""
    learner = pages._current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    settings: Settings = request.app.state.settings
    try:
        classes.join_class(
            session,
            learner.id,
            code,
            now,
            address=request.client.host if request.client else "unknown",
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
        )
    except TooManyAttempts as error:
        response = _join_page(request, session, error=i18n.reason(request, error), status_code=429)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except (NotFound, InvalidInput) as error:
        status = 404 if isinstance(error, NotFound) else 422
        return _join_page(request, session, error=i18n.reason(request, error), status_code=status)
    return RedirectResponse("/classes?joined=1", status_code=303)


@learner_router.post("/classes/{class_id}/leave")
def leave(request: Request, session: SessionDep, class_id: str) -> Response:
    learner = pages._current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    classes.leave_class(session, learner.id, class_id)
    return RedirectResponse("/classes", status_code=303)


def _join_page(
    request: Request,
    session: Session,
    error: str | None,
    joined: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    learner = pages._current_learner(request, session)
    assert learner is not None
    return _page(
        request,
        session,
        "teacher_join.html",
        status_code=status_code,
        learner=learner,
        mine=classes.learner_classes(session, learner.id),
        error=error,
        joined=joined == "1",
    )


# -- classes ---------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: Teacher) -> Response:
    return _home(request, session, user, error=None)


def _home(
    request: Request, session: Session, user: UserView, error: str | None, status_code: int = 200
) -> HTMLResponse:
    return _page(
        request,
        session,
        "teacher_home.html",
        status_code=status_code,
        user=user,
        classes=classes.list_classes(session, user),
        open_reports=len(classes.open_reports(session, user)),
        languages=list(Language),
        error=error,
    )


@router.post("/classes")
def create_class(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: Teacher,
    name: Annotated[str, Form(max_length=200)],
    language: Annotated[str, Form(max_length=8)],
) -> Response:
    try:
        made = classes.create_class(session, user, name=name, language=language, now=now)
    except InvalidInput as error:
        return _home(request, session, user, error=i18n.reason(request, error), status_code=422)
    return RedirectResponse(f"/teacher/classes/{made.id}", status_code=303)


@router.get("/classes/{class_id}", response_class=HTMLResponse)
def class_page(
    request: Request, session: SessionDep, now: NowDep, user: Teacher, class_id: str
) -> Response:
    return _class_page(request, session, now, user, class_id, error=None)


def _class_page(
    request: Request,
    session: Session,
    now: NowDep,
    user: UserView,
    class_id: str,
    error: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    view = classes.get_class(session, user, class_id)
    return _page(
        request,
        session,
        "teacher_class.html",
        status_code=status_code,
        klass=view,
        heat=classes.heat_map(session, user, class_id, now),
        reading=reading_service.class_reading(session, user, class_id),
        saved=request.query_params.get("saved") == "1",
        error=error,
    )


@router.post("/classes/{class_id}/focus")
def set_focus(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: Teacher,
    class_id: str,
    skills: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        classes.set_focus_skills(session, user, class_id, skills or [])
    except InvalidInput as error:
        reason = i18n.reason(request, error)
        return _class_page(request, session, now, user, class_id, reason, status_code=422)
    return RedirectResponse(f"/teacher/classes/{class_id}?saved=1", status_code=303)


@router.post("/classes/{class_id}/remove")
def remove_member(
    session: SessionDep,
    user: Teacher,
    class_id: str,
    member: Annotated[str, Form(max_length=36)],
) -> Response:
    classes.remove_learner(session, user, class_id, member)
    return RedirectResponse(f"/teacher/classes/{class_id}", status_code=303)


@router.get("/classes/{class_id}/results.csv")
def class_results(session: SessionDep, now: NowDep, user: Teacher, class_id: str) -> Response:
    """Class results, one row per learner and skill (service.export.export_results_csv)."""
    learner_ids = classes.class_learner_ids(session, user, class_id)
    body = export_service.export_results_csv(session, learner_ids, now)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="class-{class_id}-results.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/learners/{learner_id}", response_class=HTMLResponse)
def learner_page(request: Request, session: SessionDep, now: NowDep, learner_id: str) -> Response:
    # The guard has checked can_read_learner: this teacher has the learner in a class.
    return _page(
        request,
        session,
        "teacher_learner.html",
        detail=classes.learner_detail(session, learner_id, now),
    )


# -- the reported-items queue ----------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, session: SessionDep, user: Teacher) -> Response:
    return _page(
        request,
        session,
        "teacher_reports.html",
        queue=classes.open_reports(session, user),
        resolved=classes.resolved_reports(session, user),
        done=request.query_params.get("done", ""),
    )


@router.get("/reports/{item_id}", response_class=HTMLResponse)
def report_page(request: Request, session: SessionDep, user: Teacher, item_id: str) -> Response:
    reported = classes.reported_item(session, user, item_id)
    return _item_page(request, session, reported, form=None, error=None)


def _item_page(
    request: Request,
    session: Session,
    reported: classes.ReportedItem,
    form: dict[str, str] | None,
    error: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    item = reported.item
    values = form or {
        "text": item.text,
        "answers": "\n".join(item.answers),
        "distractors": "\n".join(item.distractors),
        "explanation": item.explanation,
        "hint": item.hint,
        "correction": item.correction,
    }
    return _page(
        request,
        session,
        "teacher_item.html",
        status_code=status_code,
        reported=reported,
        values=values,
        error=error,
    )


@router.post("/reports/{item_id}/fix", response_class=HTMLResponse)
def fix(
    request: Request,
    session: SessionDep,
    now: NowDep,
    user: Teacher,
    item_id: str,
    text: Annotated[str, Form(max_length=classes.MAX_ITEM_TEXT_CHARS)],
    answers: Annotated[str, Form(max_length=5000)],
    distractors: Annotated[str, Form(max_length=5000)] = "",
    explanation: Annotated[str, Form(max_length=classes.MAX_ITEM_TEXT_CHARS)] = "",
    hint: Annotated[str, Form(max_length=200)] = "",
    correction: Annotated[str, Form(max_length=classes.MAX_ITEM_TEXT_CHARS)] = "",
) -> Response:
    reported = classes.reported_item(session, user, item_id)
    try:
        classes.fix_item(
            session,
            user,
            item_id,
            text=text,
            answers=answers.splitlines(),
            distractors=distractors.splitlines(),
            explanation=explanation,
            hint=hint,
            correction=correction,
            now=now,
        )
    except InvalidInput as error:
        session.rollback()
        form = {
            "text": text,
            "answers": answers,
            "distractors": distractors,
            "explanation": explanation,
            "hint": hint,
            "correction": correction,
        }
        reason = i18n.reason(request, error)
        return _item_page(request, session, reported, form, reason, status_code=422)
    return RedirectResponse("/teacher/reports?done=fixed", status_code=303)


@router.post("/reports/{item_id}/disable")
def disable(session: SessionDep, now: NowDep, user: Teacher, item_id: str) -> Response:
    classes.disable_item(session, user, item_id, now)
    return RedirectResponse("/teacher/reports?done=disabled", status_code=303)


@router.post("/reports/{item_id}/restore")
def restore(session: SessionDep, now: NowDep, user: Teacher, item_id: str) -> Response:
    classes.restore_item(session, user, item_id, now)
    return RedirectResponse("/teacher/reports?done=restored", status_code=303)


# -- content import --------------------------------------------------------------------------


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, session: SessionDep) -> Response:
    return _import_page(request, session, error=None)


def _import_page(
    request: Request,
    session: Session,
    error: str | None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    user = _teacher(request)
    return _page(
        request,
        session,
        "teacher_import.html",
        status_code=status_code,
        formats=FORMAT_NAMES,
        languages=list(Language),
        jobs=_imports(request).recent(session, user.id),
        error=error,
        values=values or {"format": "m2", "language": "en", "source": "", "licence": ""},
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
    )


@router.post("/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    session: SessionDep,
    user: Teacher,
    file: Annotated[UploadFile, File()],
    format: Annotated[str, Form(max_length=16)],
    language: Annotated[str, Form(max_length=8)],
    source: Annotated[str, Form(max_length=200)] = "",
    licence: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Keeps the uploaded file and queues its import, then shows the job's progress page.
    The importer runs in the background (service/import_jobs.py), so a large file does not
    hold the request open; the report (records read, items kept and added, why the others
    were dropped) appears on the job's page."""
    filename = Path(file.filename or "upload").name[:100] or "upload"
    values = {"format": format, "language": language, "source": source, "licence": licence}

    def refused(reason: str, status_code: int = 422) -> HTMLResponse:
        return _import_page(request, session, reason, status_code, values)

    if format not in FORMATS:
        return refused(
            i18n.tr(
                request,
                "Unknown format %(format)r: choose one of %(formats)s.",
                format=format,
                formats=", ".join(sorted(FORMATS)),
            )
        )
    size = file.size if file.size is not None else _size(file)
    if size > MAX_UPLOAD_BYTES:
        return refused(
            i18n.tr(
                request,
                "The file is larger than %(mb)s MB: import it with the command line "
                "(`hyperlearn import`).",
                mb=MAX_UPLOAD_BYTES // (1024 * 1024),
            ),
            status_code=413,
        )
    if size == 0:
        return refused(i18n.tr(request, "The file is empty."))
    file.file.seek(0)
    # On SQLite every transaction holds the write lock: end the request's own before the job
    # row is written (and before the worker starts writing).
    session.close()
    try:
        job_id = _imports(request).start(
            user.id,
            file.file,
            filename=filename,
            fmt=format,
            language=language,
            source=source,
            licence=licence,
        )
    except InvalidInput as error:
        return refused(i18n.reason(request, error))
    return RedirectResponse(f"/teacher/import/{job_id}", status_code=303)


@router.get("/import/{job_id}", response_class=HTMLResponse)
def import_job(request: Request, session: SessionDep, user: Teacher, job_id: str) -> Response:
    """An import's progress; the page reloads itself (a meta refresh, no script) until the
    job has finished, then shows the report."""
    job = _imports(request).get(session, job_id, user.id, admin=user.role is Role.ADMIN)
    return _page(request, session, "teacher_import_job.html", job=job)


def _imports(request: Request) -> ImportJobs:
    jobs: ImportJobs = request.app.state.imports
    return jobs


def _size(file: UploadFile) -> int:
    file.file.seek(0, 2)
    size = file.file.tell()
    file.file.seek(0)
    return size
