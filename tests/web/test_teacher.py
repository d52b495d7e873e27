"""The teacher view on a real database: classes and invite codes, who may see what, the heat
map, a learner's detail, focus skills reaching the policy, the reported-items queue, content
import through the page, and class results as CSV."""

from __future__ import annotations

import csv
import io
import random
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from hyperlearn.core import Language
from hyperlearn.service import accounts, recommend
from hyperlearn.service import classes as classes_service
from hyperlearn.settings import Settings
from hyperlearn.store import repository
from hyperlearn.store.models import ItemReportRow, ItemRow
from hyperlearn.web.app import create_app
from tests.conftest import T0, Clock
from tests.signin import PASSWORD, AppClient, form_csrf, signed_in


@pytest.fixture
def fresh_app(fresh_database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    """A database of its own: reports withhold items from everyone, imports add items."""
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=fresh_database_url, data_dir=tmp_path),
        clock=Clock(),
        rng_factory=lambda: random.Random(next(seeds)),
    )
    yield app
    app.state.imports.shutdown()
    app.state.engine.dispose()


def _user_id(app: Any, client: AppClient) -> str:
    with app.state.sessions() as session:
        user = accounts.find_user(session, client.username)
    assert user is not None
    return user.id


def teacher(app: Any, role: str = "teacher") -> AppClient:
    """A teacher (or admin) account made on the command line's path, signed in by the page."""
    username = f"{role}{uuid.uuid4().hex[:10]}"
    with app.state.sessions() as session:
        accounts.create_user(session, username=username, password=PASSWORD, role=role, now=T0)
    client = AppClient(app)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": form_csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.username = username
    client.csrf_token = form_csrf(client.get("/account").text)
    return client


def learner(app: Any, name: str = "Noor", language: str = "en") -> tuple[AppClient, str]:
    client = signed_in(app)
    body = {"name": name, "language": language, "level": "A2", "interests": ["food"]}
    response = client.post("/api/learners", json=body)
    assert response.status_code == 201, response.text
    return client, str(response.json()["id"])


def make_class(client: AppClient, name: str = "Year 9 English", language: str = "en") -> str:
    response = client.post(
        "/teacher/classes", data={"name": name, "language": language}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"].rsplit("/", 1)[1])


def invite_code(client: AppClient, class_id: str) -> str:
    page = client.get(f"/teacher/classes/{class_id}")
    assert page.status_code == 200, page.text
    found = re.search(r'<code class="invite">([A-Z0-9]+)</code>', page.text)
    assert found
    return found.group(1)


def join(client: AppClient, code: str) -> Any:
    return client.post("/classes/join", data={"code": code}, follow_redirects=False)


def answer(client: TestClient, learner_id: str, n: int, right_every: int = 2) -> None:
    for k in range(n):
        exercise = client.get(f"/api/learners/{learner_id}/next").json()
        with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            item = repository.load_items(session, ids=[exercise["item_id"]])[0]
        text = item.answers[0] if k % right_every == 0 else "no idea at all"
        body = {"item_id": item.id, "answer": text, "idempotency_key": str(uuid.uuid4())}
        response = client.post(f"/api/learners/{learner_id}/attempts", json=body)
        assert response.status_code == 200, response.text


# -- classes and access ----------------------------------------------------------------------


def test_a_teacher_creates_a_class_and_learners_join_with_the_code(client: AppClient) -> None:
    app: Any = client.app
    tutor = teacher(app)
    home = tutor.get("/teacher")
    assert home.status_code == 200 and "No classes yet" in home.text
    assert 'href="/teacher"' in home.text  # the nav shows teachers their pages
    class_id = make_class(tutor)
    code = invite_code(tutor, class_id)
    assert len(code) == classes_service.CODE_LENGTH

    noor, noor_id = learner(app, "Noor")
    assert "not in a class yet" in noor.get("/classes").text
    # Codes are forgiving about case and spaces; joining twice changes nothing.
    spaced = f" {code[:4].lower()} {code[4:]} "
    assert join(noor, spaced).headers["location"] == "/classes?joined=1"
    assert join(noor, code).status_code == 303
    mine = noor.get("/classes").text
    assert "Year 9 English" in mine
    # A learner may be in several classes.
    other_class = make_class(tutor, "Conversation club")
    join(noor, invite_code(tutor, other_class))
    assert "Conversation club" in noor.get("/classes").text

    page = tutor.get(f"/teacher/classes/{class_id}")
    assert "Noor" in page.text and "1 learner" in page.text
    assert f'href="/teacher/learners/{noor_id}"' in page.text

    wrong = join(noor, "ZZZZZZZZ")
    assert wrong.status_code == 404 and "no class has this invite code" in wrong.text
    russian = make_class(tutor, "Russian A1", "ru")
    mismatch = join(noor, invite_code(tutor, russian))
    assert mismatch.status_code == 422 and "practises Russian" in mismatch.text

    # Leaving and being removed.
    assert noor.post(f"/classes/{other_class}/leave", data={}).status_code == 200
    assert "Conversation club" not in noor.get("/classes").text
    removed = tutor.post(f"/teacher/classes/{class_id}/remove", data={"member": noor_id})
    assert removed.status_code == 200
    assert tutor.get(f"/teacher/learners/{noor_id}").status_code == 404


def test_teachers_see_only_the_learners_of_their_classes(client: AppClient) -> None:
    app: Any = client.app
    tutor, stranger = teacher(app), teacher(app)
    class_id = make_class(tutor)
    noor, noor_id = learner(app, "Noor")
    outsider, outsider_id = learner(app, "Outsider")
    join(noor, invite_code(tutor, class_id))
    answer(noor, noor_id, 3)

    assert tutor.get(f"/teacher/learners/{noor_id}").status_code == 200
    for path in (f"/teacher/learners/{outsider_id}", f"/api/learners/{outsider_id}"):
        response = tutor.get(path)
        assert response.status_code in (401, 404) and "Outsider" not in response.text
    # Another teacher sees neither the class nor its learners.
    assert stranger.get(f"/teacher/classes/{class_id}").status_code == 404
    assert stranger.get(f"/teacher/classes/{class_id}/results.csv").status_code == 404
    assert stranger.get(f"/teacher/learners/{noor_id}").status_code == 404
    assert "Year 9" not in stranger.get("/teacher").text
    assert (
        stranger.post(f"/teacher/classes/{class_id}/focus", data={"skills": []}).status_code == 404
    )

    # The JSON API: a teacher reads a learner of their class but changes nothing.
    with app.state.sessions() as session:
        user = accounts.find_user(session, tutor.username)
        token = accounts.create_token(session, user.id, "t", T0).secret
    api = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert api.get(f"/api/learners/{noor_id}").json()["name"] == "Noor"
    assert api.get(f"/api/learners/{outsider_id}").status_code == 404
    changed = api.patch(f"/api/learners/{noor_id}/settings", json={"policy": "random"})
    assert changed.status_code == 404

    # Learners open no teacher page, not even with their own id in the path.
    for path in ("/teacher", f"/teacher/classes/{class_id}", "/teacher/reports"):
        assert noor.get(path).status_code == 403
    assert noor.get(f"/teacher/learners/{noor_id}").status_code == 403
    assert outsider.post("/teacher/classes", data={"name": "x", "language": "en"}).status_code == (
        403
    )
    assert 'href="/teacher"' not in noor.get("/classes").text
    # Admins manage any class.
    admin = teacher(app, "admin")
    assert admin.get(f"/teacher/classes/{class_id}").status_code == 200


def test_the_heat_map_and_the_learner_detail(client: AppClient) -> None:
    app: Any = client.app
    tutor = teacher(app)
    class_id = make_class(tutor)
    code = invite_code(tutor, class_id)
    noor, noor_id = learner(app, "Noor")
    ali, ali_id = learner(app, "Ali")
    join(noor, code)
    join(ali, code)
    answer(noor, noor_id, 6, right_every=1)
    answer(ali, ali_id, 4, right_every=4)

    page = tutor.get(f"/teacher/classes/{class_id}").text
    table = re.search(r'<table class="heat".*?</table>', page, flags=re.S)
    assert table, "no heat map"
    heat = table.group(0)
    with app.state.sessions() as session:
        graph = repository.load_graph(session, Language.EN)
        user = accounts.find_user(session, tutor.username)
        data = classes_service.heat_map(session, user, class_id, T0)
    # One row per skill, one column per learner (alphabetical) plus the class mean.
    rows = re.findall(r"<tr>\s*<th scope=\"row\">", heat)
    assert len(rows) == len(graph) == len(data.skills)
    assert [m.name for m in data.learners] == ["Ali", "Noor"]
    assert heat.index("Ali") < heat.index("Noor")
    # Every cell prints its number and carries a colour class; a legend explains the colours.
    cells = re.findall(r'<td class="heat-(\d)[^"]*">(\d+)%<span class="count">(\d+)/(\d+)', heat)
    assert len(cells) == len(graph) * 3
    for band, percent, _, _ in cells:
        assert abs(int(band) - min(4, int(percent) // 20)) <= 1  # rounding at the edges
    assert 'class="legend"' in page and "80% and above" in page
    assert "style=" not in page and "<script>" not in page  # nothing the CSP would block
    # The counts add up to the answers given.
    noor_col = [cell for row in data.cells for cell in row[1:2]]
    assert sum(c.attempts for c in noor_col) >= 6
    with app.state.sessions() as session:
        states = repository.skill_states(session, noor_id)
    for skill, row in zip(data.skills, data.cells, strict=True):
        if skill.id in states:
            assert row[1].mastery == pytest.approx(states[skill.id].mastery)
            assert row[1].attempts == states[skill.id].attempts
    means = [m.mastery for m in data.means]
    assert means[0] == pytest.approx((data.cells[0][0].mastery + data.cells[0][1].mastery) / 2)

    detail = tutor.get(f"/teacher/learners/{noor_id}")
    assert detail.status_code == 200
    assert "6 exercises answered, 6 right (100% accuracy)" in detail.text
    assert detail.text.count('<td class="filled">right</td>') == 6
    assert 'href="/teacher/classes' in tutor.get("/teacher").text


def test_focus_skills_reach_the_policy_and_its_reasons(client: AppClient) -> None:
    app: Any = client.app
    tutor = teacher(app)
    class_id = make_class(tutor)
    noor, noor_id = learner(app, "Noor")
    join(noor, invite_code(tutor, class_id))
    first = noor.get(f"/api/learners/{noor_id}/next").json()
    assert not any(r["factor"] == "focus" for r in first["reasons"])
    with app.state.sessions() as session:
        graph = repository.load_graph(session, Language.EN)
        learner_row = repository.get_learner(session, noor_id)
        assert learner_row is not None
        assert recommend.policy_state(session, learner_row, T0).focus_skills == frozenset()
    # A skill at the learner's level other than the one the policy picked without focus.
    focus = next(
        s.id
        for s in graph.skills.values()
        if str(s.level) in ("A1", "A2") and s.id != first["skill_id"]
    )
    saved = tutor.post(
        f"/teacher/classes/{class_id}/focus", data={"skills": [focus]}, follow_redirects=False
    )
    assert saved.status_code == 303
    page = tutor.get(saved.headers["location"]).text
    assert "Focus skills saved" in page and f'value="{focus}" checked' in page
    with app.state.sessions() as session:
        learner_row = repository.get_learner(session, noor_id)
        assert learner_row is not None
        state = recommend.policy_state(session, learner_row, T0)
        assert state.focus_skills == frozenset({focus})

    chosen = noor.get(f"/api/learners/{noor_id}/next").json()
    assert chosen["skill_id"] == focus
    expected = f"Your teacher asked your class to focus on {graph[focus].name}."
    assert expected in [r["text"] for r in chosen["reasons"]]
    assert str(escape(expected)) in noor.get("/practice").text

    # Unknown skills are refused; an empty selection clears the focus.
    bad = tutor.post(f"/teacher/classes/{class_id}/focus", data={"skills": ["no-such-skill"]})
    assert bad.status_code == 422 and "unknown skill" in bad.text
    tutor.post(f"/teacher/classes/{class_id}/focus", data={})
    with app.state.sessions() as session:
        assert classes_service.focus_skills_for_learner(session, noor_id) == frozenset()


def test_class_results_download_as_csv(client: AppClient) -> None:
    app: Any = client.app
    tutor = teacher(app)
    class_id = make_class(tutor)
    noor, noor_id = learner(app, "=Noor")  # a formula-like name is neutralised
    join(noor, invite_code(tutor, class_id))
    answer(noor, noor_id, 2)
    response = tutor.get(f"/teacher/classes/{class_id}/results.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    with app.state.sessions() as session:
        skills = len(repository.load_graph(session, Language.EN))
    assert len(rows) == 1 + skills
    assert {r[0] for r in rows[1:]} == {noor_id}
    assert all(r[1] == "'=Noor" for r in rows[1:])
    assert noor.get(f"/teacher/classes/{class_id}/results.csv").status_code == 403


# -- the reported-items queue ----------------------------------------------------------------


def _report(client: AppClient, learner_id: str, reason: str) -> str:
    item_id = str(client.get(f"/api/learners/{learner_id}/next").json()["item_id"])
    response = client.post(
        "/practice/report", data={"item_id": item_id, "reason": reason}, follow_redirects=False
    )
    assert response.status_code == 303
    return item_id


def _withheld(app: Any, item_id: str) -> bool:
    with app.state.sessions() as session:
        return item_id in repository.withheld_item_ids(session)


def _enabled(app: Any, item_id: str) -> bool:
    with app.state.sessions() as session:
        return any(i.id == item_id for i in repository.candidate_items(session, Language.EN))


def test_report_then_restore_shows_the_item_again(fresh_app: FastAPI) -> None:
    tutor = teacher(fresh_app)
    noor, noor_id = learner(fresh_app)
    item_id = _report(noor, noor_id, "the answer looks wrong")
    assert _withheld(fresh_app, item_id)
    queue = tutor.get("/teacher/reports")
    assert "the answer looks wrong" in queue.text
    assert f'action="/teacher/reports/{item_id}/restore"' in queue.text
    assert noor.post(f"/teacher/reports/{item_id}/restore", data={}).status_code == 403
    assert _withheld(fresh_app, item_id)

    done = tutor.post(f"/teacher/reports/{item_id}/restore", data={}, follow_redirects=False)
    assert done.headers["location"] == "/teacher/reports?done=restored"
    assert not _withheld(fresh_app, item_id) and _enabled(fresh_app, item_id)
    assert "No open reports" in tutor.get("/teacher/reports").text
    with fresh_app.state.sessions() as session:
        statuses = session.scalars(
            select(ItemReportRow.status).where(ItemReportRow.item_id == item_id)
        ).all()
    assert statuses == ["restored"]
    # Nothing left to restore.
    again = tutor.post(f"/teacher/reports/{item_id}/restore", data={})
    assert again.status_code == 422


def test_report_then_disable_and_bring_back(fresh_app: FastAPI) -> None:
    tutor = teacher(fresh_app)
    noor, noor_id = learner(fresh_app)
    item_id = _report(noor, noor_id, "two answers are right")
    assert tutor.post(f"/teacher/reports/{item_id}/disable", data={}).status_code == 200
    assert not _withheld(fresh_app, item_id)  # the report is closed ...
    assert not _enabled(fresh_app, item_id)  # ... and the item is out of practice
    for _ in range(5):
        assert noor.get(f"/api/learners/{noor_id}/next").json()["item_id"] != item_id
    resolved = tutor.get("/teacher/reports").text
    assert "Recently resolved" in resolved and "Show it again" in resolved
    tutor.post(f"/teacher/reports/{item_id}/restore", data={})
    assert _enabled(fresh_app, item_id)


def test_a_fix_is_verified_and_keeps_the_item_id(fresh_app: FastAPI) -> None:
    tutor = teacher(fresh_app)
    noor, _ = learner(fresh_app)
    with fresh_app.state.sessions() as session:
        cloze = next(
            i for i in repository.load_items(session, Language.EN) if str(i.type) == "cloze"
        )
    reported = noor.post(
        "/practice/report", data={"item_id": cloze.id, "reason": "typo"}, follow_redirects=False
    )
    assert reported.status_code == 303
    form = tutor.get(f"/teacher/reports/{cloze.id}")
    assert form.status_code == 200 and "typo" in form.text

    fields = {
        "text": cloze.text,
        "answers": "\n".join(cloze.answers),
        "distractors": "",
        "explanation": cloze.explanation,
        "hint": cloze.hint,
    }
    # A cloze without its gap fails the checks: refused, nothing changed, still withheld.
    bad = tutor.post(f"/teacher/reports/{cloze.id}/fix", data={**fields, "text": "No gap here."})
    assert bad.status_code == 422 and "needs exactly one gap" in bad.text
    assert "No gap here." in bad.text  # the form keeps the teacher's edit
    assert _withheld(fresh_app, cloze.id)
    with fresh_app.state.sessions() as session:
        row = session.get(ItemRow, cloze.id)
        assert row is not None and row.text == cloze.text

    better = "Edited by a teacher. " + cloze.text
    fixed = tutor.post(
        f"/teacher/reports/{cloze.id}/fix",
        data={**fields, "text": better, "explanation": "A clearer rule."},
        follow_redirects=False,
    )
    assert fixed.status_code == 303 and fixed.headers["location"].endswith("done=fixed")
    assert not _withheld(fresh_app, cloze.id)
    with fresh_app.state.sessions() as session:
        row = session.get(ItemRow, cloze.id)
        assert row is not None and row.text == better and row.explanation == "A clearer rule."
        assert row.updated_at is not None and row.updated_at > T0
    # The bank cache sees the edit (the content version was raised).
    with fresh_app.state.sessions() as session:
        cached = {i.id: i for i in repository.candidate_items(session, Language.EN)}
    assert cached[cloze.id].text == better


# -- import ----------------------------------------------------------------------------------

M2 = (
    "S I go to the cinema with my friends yesterday .\n"
    "A 1 2|||R:VERB:TENSE|||went|||REQUIRED|||-NONE-|||0\n\n"
    "S She have two brothers .\n"
    "A 1 2|||R:VERB:SVA|||has|||REQUIRED|||-NONE-|||0\n\n"
)


def _import(app: FastAPI, client: AppClient, fields: dict[str, str], name: str, body: bytes) -> str:
    """Uploads a file, waits for its background import and returns the job page."""
    sent = client.post(
        "/teacher/import",
        data=fields,
        files={"file": (name, body, "text/plain")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    job_url = sent.headers["location"]
    assert re.fullmatch(r"/teacher/import/[0-9a-f-]{36}", job_url)
    assert app.state.imports.wait(60)
    page = client.get(job_url)
    assert page.status_code == 200
    return page.text


def test_import_an_uploaded_m2_file(fresh_app: FastAPI, tmp_path: Path) -> None:
    tutor = teacher(fresh_app)
    page = tutor.get("/teacher/import")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    fields = {"format": "m2", "language": "en", "source": "Class corpus", "licence": "CC0"}
    report = _import(fresh_app, tutor, fields, "mine.m2", M2.encode())
    found = re.search(
        r"(\d+) records read, \d+ exercises built, (\d+) passed the checks, (\d+) new", report
    )
    assert found, report
    assert int(found.group(1)) == 2 and int(found.group(2)) > 0
    assert found.group(3) == found.group(2)
    assert 'http-equiv="refresh"' not in report  # finished: the page stops reloading
    with fresh_app.state.sessions() as session:
        stored = session.scalars(select(ItemRow).where(ItemRow.source == "Class corpus")).all()
    assert len(stored) == int(found.group(3))
    assert all(row.licence == "CC0" for row in stored)
    # The same file again adds nothing; both imports are listed on the import page.
    again = _import(fresh_app, tutor, fields, "mine.m2", M2.encode())
    assert re.search(r"passed the checks, 0 new", again)
    listing = tutor.get("/teacher/import").text
    assert listing.count('href="/teacher/import/') == 2 and "mine.m2" in listing

    # Bad files get a clear message, not a 500; nothing of theirs is kept.
    binary = _import(fresh_app, tutor, fields, "x.m2", b"\xff\xfe\x00bad")
    assert "not UTF-8" in binary
    nothing = _import(fresh_app, tutor, fields, "n.m2", b"hello\n")
    assert "n.m2: not an M2 file" in nothing
    assert not list((fresh_app.state.settings.data_dir / "imports").iterdir())
    empty = tutor.post("/teacher/import", data=fields, files={"file": ("e.m2", b"", "text/plain")})
    assert empty.status_code == 422 and "empty" in empty.text
    wrong = tutor.post(
        "/teacher/import",
        data={**fields, "format": "docx"},
        files={"file": ("n.m2", M2.encode(), "text/plain")},
    )
    assert wrong.status_code == 422 and "Unknown format" in wrong.text

    learner_client, _ = learner(fresh_app)
    refused = learner_client.post(
        "/teacher/import", data=fields, files={"file": ("mine.m2", M2.encode(), "text/plain")}
    )
    assert refused.status_code == 403


def test_an_import_job_is_private_to_its_teacher(fresh_app: FastAPI) -> None:
    tutor = teacher(fresh_app)
    fields = {"format": "m2", "language": "en"}
    sent = tutor.post(
        "/teacher/import",
        data=fields,
        files={"file": ("mine.m2", M2.encode(), "text/plain")},
        follow_redirects=False,
    )
    job_url = sent.headers["location"]
    assert fresh_app.state.imports.wait(60)
    other = teacher(fresh_app)
    assert other.get(job_url).status_code == 404
    assert "mine.m2" not in other.get("/teacher/import").text
    learner_client, _ = learner(fresh_app)
    assert learner_client.get(job_url).status_code == 403


def test_an_accepted_import_survives_a_restart(fresh_app: FastAPI) -> None:
    """A job accepted but not started when the server stopped runs when it starts again;
    one whose worker died mid-run is shown as interrupted."""
    from hyperlearn.service.import_jobs import HEARTBEAT, ImportJobs
    from hyperlearn.store.models import ImportJobRow

    tutor = teacher(fresh_app)
    clock = fresh_app.state.clock
    stopped = ImportJobs(
        fresh_app.state.sessions, fresh_app.state.settings.data_dir / "imports", clock
    )
    stopped.shutdown()  # a server that accepts the upload and stops before running it
    with fresh_app.state.sessions() as session:
        user_id = session.scalars(select(ImportJobRow.user_id)).first()
    assert user_id is None  # no jobs yet
    tutor_id = _user_id(fresh_app, tutor)
    with pytest.raises(RuntimeError):  # the executor refuses new work after shutdown...
        stopped.start(
            tutor_id,
            io.BytesIO(M2.encode()),
            filename="late.m2",
            fmt="m2",
            language="en",
            source="",
            licence="",
        )
    # ...but the job row and the upload were kept: the next server runs it.
    with fresh_app.state.sessions() as session:
        (row,) = session.scalars(select(ImportJobRow)).all()
        assert row.status == "queued" and row.total == 2
        job_id = row.id
    restarted = ImportJobs(
        fresh_app.state.sessions, fresh_app.state.settings.data_dir / "imports", clock
    )
    assert restarted.resume() == 1
    assert restarted.wait(60)
    with fresh_app.state.sessions() as session:
        view = restarted.get(session, job_id, tutor_id)
    assert view.status == "done" and view.report is not None and view.report["read"] == 2
    restarted.shutdown()

    with fresh_app.state.sessions.begin() as session:
        row = session.get_one(ImportJobRow, job_id)
        row.status, row.updated_at = "running", clock() - 3 * HEARTBEAT
    with fresh_app.state.sessions() as session:
        assert fresh_app.state.imports.get(session, job_id, tutor_id).status == "interrupted"


def test_an_upload_over_the_limit_is_refused(
    fresh_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyperlearn.web import teacher as teacher_web

    monkeypatch.setattr(teacher_web, "MAX_UPLOAD_BYTES", 10)
    tutor = teacher(fresh_app)
    fields = {"format": "m2", "language": "en"}
    big = tutor.post(
        "/teacher/import", data=fields, files={"file": ("big.m2", M2.encode(), "text/plain")}
    )
    assert big.status_code == 413 and "larger than" in big.text


def test_a_deleted_learner_leaves_the_class(client: AppClient) -> None:
    from hyperlearn.service import export

    app: Any = client.app
    tutor = teacher(app)
    class_id = make_class(tutor)
    noor, noor_id = learner(app, "Noor")
    join(noor, invite_code(tutor, class_id))
    with app.state.sessions() as session:
        # The learner's own data export lists the class before the account goes.
        exported = export.export_learner(session, noor_id, T0)
        assert [c["class_id"] for c in exported["classes"]] == [class_id]
        assert exported["classes"][0]["name"] == "Year 9 English"
        done = export.delete_learner(session, noor_id)
        assert done.deleted.get("class_members") == 1
        user = accounts.find_user(session, tutor.username)
        assert classes_service.get_class(session, user, class_id).learners == 0
    assert "Nobody has joined yet" in tutor.get(f"/teacher/classes/{class_id}").text


def test_heat_map_cells_are_rendered_from_numbers_only() -> None:
    from hyperlearn.service.classes import HeatCell
    from hyperlearn.web.pages import heat_cells

    html = heat_cells([HeatCell(0.79, 5, 3), HeatCell(0.0, 0, 0), HeatCell(1.0, 2, 2)])
    assert html == (
        '<td class="heat-3">79%<span class="count">3/5</span></td>'
        '<td class="heat-0">0%<span class="count">0/0</span></td>'
        '<td class="heat-4">100%<span class="count">2/2</span></td>'
    )
