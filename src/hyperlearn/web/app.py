"""The application factory."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from hyperlearn import __version__
from hyperlearn.service import Conflict, InvalidInput, NotFound, ServiceError
from hyperlearn.settings import Settings
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.web import api, pages
from hyperlearn.web import reading as reading_web

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
_STATUS = {NotFound: 404, InvalidInput: 422, Conflict: 409}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    clock: Callable[[], datetime] = _utc_now,
    rng_factory: Callable[[], random.Random] = random.Random,
) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="HyperLearn", version=__version__, docs_url="/docs", redoc_url=None)
    engine = make_engine(settings.effective_database_url)
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = clock
    app.state.rng_factory = rng_factory

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path not in ("/docs", "/openapi.json"):  # Swagger UI needs its own CSP
            response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        code = next((c for kind, c in _STATUS.items() if isinstance(exc, kind)), 400)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.reason}, status_code=code)
        return pages.templates.TemplateResponse(
            request, "error.html", {"reason": exc.reason, "learner": None}, status_code=code
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": _plain_errors(exc)}, status_code=422)
        reason = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors())
        return HTMLResponse(
            pages.templates.get_template("error.html").render(reason=reason, learner=None),
            status_code=422,
        )

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(reading_web.router)
    app.include_router(reading_web.api_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _plain_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """Validation errors without echoing the (possibly huge) input back."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
