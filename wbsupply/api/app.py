"""The API and web cabinet application (FastAPI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from wbsupply import __version__

if TYPE_CHECKING:
    from wbsupply.runtime import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="wbsupply", version=__version__)
    app.state.runtime = runtime

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "components": runtime.status}

    return app
