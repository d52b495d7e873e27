"""The progress dashboard: charts rendered on the server as SVG, each with a table beside it,
and the same numbers as JSON."""

from __future__ import annotations

import dataclasses
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from hyperlearn.service import dashboard as service
from hyperlearn.web import charts, i18n
from hyperlearn.web.deps import NowDep, SessionDep
from hyperlearn.web.pages import _current_learner, templates

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["learners"])


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, session: SessionDep, now: NowDep) -> Response:
    learner = _current_learner(request, session)
    if learner is None:
        return RedirectResponse("/", status_code=303)
    board = service.dashboard(session, learner.id, now)
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "learner": learner,
            "board": board,
            "charts": _charts(request, board),
            "status_names": charts.STATUS_NAMES,
        },
    )


@api_router.get("/learners/{learner_id}/dashboard")
def dashboard_json(learner_id: str, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """Mastery over time for the most-practised skills, answers and accuracy per day (last 30
    days), the skill graph with mastery and status, and reviews falling due per day (14 days)."""
    board = service.dashboard(session, learner_id, now)
    data = dataclasses.asdict(board)
    for day, row in zip(board.activity, data["activity"], strict=True):
        row["accuracy"] = day.accuracy
    return data


def _charts(request: Request, board: service.Dashboard) -> dict[str, Markup | None]:
    """The SVG of each chart, or None where there is nothing to draw yet; its words in the
    request's interface language."""
    found: dict[str, Markup | None] = {"mastery": None, "activity": None}
    language = i18n.request_language(request)
    words = charts.Words(gettext=lambda message: i18n.tr(request, message), language=language)
    if board.history:
        start = min(series.points[0][0] for series in board.history)
        found["mastery"] = charts.line_chart(
            "chart-mastery",
            i18n.tr(request, "Mastery of your most practised skills over time"),
            i18n.tr(
                request,
                "One line per skill: the learner model's estimate at the end of each day you "
                "practised it, starting from where your level put it. The table below has the "
                "same numbers.",
            ),
            [charts.Series(s.name, s.points) for s in board.history],
            start,
            board.today,
            y_label=i18n.tr(request, "Mastery"),
            x_label=i18n.tr(request, "Day"),
            words=words,
        )
    if any(day.answered for day in board.activity):
        found["activity"] = charts.bar_line_chart(
            "chart-activity",
            i18n.tr(
                request,
                "Exercises answered and share right per day, last %(days)s days",
                days=len(board.activity),
            ),
            i18n.tr(
                request,
                "Bars: exercises answered that day (left axis). Line: the share answered right "
                "(right axis), on days with answers.",
            ),
            [day.day for day in board.activity],
            [day.answered for day in board.activity],
            [day.accuracy for day in board.activity],
            bar_label=i18n.tr(request, "Exercises answered"),
            line_label=i18n.tr(request, "Answered right"),
            x_label=i18n.tr(request, "Day"),
            words=words,
        )
    found["graph"] = charts.skill_graph(
        "chart-graph",
        i18n.tr(request, "Skill graph coloured by mastery"),
        i18n.tr(
            request,
            "Each box is a skill, darker the better you know it; lines run from a prerequisite "
            "(left) to the skills that build on it (right). Thick orange borders mark open "
            "skills to learn next; dashed grey ones are locked until their prerequisites are "
            "known.",
        ),
        board.skills,
        words=words,
    )
    labels = [
        i18n.tr(request, "Today"),
        *(format_date(d.day, "EEE d", locale=language) for d in board.forecast[1:]),
    ]
    found["forecast"] = charts.bar_chart(
        "chart-forecast",
        i18n.tr(
            request,
            "Reviews falling due per day, next %(days)s days",
            days=len(board.forecast),
        ),
        i18n.tr(
            request,
            "Bars: items whose review falls due that day, by the memory model (FSRS). Today "
            "includes every review already due.",
        ),
        labels,
        [d.due for d in board.forecast],
        y_label=i18n.tr(request, "Reviews due"),
        x_label=i18n.tr(request, "Day"),
        notes=[
            i18n.tr(
                request,
                "%(label)s (%(day)s): %(count)s due",
                label=label,
                day=d.day.isoformat(),
                count=d.due,
            )
            for label, d in zip(labels, board.forecast, strict=True)
        ],
    )
    return found
