"""The monitor's own small HTTP app: ``/healthz`` (readiness), ``/healthz/live`` (liveness), ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from wbsupply.monitor.service import Monitor


def create_app(monitor: Monitor) -> Starlette:
    async def healthz(request: Request) -> Response:
        """Ready when the last successful poll is younger than 3 poll intervals (503 otherwise)."""
        health = monitor.health()
        return JSONResponse(health, status_code=200 if health["ready"] else 503)

    async def live(request: Request) -> Response:
        health = monitor.health()
        body = {"alive": health["alive"], "loop_age_s": health["loop_age_s"]}
        return JSONResponse(body, status_code=200 if health["alive"] else 503)

    async def metrics(request: Request) -> Response:
        monitor.refresh_gauges()
        return Response(generate_latest(monitor.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[
        Route("/healthz", healthz),
        Route("/healthz/live", live),
        Route("/metrics", metrics),
    ])
