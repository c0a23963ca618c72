"""Entry points: :class:`MonitorComponent` for the embedded runtime and :func:`run_monitor` for
``wbsupply monitor``; both assemble the monitor from :class:`~wbsupply.config.Settings` with :func:`build_monitor`.

Without real WB credentials the monitor watches the built-in sandbox: it registers its own seller there
(API token for the public API, phone for the cabinet bot), so ``wbsupply up`` works with no setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from wbsupply.config import Settings
from wbsupply.feed.base import SlotFeed
from wbsupply.monitor.clock import Clock, RealClock
from wbsupply.monitor.history import HistoryWriter
from wbsupply.monitor.http import create_app
from wbsupply.monitor.pool import TokenPool
from wbsupply.monitor.roster import DbRoster
from wbsupply.monitor.service import Monitor, WarehouseFilter
from wbsupply.monitor.sessions import SessionProvider
from wbsupply.monitor.sources import CabinetSource, PublicApiSource, SlotSource, SourceSwitch
from wbsupply.process import ProcessContext, ensure_secret_key, make_feed, quiet_server, run_until_signal
from wbsupply.wb.api_client import WbApiClient
from wbsupply.wb.ratelimit import COEFFICIENTS_LIMIT

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("wbsupply.monitor")

SANDBOX_BOT_NAME = "wbsupply monitor"
WB_API_URL = "https://common-api.wildberries.ru"  # where the coefficients method lives


@dataclass(frozen=True)
class SandboxBot:
    api_token: str
    phone: str


async def provision_sandbox_bot(url: str, *, wait_s: float = 30.0) -> SandboxBot:
    """The monitor's own seller in the sandbox (waits for the sandbox, which may be starting alongside)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        while True:
            try:
                response = await client.post("/sandbox/sellers", json={"name": SANDBOX_BOT_NAME})
                response.raise_for_status()
                body = response.json()
                return SandboxBot(body["api_token"], body["phone"])
            except httpx.HTTPError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)


async def build_monitor(
    settings: Settings,
    feed: SlotFeed,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    warehouses: WarehouseFilter | Collection[int] | None = None,
    session_provider: SessionProvider | None = None,
) -> Monitor:
    """A monitor as the settings describe it.

    Real WB: ``wb_api_tokens`` feed the public-API source; the cabinet source reads the report through the
    operator's monitor accounts (their bots' saved browser sessions, from the database), or through
    ``session_provider`` when one is given (tests, a single fixed session).
    """
    clock = clock or RealClock()
    interval = settings.poll_interval_seconds
    tokens = [secret.get_secret_value() for secret in settings.wb_api_tokens]
    api_url = settings.wb_api_url or (WB_API_URL if tokens else None)
    cabinet_url = settings.wb_cabinet_url
    if settings.sandbox_enabled and not tokens and api_url is None:
        api_url = cabinet_url = settings.sandbox_url
        bot = await provision_sandbox_bot(api_url)
        tokens = [bot.api_token]
    sources: dict[str, SlotSource] = {}
    if tokens and api_url:
        pool = TokenPool.of(tokens, interval)
        sources["api"] = PublicApiSource(WbApiClient(api_url), pool, clock)
    cabinet_interval = max(settings.monitor_cabinet_interval_seconds, COEFFICIENTS_LIMIT[1] / 2)
    if session_provider is not None:
        sources["cabinet"] = CabinetSource(session_provider, max(interval, COEFFICIENTS_LIMIT[1]), clock=clock)
    elif engine is not None and cabinet_url:
        # The operator's monitor accounts, read from the database: connected ones join without a restart.
        roster = DbRoster(engine, ensure_secret_key(settings), cabinet_url)
        sources["cabinet"] = CabinetSource(roster, cabinet_interval, clock=clock)
    if not sources:
        raise RuntimeError("the monitor has no slot source: set WBSUPPLY_WB_API_TOKENS or WBSUPPLY_WB_CABINET_URL "
                           "(monitor accounts), or enable the sandbox")
    primary_name = settings.monitor_primary_source if settings.monitor_primary_source in sources else next(
        iter(sources))
    primary = sources.pop(primary_name)
    fallback = next(iter(sources.values()), None)
    if fallback is None:
        log.warning("monitor: only the %s source is configured; no fallback when it fails", primary.name)
    history = HistoryWriter(engine) if engine is not None else None
    switch = SourceSwitch(primary, fallback, settings.monitor_probe_interval_seconds)
    return Monitor(switch, feed, interval_s=interval, clock=clock, history=history, warehouses=warehouses)


async def close_sources(monitor: Monitor) -> None:
    for source in (monitor.switch.primary, monitor.switch.fallback):
        if source is not None:
            with contextlib.suppress(Exception):
                await source.aclose()


class MonitorComponent:
    """The monitor inside the embedded runtime: shares its feed; its live view is ``context.monitor``."""

    name = "monitor"

    def __init__(self, context: ProcessContext, *, warehouses: WarehouseFilter | None = None) -> None:
        self.context = context
        self.warehouses = warehouses

    async def run(self, stop: asyncio.Event) -> None:
        from wbsupply.store.engine import engine_from_settings

        engine = engine_from_settings(self.context.settings)
        try:
            monitor = await build_monitor(self.context.settings, self.context.feed, engine=engine,
                                          warehouses=self.warehouses)
        except (RuntimeError, httpx.HTTPError) as exc:
            # The cabinet and API stay useful without slot monitoring: say why and idle instead of failing.
            log.error("monitor not started: %s", exc)
            self.context.status[self.name] = f"not started: {exc}"
            engine.dispose()
            await stop.wait()
            return
        self.context.monitor = monitor
        self.context.status[self.name] = "running"
        try:
            await monitor.run(stop)
        finally:
            self.context.status[self.name] = "stopped"
            await close_sources(monitor)
            engine.dispose()


NOT_CONFIGURED_RETRY_S = 60.0


def create_waiting_app(reason: str) -> Starlette:
    """Health of a monitor that has no slot source yet: alive, not ready, and saying why (also in /metrics)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ready": False, "alive": True, "degraded": reason}, status_code=503)

    async def live(request: Request) -> Response:
        return JSONResponse({"alive": True, "degraded": reason})

    async def metrics(request: Request) -> Response:
        text = ("# HELP wbsupply_monitor_configured 1 when the monitor has a slot source\n"
                "# TYPE wbsupply_monitor_configured gauge\nwbsupply_monitor_configured 0\n")
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return Starlette(routes=[Route("/healthz", healthz), Route("/healthz/live", live), Route("/metrics", metrics)])


class SwitchableApp:
    """The one ASGI app of ``wbsupply monitor``'s server: the waiting app until the monitor is built, then its own.

    One server for both keeps /healthz/live answering throughout (a gap would fail the liveness probe).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


async def wait_for_monitor(settings: Settings, feed: SlotFeed, engine: Engine, stop: asyncio.Event,
                           app: SwitchableApp, retry_s: float = NOT_CONFIGURED_RETRY_S) -> Monitor | None:
    """Build the monitor; without a slot source (no WB tokens, sandbox not up yet) wait degraded and retry.

    A monitor that exits would crash-loop its pod and hide the reason; this one stays up, not ready, and
    its /healthz says what is missing. None if stopped meanwhile.
    """
    while not stop.is_set():
        try:
            return await build_monitor(settings, feed, engine=engine)
        except (RuntimeError, httpx.HTTPError) as exc:
            reason = str(exc) or type(exc).__name__
        log.error("monitor degraded, not polling: %s (retrying every %.0f s)", reason, retry_s)
        app.app = create_waiting_app(reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), retry_s)
    return None


async def serve_monitor(settings: Settings, stop: asyncio.Event, host: str, port: int) -> None:
    from wbsupply.store.engine import engine_from_settings

    feed = make_feed(settings)
    engine = engine_from_settings(settings)
    app = SwitchableApp(create_waiting_app("starting"))
    server = quiet_server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    monitor = None
    try:
        monitor = await wait_for_monitor(settings, feed, engine, stop, app)
        if monitor is not None:
            app.app = create_app(monitor)
            await monitor.run(stop)
    finally:
        server.should_exit = True
        await serving
        if monitor is not None:
            await close_sources(monitor)
        await feed.close()
        engine.dispose()


def run_monitor(settings: Settings, host: str = "0.0.0.0", port: int = 8200) -> None:
    """``wbsupply monitor``: the monitor alone, with ``/healthz``, ``/healthz/live`` and ``/metrics``."""

    async def main(stop: asyncio.Event) -> None:
        log.info("monitor: polling every %.0f s; health and metrics on http://%s:%d", settings.poll_interval_seconds,
                 host, port)
        await serve_monitor(settings, stop, host, port)

    run_until_signal(main)
