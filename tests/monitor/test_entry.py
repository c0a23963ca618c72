"""Entry points: the embedded-runtime component and the standalone server, assembled from Settings."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from monitor_helpers import SPEED, running

from wbsupply.config import Settings
from wbsupply.domain.statuses import BoxType
from wbsupply.feed.memory import MemoryFeed
from wbsupply.monitor.entry import MonitorComponent, serve_monitor
from wbsupply.process import ProcessContext
from wbsupply.testkit import eventually, free_port


def sandbox_settings(sandbox, tmp_path, database_url: str) -> Settings:
    url = httpx.URL(sandbox.url)
    return Settings(data_dir=tmp_path, database_url=database_url, sandbox_enabled=True, sandbox_host=url.host,
                    sandbox_port=url.port, wb_api_tokens=[], wb_api_url=None, redis_url=None)


async def test_component_in_the_embedded_runtime(sandbox, tmp_path, sqlite_database_url):
    runtime = ProcessContext(settings=sandbox_settings(sandbox, tmp_path, sqlite_database_url), feed=MemoryFeed())
    sandbox.market.open_slot(507, sandbox.market.clock.today_msk() + dt.timedelta(days=3), BoxType.BOXES)
    component = MonitorComponent(runtime)
    assert component.name == "monitor"
    stop = asyncio.Event()
    task = asyncio.create_task(component.run(stop))
    monitor = await eventually(lambda: runtime.monitor)
    await eventually(lambda: monitor.health()["ready"])
    stop.set()
    await asyncio.wait_for(task, 10)
    health = monitor.health()
    assert (health["source"], monitor.switch.fallback.name) == ("api", "cabinet")
    assert health["open_slots"] == 1
    assert len(await runtime.feed.get_calendar()) > 0


async def test_standalone_server_serves_health_and_metrics(sandbox, tmp_path, sqlite_database_url):
    settings = sandbox_settings(sandbox, tmp_path, sqlite_database_url)
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_monitor(settings, stop, "127.0.0.1", port))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

        async def ready() -> bool:
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready)
        assert "wbsupply_monitor_polls_total" in (await client.get("/metrics")).text
        assert (await client.get("/healthz/live")).json()["alive"] is True
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_cabinet_session_is_refreshed_then_renewed_by_login(harness, make_bot):
    bot = make_bot()
    clock = harness.clock
    market = harness.sandbox.market
    cabinet = harness.cabinet_source(bot.phone)
    monitor = harness.monitor(MemoryFeed(), cabinet, clock=clock)
    sessions = cabinet.sessions
    seller = market.seller_by_phone(bot.phone)
    async with running(monitor):
        await eventually(lambda: monitor.health()["ready"])
        assert (sessions.logins, sessions.refreshes) == (1, 0)
        market.expire_sessions(seller.id, include_refresh=False)  # the access token ran out
        await eventually(lambda: sessions.refreshes == 1)
        market.expire_sessions(seller.id, include_refresh=True)  # the whole login is gone
        await eventually(lambda: sessions.logins == 2)
        polls = monitor.polls
        await eventually(lambda: monitor.polls >= polls + 1)
    assert monitor.last_error is None and monitor.health()["ready"]


async def test_cabinet_primary_without_a_session_falls_back_to_the_api(harness, make_bot):
    bot = make_bot()
    clock = harness.clock
    market = harness.sandbox.market
    seller = market.seller_by_phone(bot.phone)
    cabinet, api = harness.cabinet_source(bot.phone), harness.api_source([bot.api_token], clock)
    monitor = harness.monitor(MemoryFeed(), cabinet, api, clock=clock, probe_interval_s=60.0)
    async with running(monitor):
        await eventually(lambda: monitor.health()["ready"])
        market.block_login(bot.phone, hours=3)  # WB: "too many attempts, try in 3 h"
        market.expire_sessions(seller.id, include_refresh=True)
        await eventually(lambda: monitor.switch.on_fallback)
        polls = monitor.polls
        await eventually(lambda: monitor.polls >= polls + 2)
        assert monitor.last_source == "api" and monitor.health()["ready"]
        market.block_login(bot.phone, hours=0)
        await eventually(lambda: not monitor.switch.on_fallback, within=120 / SPEED + 3)
    assert [a["kind"] for a in monitor.health()["alerts"]] == ["source_fallback", "source_restored"]
    assert "no cabinet session" in monitor.health()["alerts"][0]["message"]
