"""Server-rendered pages: onboarding, practice with immediate feedback, progress.

Pages act for the signed-in user's learner profile (web/auth.py resolves the session before
every route); every form carries `{{ csrf_field(request) }}`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from hyperlearn.core import CEFRLevel, Language
from hyperlearn.service import InvalidInput, NotFound, accounts, recommend
from hyperlearn.service import memory as memory_service
from hyperlearn.service import practice as service
from hyperlearn.service.classes import HeatCell
from hyperlearn.service.errors import N_
from hyperlearn.settings import Settings
from hyperlearn.store import repository
from hyperlearn.web import auth, i18n
from hyperlearn.web.deps import NowDep, RngDep, SessionDep

# The cookie that remembered a learner before accounts existed; only ever deleted now.
LEARNER_COOKIE = "hl_learner"
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.globals["csrf_field"] = auth.csrf_field
templates.env.globals["current_user"] = auth.current_user


def heat_cells(cells: Sequence[HeatCell]) -> Markup:
    """One heat-map row's cells. A class of 100 has thousands of cells: through the template
    they took ~30 ms a page (Markup.format, longer still). Only numbers go in, each forced
    through int(), so there is nothing to escape."""
    html = "".join(
        f'<td class="heat-{int(c.band)}">{int(c.percent)}%<span class="count">'
        f"{int(c.correct)}/{int(c.attempts)}</span></td>"
        for c in cells
    )
    return Markup(html)  # noqa: S704 - integers only (see above)


templates.env.filters["heat_cells"] = heat_cells
i18n.install(templates.env)
router = APIRouter(include_in_schema=False)


def _current_learner(request: Request, session: Session) -> service.LearnerView | None:
    """The signed-in user's learner profile, or None (not signed in, or no profile yet)."""
    user = auth.current_user(request)
    if user is None or user.learner_id is None:
        return None
    try:
        return service.get_learner(session, user.learner_id)
    except NotFound:
        return None


def _to_onboarding() -> Response:
    return RedirectResponse("/", status_code=303)


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> Response:
    """Signed out: a welcome with links to sign in or register. Signed in without a learner
    profile: the onboarding form. With one: where to go next."""
    learner = _current_learner(request, session)
    return _page(
        request,
        "onboard.html",
        learner=learner,
        user=auth.current_user(request),
        topics=repository.load_topics(session),
        languages=list(Language),
        levels=list(CEFRLevel)[:5],
        error=None,
    )


@router.post("/onboard")
def onboard(
    request: Request,
    session: SessionDep,
    now: NowDep,
    name: Annotated[str, Form(max_length=200)],
    language: Annotated[str, Form(max_length=8)],
    level: Annotated[str, Form(max_length=4)],
    interests: Annotated[list[str] | None, Form()] = None,
    interests_text: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Create the signed-in user's learner profile (one per account)."""
    user = auth.current_user(request)
    assert user is not None  # the guard sends anonymous visitors to /login
    if user.learner_id is not None:
        return RedirectResponse("/practice", status_code=303)
    learner = service.onboard(
        session,
        name=name,
        language=language,
        level=level,
        interests=interests or [],
        interests_text=interests_text,
        now=now,
    )
    accounts.attach_learner(session, user.id, learner.id)
    # Offer the placement test first (it can be skipped): it seeds mastery from answers.
    return RedirectResponse("/placement", status_code=303)


@router.get("/practice", response_class=HTMLResponse)
def practice(request: Request, session: SessionDep, rng: RngDep, now: NowDep) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return _to_onboarding()
    exercise = service.next_exercise(session, learner.id, rng, now)
    return _page(
        request,
        "practice.html",
        learner=learner,
        exercise=exercise,
        key=str(uuid.uuid4()),
        feedback=None,
        reported=request.query_params.get("reported") == "1",
    )


@router.post("/practice", response_class=HTMLResponse)
def answer(
    request: Request,
    session: SessionDep,
    now: NowDep,
    item_id: Annotated[str, Form(max_length=64)],
    key: Annotated[str, Form(max_length=100)],
    answer: Annotated[str, Form(max_length=service.MAX_ANSWER_CHARS)] = "",
) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return _to_onboarding()
    feedback = service.submit_answer(
        session, learner.id, item_id=item_id, answer=answer, idempotency_key=key, now=now
    )
    item = repository.load_items(session, ids=[item_id])[0]
    return _page(
        request, "feedback.html", learner=learner, feedback=feedback, item=item, exercise=None
    )


@router.post("/practice/signal")
def signal(
    request: Request,
    session: SessionDep,
    now: NowDep,
    item_id: Annotated[str, Form(max_length=64)],
    signal: Annotated[str, Form(max_length=16)],
) -> Response:
    """Like, dislike or skip the current exercise; then on to the next one."""
    learner = _current_learner(request, session)
    if learner is None:
        return _to_onboarding()
    recommend.record_signal(session, learner.id, item_id, signal, now)
    return RedirectResponse("/practice", status_code=303)


@router.post("/practice/report")
def report(
    request: Request,
    session: SessionDep,
    now: NowDep,
    item_id: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=recommend.MAX_REPORT_CHARS)] = "",
) -> Response:
    """Report the exercise as wrong: nobody sees it again until a teacher has looked."""
    learner = _current_learner(request, session)
    if learner is None:
        return _to_onboarding()
    recommend.report_item(session, learner.id, item_id, reason, now)
    return RedirectResponse("/practice?reported=1", status_code=303)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: SessionDep) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return _to_onboarding()
    return _settings_page(request, session, learner, error=None)


@router.post("/settings", response_class=HTMLResponse)
def change_settings(
    request: Request,
    session: SessionDep,
    policy: Annotated[str, Form(max_length=16)],
    band_low: Annotated[int, Form(ge=5, le=99)],
    band_high: Annotated[int, Form(ge=5, le=99)],
    goal_level: Annotated[str, Form(max_length=2)],
    interests_text: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return _to_onboarding()
    try:
        recommend.update_settings(
            session,
            learner.id,
            policy=policy,
            band=(band_low / 100, band_high / 100),
            goal_level=goal_level,
            interests_text=interests_text,
        )
    except InvalidInput as error:
        return _settings_page(
            request, session, learner, error=i18n.reason(request, error), status_code=422
        )
    return RedirectResponse("/settings?saved=1", status_code=303)


def _settings_page(
    request: Request,
    session: Session,
    learner: service.LearnerView,
    error: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "settings.html",
        status_code=status_code,
        learner=learner,
        settings=recommend.settings(session, learner.id),
        policies=_offered_policies(request.app.state.settings, learner.id, session),
        levels=list(CEFRLevel),
        saved=request.query_params.get("saved") == "1",
        error=error,
    )


# The answers of a judgement exercise (core.items.JUDGEMENT_ANSWERS), translated where shown.
JUDGEMENT_NAMES = (N_("correct"), N_("incorrect"))
# Translated where shown (settings.html).
POLICY_NAMES = {
    "hybrid": N_(
        "Personalised (recommended): your weak skills, at the right difficulty, on "
        "topics you like, with reviews before you forget"
    ),
    "mastery": N_("Mastery learning: one skill at a time, in curriculum order, until you know it"),
    "random": N_("Random: any exercise (for comparison)"),
    "llm": N_(
        "Language model: a language model picks from the personalised shortlist and says why "
        "(the personalised choice whenever the model fails)"
    ),
    "tallrec": N_(
        "Tuned model: a model tuned on the class's answers predicts which exercises you will "
        "just manage"
    ),
}


def _offered_policies(settings: Settings, learner_id: str, session: Session) -> dict[str, str]:
    """The policies this server can run (the model-based ones only when a model is set up),
    and always the learner's current one."""
    current = recommend.settings(session, learner_id).policy
    offered = dict(POLICY_NAMES)
    if settings.llm_backend == "none" and current != "llm":
        del offered["llm"]
    if settings.tallrec_model_dir is None and current != "tallrec":
        del offered["tallrec"]
    return offered


@router.get("/progress", response_class=HTMLResponse)
def progress(request: Request, session: SessionDep, now: NowDep) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return _to_onboarding()
    rows = service.progress(session, learner.id, now)
    answered, right = service.attempt_totals(session, learner.id)
    return _page(
        request,
        "progress.html",
        learner=learner,
        rows=rows,
        answered=answered,
        right=right,
        reviews_due=memory_service.due_count(session, learner.id, now),
    )
