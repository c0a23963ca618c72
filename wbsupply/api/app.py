"""The API and web cabinet application (FastAPI): JSON API under ``/api/v1``, cabinet pages at ``/``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from wbsupply import __version__
from wbsupply.api.errors import install_error_handlers
from wbsupply.api.logic.health import database_state
from wbsupply.api.logic.load_history import LoadHistory, sampling
from wbsupply.api.middleware import BodyLimitMiddleware, CsrfCookieMiddleware, SecurityHeadersMiddleware
from wbsupply.api.routes import admin, auth, notifications, slots, tasks, usage, wb_accounts
from wbsupply.api.routes.outputs import ERRORS, HealthOut
from wbsupply.api.security import SessionSigner
from wbsupply.api.web import admin_pages, cabinet_pages, monitor_pages, pages, render
from wbsupply.process import ProcessContext, ensure_secret_key
from wbsupply.store import begin_immediate, make_engine, session_factory

STATIC_DIR = Path(__file__).with_name("web") / "static"


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=ERRORS)
    for module in (auth, wb_accounts, tasks, slots, usage, notifications, admin):
        router.include_router(module.router)
    router.include_router(auth.me_router)
    return router


def _offline_docs(app: FastAPI) -> None:
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).with_name("static")
    app.mount("/static/docs", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="wbsupply — API",
                                   swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static/docs/swagger-ui.css",
                                   swagger_favicon_url="/static/docs/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="wbsupply — API",
                              redoc_js_url="/static/docs/redoc.standalone.js",
                              redoc_favicon_url="/static/docs/favicon.png", with_google_fonts=False)


def create_app(context: ProcessContext) -> FastAPI:
    settings = context.settings
    # /docs and /redoc are served below from the installed assets: the default pages load them from a CDN.
    load_history = LoadHistory()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with sampling(load_history):  # the admin's server-load chart
            yield

    app = FastAPI(title="wbsupply", version=__version__, description="API и кабинет продавца wbsupply",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.load_history = load_history
    app.state.context = context
    # A test or the bench may hand in an engine; otherwise the configured database.
    engine = context.engine or make_engine(settings.resolved_database_url())
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    # Changes take SQLite's write lock when their transaction begins, so a request that reads and then
    # writes waits for the monitor's or a bot's write instead of failing with "database is locked".
    app.state.writing_sessions = session_factory(begin_immediate(engine))
    app.state.inline_db = engine.dialect.name == "sqlite"  # short reads on the event loop (see deps.run_db)
    app.state.secret_key = ensure_secret_key(settings)  # also encrypts the sellers' WB API tokens
    app.state.signer = SessionSigner(app.state.secret_key)
    app.state.templates = render.templates()

    install_error_handlers(app)
    app.include_router(api_router())
    app.include_router(pages.router)
    app.include_router(cabinet_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(monitor_pages.router)
    _offline_docs(app)  # before /static: its mount would take /static/docs/... too
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Outermost first: refuse oversized bodies before anything reads them.
    app.add_middleware(CsrfCookieMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware)

    @app.get("/healthz", tags=["health"], response_model=HealthOut,
             responses={503: {"model": HealthOut, "description": "the database is locked or unavailable"}})
    async def healthz() -> JSONResponse:
        database = await run_in_threadpool(database_state, engine)
        failed = [name for name, state in context.status.items() if state == "failed"]
        status = "ok" if database == "ok" and not failed else "degraded"
        body = {"status": status, "version": __version__, "components": context.status, "database": database}
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    return app
