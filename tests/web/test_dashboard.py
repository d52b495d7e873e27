"""The progress dashboard: empty and filled states, its numbers, its SVG, and its queries."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, cast

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from hyperlearn.core import CEFRLevel
from hyperlearn.core import learner as learner_model
from hyperlearn.service import dashboard as dashboard_service
from hyperlearn.service import practice
from hyperlearn.store import repository
from hyperlearn.web import charts
from tests.conftest import Clock
from tests.signin import AppClient, sign_in_again, signed_in


def make_learner(client: TestClient, level: str = "A2") -> dict[str, Any]:
    body = {"name": "Noor", "language": "en", "level": level, "interests": ["food"]}
    response = client.post("/api/learners", json=body)
    assert response.status_code == 201, response.text
    learner: dict[str, Any] = response.json()
    return learner


def practise(client: TestClient, learner_id: str, answers: int, right_every: int = 2) -> int:
    """Answer the recommended exercises, every `right_every`-th one right; returns how many
    were right."""
    right = 0
    for n in range(answers):
        exercise = client.get(f"/api/learners/{learner_id}/next").json()
        correct = n % right_every == 0
        with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            # By id: the recommender may have built a themed item just now.
            item = repository.load_items(session, ids=[exercise["item_id"]])[0]
        text = item.answers[0] if correct else "no idea at all"
        response = client.post(
            f"/api/learners/{learner_id}/attempts",
            json={
                "item_id": exercise["item_id"],
                "answer": text,
                "idempotency_key": str(uuid.uuid4()),
            },
        )
        assert response.status_code == 200, response.text
        right += response.json()["correct"]
    return right


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def test_a_new_learner_sees_sensible_empty_states(client: AppClient) -> None:
    make_learner(client)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Nothing answered yet" in page.text
    assert "No skill practised yet" in page.text
    assert "No reviews scheduled yet" in page.text
    # The skill graph and the (empty) forecast are still drawn; nothing else is.
    drawn = svgs(page.text)
    assert len(drawn) == 2
    assert 'id="chart-graph-title"' in drawn[0] and 'id="chart-forecast-title"' in drawn[1]
    assert 'href="/dashboard"' in page.text  # the nav links here
    assert "<script>" not in page.text and " style=" not in page.text  # CSP-clean


def test_the_dashboard_draws_the_log(client: AppClient, clock: Clock) -> None:
    learner = make_learner(client)
    right = practise(client, learner["id"], 6)
    clock.now += timedelta(days=2)
    right += practise(client, learner["id"], 9)
    sign_in_again(client)  # two days on, the browser session has idled out
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert f"15 exercises answered, {right} right" in page.text
    assert "on 2 days" in page.text
    drawn = svgs(page.text)
    assert len(drawn) == 4
    for svg in drawn:
        assert 'role="img"' in svg
        labelled = re.search(r'aria-labelledby="([^ "]+) ([^"]+)"', svg)
        assert labelled
        assert f'<title id="{labelled.group(1)}">' in svg
        assert f'<desc id="{labelled.group(2)}">' in svg
    mastery, activity, graph, forecast = drawn
    assert "Mastery" in mastery and "<polyline" in mastery
    assert re.search(r"<rect [^>]*><title>[^<]*: 6 answered", activity)
    assert re.search(r"<rect [^>]*><title>[^<]*: 9 answered", activity)
    assert 'data-status="next"' in graph and 'data-status="locked"' in graph
    assert "Today" in forecast
    # Each chart has a table with the same data.
    assert page.text.count("Show as a table") == 4


def test_the_json_matches_the_log_and_the_stored_state(client: AppClient, clock: Clock) -> None:
    learner = make_learner(client)
    practise(client, learner["id"], 5)
    clock.now += timedelta(days=1)
    practise(client, learner["id"], 7)
    data = client.get(f"/api/learners/{learner['id']}/dashboard").json()
    assert data["answered"] == 12
    assert sum(day["answered"] for day in data["activity"]) == 12
    assert [d["answered"] for d in data["activity"] if d["answered"]] == [5, 7]
    assert data["activity"][-1]["day"] == clock.now.date().isoformat()
    assert len(data["forecast"]) == dashboard_service.FORECAST_DAYS
    assert data["forecast"][0]["due"] >= data["due_now"]
    assert sum(d["due"] for d in data["forecast"]) <= data["reviewed_items"]
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        rebuilt = practice.rebuild_skill_states(session, learner["id"])
        graph = repository.load_graph(
            session, practice.get_learner(session, learner["id"]).language
        )
    for series in data["history"]:
        # The replay ends where the stored state is, and starts at the A2 prior.
        assert series["points"][-1][1] == rebuilt[series["skill_id"]].mastery
        assert series["attempts"] == rebuilt[series["skill_id"]].attempts
        prior = learner_model.initial_state(graph[series["skill_id"]], CEFRLevel.A2)
        assert series["points"][0][1] == prior.mastery
    counts = [s["attempts"] for s in data["history"]]
    assert counts == sorted(counts, reverse=True)
    statuses = {node["status"] for node in data["skills"]}
    assert statuses <= {"strong", "next", "locked"}
    assert [n["layer"] for n in data["skills"] if not n["prerequisites"]] == [0] * sum(
        1 for n in data["skills"] if not n["prerequisites"]
    )


def test_nobody_else_can_read_the_dashboard(client: AppClient) -> None:
    learner = make_learner(client)
    other = signed_in(cast(FastAPI, client.app))
    response = other.get(f"/api/learners/{learner['id']}/dashboard")
    assert response.status_code == 404
    assert client.get("/api/learners/nobody/dashboard").status_code == 404


def test_query_count_does_not_grow_with_the_log(client: AppClient, clock: Clock) -> None:
    learner = make_learner(client)
    practise(client, learner["id"], 3)
    engine = client.app.state.engine  # type: ignore[attr-defined]

    @contextmanager
    def counted() -> Iterator[list[str]]:
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", count)

    def run() -> int:
        counts = []
        for _ in range(2):  # the second time with warm content caches (themed items refresh them)
            with Session(engine) as session, counted() as statements:
                dashboard_service.dashboard(session, learner["id"], clock.now)
            counts.append(len(statements))
        return counts[-1]

    few = run()
    assert few > 0
    clock.now += timedelta(days=1)
    practise(client, learner["id"], 25)
    assert run() == few


def test_charts_escape_text_and_have_accessible_names() -> None:
    day = date(2026, 3, 1)
    svg = charts.line_chart(
        "c1",
        "A <b>title</b>",
        'desc "quoted" & more',
        [charts.Series("<script>alert(1)</script>", [(day, 0.2), (day + timedelta(days=3), 0.7)])],
        day,
        day + timedelta(days=5),
        y_label="Mastery",
    )
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;b&gt;title&lt;/b&gt;" in svg
    assert "&#34;quoted&#34; &amp; more" in svg
    assert 'aria-labelledby="c1-title c1-desc"' in svg
    bars = charts.bar_line_chart(
        "c2",
        "t",
        "d",
        [day, day + timedelta(days=1)],
        [0, 4],
        [None, 0.75],
        bar_label="Answered",
        line_label="Right",
    )
    assert "4 answered, 75% right" in bars
    assert charts.nice_ceiling(0) == 1 and charts.nice_ceiling(7) == 10
    assert charts.nice_ceiling(23) == 50 and charts.nice_ceiling(100) == 100
    assert charts.mastery_colour(0.0) == "#eef3fb" and charts.mastery_colour(1.0) == "#1f4e9c"
