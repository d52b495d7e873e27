"""The application factory."""

from __future__ import annotations

import gc
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hyperlearn import __version__
from hyperlearn.service import Conflict, InvalidInput, NotFound, ServiceError
from hyperlearn.service.accounts import BadCredentials, TooManyAttempts
from hyperlearn.service.classes import Forbidden
from hyperlearn.service.errors import N_
from hyperlearn.service.import_jobs import ImportJobs
from hyperlearn.settings import Settings
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.web import accounts as accounts_web
from hyperlearn.web import api, auth, i18n, pages
from hyperlearn.web import dashboard as dashboard_web
from hyperlearn.web import export as export_web
from hyperlearn.web import placement as placement_web
from hyperlearn.web import reading as reading_web
from hyperlearn.web import teacher as teacher_web

STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    # No inline scripts or styles and nothing from other origins: users may be offline, and
    # learner text must never become code.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_STATUS = {NotFound: 404, InvalidInput: 422, Conflict: 409, BadCredentials: 401, Forbidden: 403}
CSRF_REASON = N_(
    "This form has expired or did not come from this site: go back, reload the page and send "
    "it again."
)
log = logging.getLogger("hyperlearn")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def freeze_startup_heap() -> None:
    """Take what is alive after start-up (modules, routes, caches) out of the garbage
    collector's scans. A full collection over that heap (about 190,000 objects) took ~100 ms,
    and a heavy page (a class heat map) set one off every other request. For a long-running
    server only: apps created and dropped in one process (tests) would keep their cycles."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    clock: Callable[[], datetime] = _utc_now,
    rng_factory: Callable[[], random.Random] = random.Random,
) -> FastAPI:
    settings = settings or Settings()
    # Refuses to start with a placeholder or short key outside development (InsecureSettings).
    secret_key = settings.effective_secret_key()
    if settings.secret_key and settings.weak_secret_key():
        log.warning(
            "HYPERLEARN_SECRET_KEY is weak; accepted only because HYPERLEARN_ENV=development. "
            "Never serve this to other people."
        )
    # Every route runs `auth.guard`: who is asking, CSRF on forms, access to {learner_id}.
    app = FastAPI(
        title="HyperLearn",
        version=__version__,
        docs_url="/docs",
        redoc_url=None,
        dependencies=[Depends(auth.guard)],
    )
    app.state.settings = settings
    app.state.secret_key = secret_key
    engine = make_engine(settings.effective_database_url)
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = clock
    app.state.rng_factory = rng_factory
    # Uploaded imports run in the background; jobs accepted before a restart run now.
    app.state.imports = ImportJobs(app.state.sessions, settings.data_dir / "imports", clock)
    app.router.on_startup.append(app.state.imports.resume)
    app.router.on_shutdown.append(app.state.imports.shutdown)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path not in ("/docs", "/openapi.json"):  # Swagger UI needs its own CSP
            response.headers.update(SECURITY_HEADERS)
        return response

    @app.middleware("http")
    async def browser_cookie(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Pages: give each browser a random nonce that pre-login CSRF tokens are bound to."""
        if request.url.path.startswith(("/api/", "/static/")):
            return await call_next(request)
        had_cookie = auth.BROWSER_COOKIE in request.cookies
        nonce = auth.browser_nonce(request)
        response = await call_next(request)
        if not had_cookie:
            auth.set_cookie(request, response, auth.BROWSER_COOKIE, nonce, 3600 * 24 * 365)
        return response

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        code = next((c for kind, c in _STATUS.items() if isinstance(exc, kind)), 400)
        headers = {}
        if isinstance(exc, TooManyAttempts):
            code, headers = 429, {"Retry-After": str(exc.retry_after)}
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.reason}, status_code=code, headers=headers)
        return pages.templates.TemplateResponse(
            request,
            "error.html",
            {"reason": i18n.reason(request, exc), "learner": None},
            status_code=code,
            headers=headers,
        )

    @app.exception_handler(auth.LoginRequired)
    async def login_required(request: Request, exc: auth.LoginRequired) -> Response:
        return RedirectResponse(auth.login_url(exc.next_path), status_code=303)

    @app.exception_handler(auth.CsrfFailed)
    async def csrf_failed(request: Request, exc: auth.CsrfFailed) -> Response:
        reason = i18n.tr(request, CSRF_REASON)
        return pages.templates.TemplateResponse(
            request, "error.html", {"reason": reason, "learner": None}, status_code=403
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": _plain_errors(exc)}, status_code=422)
        details = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
        # The field-by-field details stay as the validator words them.
        reason = i18n.tr(request, N_("Some fields are not right: %(details)s"), details=details)
        return pages.templates.TemplateResponse(
            request, "error.html", {"reason": reason, "learner": None}, status_code=422
        )

    app.include_router(api.router)
    app.include_router(accounts_web.router)
    app.include_router(accounts_web.api_router)
    app.include_router(pages.router)
    app.include_router(reading_web.router)
    app.include_router(reading_web.api_router)
    app.include_router(export_web.router)
    app.include_router(export_web.api_router)
    app.include_router(placement_web.router)
    app.include_router(dashboard_web.router)
    app.include_router(dashboard_web.api_router)
    app.include_router(teacher_web.router)
    app.include_router(teacher_web.learner_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _plain_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """Validation errors without echoing the (possibly huge) input back."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
