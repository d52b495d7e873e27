"""Server time of every HTML page with a realistically filled database.

    .venv/bin/python benchmarks/pages.py [--learners 100] [--attempts 20000] [--requests 50]
                                         [--out DIR] [--db FILE]

Target (issue 7): every page renders in under 150 ms server time with 100 learners and 20,000
attempts in the database.

1. Builds a SQLite database through the service layer: `hyperlearn init`'s schema and starter
   content, N learners (each with a learner account), and the attempts spread over them with a
   long tail (the heaviest learner has about 1,000 of the 20,000), answered over 60 days with
   about 70% right, through `submit_answer` (so skill states, review schedules and the log are
   what real use leaves). A reading text is added so that its page exists. With accounts, a
   teacher account owns one class that every learner joined with its invite code, so the
   class's heat map covers all N learners and all their attempts (the heaviest teacher page);
   the text is assigned to that class, the heaviest learner reports one item, and one small
   M2 file is imported through the background import queue and waited for. Last, the
   knowledge-tracing model is fitted (`hyperlearn learner refit`), so mastery everywhere comes
   from it, as on a server that has run for a while.
2. Signs in the way a browser does (the /login form and its CSRF token; before accounts
   existed, the learner cookie) as the heaviest learner, and in a second client as the
   teacher, so every page renders its full content.
3. Enumerates the app's GET routes outside /api, /static and the docs, fills path parameters
   it knows (the reading text, the class, the heaviest learner as the teacher sees them, the
   reported item, the import job), and keeps those that answer 200 with text/html: as the
   learner, else as a visitor (/login, /register), else as the teacher (the /teacher pages,
   which a learner gets 403 on).
4. Starts the app as `hyperlearn serve` does (the start-up heap frozen out of the garbage
   collector's scans), requests each page `--requests` times after one warm-up and reports
   p50, p95 and max of the server time: measured by an ASGI wrapper around the app from the
   request's arrival to the last byte of the response, so the test client's own overhead is
   not counted.

A page meets the target when its p95 is under 150 ms (the max is reported too: on a shared
machine one request in fifty can be slowed by something else). The server's CPU time per
request is reported beside the wall time: when other work loads the machine, wall time grows
with the wait for a core and CPU time shows what the page itself costs. Prints a table and writes
DIR/results.json. Timings are wall-clock on this machine.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from hyperlearn.core import Item, Language
from hyperlearn.service import practice
from hyperlearn.service.setup import init_database
from hyperlearn.settings import Settings
from hyperlearn.store import repository
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.web.app import create_app, freeze_startup_heap

TARGET_MS = 150.0
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DAYS = 60
TEXT = (
    "Maria was walking to the station when it started to rain. She had forgotten her umbrella, "
    "so she ran into a small cafe. While she was waiting for the rain to stop, she ordered a "
    "cup of tea and read the newspaper. An old friend from school was sitting at the next "
    "table. They had not seen each other for ten years. They talked for an hour and then "
    "walked to the station together. The rain had stopped and the sun was shining again."
)
SKIP_PREFIXES = ("/api/", "/static", "/docs", "/openapi.json", "/redoc")
# Every learner practises this language: a class has one language, and all of them join it.
LANGUAGE = Language.EN
TEACHER = "benchteacher"
# A small M2 file for the import job page: learner sentences with gold corrections.
M2_FILE = (
    "S He don't like the rain .\n"
    "A 1 2|||R:VERB:SVA|||doesn't|||REQUIRED|||-NONE-|||0\n\n"
    "S We was at home last night .\n"
    "A 1 2|||R:VERB:SVA|||were|||REQUIRED|||-NONE-|||0\n\n"
    "S She buyed a new bicycle on Monday .\n"
    "A 1 2|||R:VERB:INFL|||bought|||REQUIRED|||-NONE-|||0\n\n"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServerTimer:
    """ASGI wrapper: the time from a request's arrival to its last response byte, per path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_ms = 0.0
        self.last_cpu_ms = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # CPU time of the whole process: the client waits while the app works, so this is the
        # server's CPU time, which other load on a shared machine barely changes.
        cpu_started = time.process_time()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.last_ms = (time.perf_counter() - started) * 1000
                self.last_cpu_ms = (time.process_time() - cpu_started) * 1000

        await self.app(scope, receive, timed_send)


def _has_accounts() -> bool:
    try:
        from hyperlearn.service import accounts  # noqa: F401
    except ImportError:  # before accounts existed
        return False
    return True


def build_database(url: str, n_learners: int, n_attempts: int, seed: int) -> dict[str, Any]:
    """Learners (with accounts when the app has them) and attempts, through the services; with
    accounts also a teacher with a class of every learner, a reported item and an import."""
    rng = random.Random(seed)
    password = secrets.token_urlsafe(16)  # kept in the meta file next to the database
    engine = make_engine(url)
    started = time.perf_counter()
    init_database(engine, START)
    sessions = session_factory(engine)
    # A long tail: learner i gets a share proportional to 1/sqrt(i+1).
    weights = [1 / (i + 1) ** 0.5 for i in range(n_learners)]
    shares = [int(n_attempts * w / sum(weights)) for w in weights]
    shares[0] += n_attempts - sum(shares)
    learners: list[dict[str, Any]] = []
    teacher: dict[str, Any] = {}
    with sessions() as session:
        if _has_accounts():
            from argon2 import PasswordHasher

            from hyperlearn.service import accounts, classes

            # The benchmark measures pages, not argon2: a cheap profile makes 100 accounts fast.
            accounts.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
            user = accounts.create_user(
                session, username=TEACHER, password=password, role="teacher", now=START
            )
            made = classes.create_class(
                session, user, name="Benchmark class", language=str(LANGUAGE), now=START
            )
            teacher = {"id": user.id, "username": TEACHER, "class_id": made.id}
        bank = {lang: _items(session, lang) for lang in Language}
        for i in range(n_learners):
            language = LANGUAGE
            profile = practice.onboard(
                session,
                name=f"Learner {i}",
                language=str(language),
                level=rng.choice(["A1", "A2", "B1", "B2"]),
                interests=rng.sample(["football", "music", "food", "travel", "science"], 2),
                now=START,
            )
            username = f"bench{i}"
            if _has_accounts():
                user = accounts.create_user(
                    session, username=username, password=password, role="learner", now=START
                )
                accounts.attach_learner(session, user.id, profile.id)
                # Joined before any attempt: the heat map holds all of each learner's work.
                classes.join_class(session, profile.id, made.invite_code, START)
            learners.append(
                {"id": profile.id, "username": username, "language": language, "n": shares[i]}
            )
        built_learners = time.perf_counter() - started
        answered = 0
        for learner in learners:
            items = bank[learner["language"]]
            times = sorted(
                START + timedelta(seconds=rng.uniform(0, DAYS * 86400)) for _ in range(learner["n"])
            )
            for now in times:
                item = rng.choice(items)
                right = rng.random() < 0.7
                practice.submit_answer(
                    session,
                    learner["id"],
                    item_id=item.id,
                    answer=item.answers[0] if right else "wrong answer",
                    idempotency_key=str(uuid.uuid4()),
                    now=now,
                    latency_ms=rng.randint(1500, 20000),
                )
                answered += 1
        text_id = _add_text(session, learners[0]["id"])
        if teacher:
            _add_teacher_content(session, teacher, text_id, learners, bank[LANGUAGE], rng)
    if teacher:
        # After the session above has closed: on SQLite the import's worker needs the write lock.
        teacher["job_id"] = _import_job(sessions, teacher["id"])
    fitted = _fit_knowledge_model(sessions)
    engine.dispose()
    return {
        "learners": learners,
        "password": password,
        "attempts": answered,
        "teacher": teacher,  # empty before accounts existed
        "kt_model": fitted,
        "build_s": round(time.perf_counter() - started, 1),
        "learners_s": round(built_learners, 1),
    }


def _fit_knowledge_model(sessions: Callable[[], Session]) -> bool:
    """`hyperlearn learner refit`, as a deployment with this much data would have run: mastery
    on the progress, dashboard and class pages then comes from the knowledge-tracing model."""
    try:
        from hyperlearn.service import knowledge
    except ImportError:  # before the knowledge-tracing model existed
        return False
    with sessions() as session:
        return knowledge.refit(session, START + timedelta(days=DAYS)).fitted


def _items(session: Session, language: Language) -> list[Item]:
    return repository.load_items(session, language)


def _add_text(session: Session, learner_id: str) -> str:
    from hyperlearn.service import reading

    return reading.add_text(
        session,
        TEXT,
        Language.EN,
        now=START + timedelta(days=DAYS),
        title="A rainy afternoon",
        source="HyperLearn benchmark",
        licence="CC0",
    ).text_id


def _add_teacher_content(
    session: Session,
    teacher: dict[str, Any],
    text_id: str,
    learners: list[dict[str, Any]],
    items: list[Item],
    rng: random.Random,
) -> None:
    """The text assigned to the class, and one item reported by the heaviest learner."""
    from hyperlearn.service import accounts, reading, recommend

    user = accounts.get_user(session, teacher["id"])
    now = START + timedelta(days=DAYS)
    reading.assign_text(session, user, teacher["class_id"], text_id, now=now)
    heaviest = max(learners, key=lambda learner: learner["n"])
    item = rng.choice(items)
    recommend.report_item(session, heaviest["id"], item.id, "The answer looks wrong to me.", now)
    teacher["item_id"] = item.id


def _import_job(sessions: sessionmaker[Session], user_id: str) -> str:
    """One finished import of a small M2 file, through the queue the import page uses."""
    from hyperlearn.service.import_jobs import ImportJobs

    now = START + timedelta(days=DAYS)
    with tempfile.TemporaryDirectory(prefix="hyperlearn-import-") as folder:
        upload = Path(folder) / "benchmark.m2"
        upload.write_text(M2_FILE, encoding="utf-8")
        jobs = ImportJobs(sessions, Path(folder) / "imports", clock=lambda: now)
        try:
            with upload.open("rb") as handle:
                job_id = jobs.start(
                    user_id,
                    handle,
                    filename=upload.name,
                    fmt="m2",
                    language=str(LANGUAGE),
                    source="HyperLearn benchmark",
                    licence="CC0",
                )
            assert jobs.wait(120), "the import did not finish in 2 minutes"
        finally:
            jobs.shutdown()
        with sessions() as session:
            job = jobs.get(session, job_id, user_id)
    assert job.status == "done", (job.status, job.error)
    return job_id


def sign_in(client: TestClient, account: dict[str, Any], password: str) -> str:
    """Sign in as a browser would; returns how."""
    form = client.get("/login")
    if form.status_code == 404:  # before accounts existed: the learner cookie
        client.cookies.set("hl_learner", account["id"])
        return "learner cookie"
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, "the login form has no CSRF field"
    response = client.post(
        "/login",
        data={"username": account["username"], "password": password, "csrf_token": found[1]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return "login form (session cookie)"


def page_paths(
    app: Any, session: Session, params: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """GET routes outside the API, with known path parameters filled (`params` and a reading
    text); others are skipped."""
    from sqlalchemy import select

    from hyperlearn.store.models import ReadingTextRow

    known = {"text_id": session.scalar(select(ReadingTextRow.id).limit(1)) or "", **params}
    paths: list[str] = []
    skipped: dict[str, str] = {}
    for template in _get_routes(app):
        if template.startswith(SKIP_PREFIXES):
            continue
        names = re.findall(r"{(\w+)(?::\w+)?}", template)
        if any(not known.get(n) for n in names):
            skipped[template] = f"no value known for {', '.join(names)}"
            continue
        path = template
        for name in names:
            path = re.sub(r"{" + name + r"(?::\w+)?}", known[name], path)
        paths.append(path)
    return paths, skipped


def _get_routes(app: Any) -> list[str]:
    """Paths of the app's GET routes, included routers flattened."""
    found = [
        str(route.path)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and "GET" in (route.methods or ())
    ]
    return list(dict.fromkeys(found))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(
    learners: Annotated[int, typer.Option(help="Learners in the database.")] = 100,
    attempts: Annotated[int, typer.Option(help="Attempts in the database.")] = 20_000,
    requests: Annotated[int, typer.Option(help="Timed requests per page.")] = 50,
    seed: Annotated[int, typer.Option()] = 0,
    db: Annotated[
        Path | None,
        typer.Option(help="Reuse (or create) this SQLite file instead of a temporary one."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for results.json.")] = Path(
        "bench-results/pages"
    ),
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hyperlearn-pages-"))
    path = db or workdir / "bench.sqlite3"
    url = f"sqlite:///{path.resolve()}"
    meta_file = path.with_suffix(".meta.json")
    if db is not None and path.exists() and meta_file.exists():
        built = json.loads(meta_file.read_text())
        typer.echo(f"Reusing {path} ({built['attempts']} attempts).")
    else:
        typer.echo(f"Building {path}: {learners} learners, {attempts} attempts ...")
        built = build_database(url, learners, attempts, seed)
        for learner in built["learners"]:
            learner["language"] = str(learner["language"])
        meta_file.write_text(json.dumps(built))
        typer.echo(f"Built in {built['build_s']} s.")
    heaviest = max(built["learners"], key=lambda learner: learner["n"])
    teacher: dict[str, Any] = built.get("teacher") or {}  # none in an older meta file
    params = {
        "class_id": teacher.get("class_id", ""),
        "learner_id": heaviest["id"] if teacher else "",  # in the teacher's class
        "item_id": teacher.get("item_id", ""),
        "job_id": teacher.get("job_id", ""),
    }

    # The app's clock stands just after the last attempt, so due reviews are what they'd be.
    now = START + timedelta(days=DAYS, hours=1)
    settings = Settings(database_url=url, data_dir=workdir, secret_key=secrets.token_urlsafe(48))
    app = create_app(settings, clock=lambda: now, rng_factory=lambda: random.Random(seed))
    app.router.on_startup.append(freeze_startup_heap)  # as `hyperlearn serve` does
    timer = ServerTimer(app)
    results: list[dict[str, Any]] = []
    with (
        TestClient(timer) as client,
        TestClient(timer) as anonymous,
        TestClient(timer) as teaching,
    ):
        how = sign_in(client, heaviest, built["password"])
        if teacher:
            sign_in(teaching, teacher, built["password"])
        with app.state.sessions() as session:
            paths, skipped = page_paths(app, session, params)
        for page in paths:
            # Pages for visitors (/login, /register) send a signed-in user on: time them as a
            # visitor sees them. The /teacher pages answer a learner 403: time them as the
            # teacher sees them.
            answers = []
            browsers = (("learner", client), ("visitor", anonymous), ("teacher", teaching))
            for who, browser in browsers:
                first = browser.get(page, follow_redirects=False)
                kind = first.headers.get("content-type", "")
                if first.status_code == 200 and kind.startswith("text/html"):
                    break
                answers.append(f"{who}: {first.status_code} {kind or '(no content type)'}")
            else:
                skipped[page] = "not an HTML page (" + "; ".join(answers) + ")"
                continue
            times, cpu = [], []
            for _ in range(requests):
                response = browser.get(page, follow_redirects=False)
                assert response.status_code == 200, (page, response.status_code)
                times.append(timer.last_ms)
                cpu.append(timer.last_cpu_ms)
            results.append(
                {
                    "page": page,
                    "as": who,
                    "requests": requests,
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(_percentile(times, 0.95), 1),
                    "max_ms": round(max(times), 1),
                    "cpu_p50_ms": round(statistics.median(cpu), 1),
                    "cpu_p95_ms": round(_percentile(cpu, 0.95), 1),
                    "bytes": len(first.content),
                    # p95: one slow request in 50 on a shared machine is noise, not the page.
                    "under_target": _percentile(times, 0.95) < TARGET_MS,
                }
            )
    app.state.engine.dispose()

    typer.echo(
        f"\nServer time per page, {requests} requests each, signed in as the heaviest learner "
        f"({heaviest['n']} attempts; {how}); {len(built['learners'])} learners, "
        f"{built['attempts']} attempts"
        + (
            f"; teacher pages as the teacher of a class of all {len(built['learners'])} learners"
            if teacher
            else ""
        )
        + ":\n"
    )
    width = max([len(r["page"]) for r in results] + [len(p) for p in skipped] + [4])
    typer.echo(
        f"{'page':{width}} {'as':8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'cpu p50':>8} {'cpu p95':>8}  p95 < {TARGET_MS:.0f} ms"
    )
    for row in results:
        mark = "yes" if row["under_target"] else "NO"
        typer.echo(
            f"{row['page']:{width}} {row['as']:8} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} "
            f"{row['max_ms']:8.1f} {row['cpu_p50_ms']:8.1f} {row['cpu_p95_ms']:8.1f}  {mark}"
        )
    for page, reason in skipped.items():
        typer.echo(f"{page:{width}} skipped: {reason}")
    report = {
        "target_ms": TARGET_MS,
        "learners": len(built["learners"]),
        "attempts": built["attempts"],
        "measured_learner_attempts": heaviest["n"],
        "signed_in_with": how,
        "teacher_class_learners": len(built["learners"]) if teacher else 0,
        "kt_model_fitted": built.get("kt_model", False),
        "build_s": built["build_s"],
        "requests_per_page": requests,
        "pages": results,
        "skipped": skipped,
        "all_under_target": all(r["under_target"] for r in results),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "load_average": list(os.getloadavg()),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(f"\nWrote {out / 'results.json'}.")


if __name__ == "__main__":
    typer.run(main)
