"""The monitor against the WB sandbox: detection, cadence with a token pool, 429 storms, 401, fallback."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import httpx
from monitor_helpers import SPEED, Harness, running, sample

from wbsupply.domain.slots import SlotEvent, SlotEventKind
from wbsupply.domain.statuses import BoxType
from wbsupply.feed.memory import MemoryFeed
from wbsupply.testkit import eventually

WH = 507


def opened(feed_events: list[tuple[str, dict]]) -> list[SlotEvent]:
    return [e for e in (SlotEvent.from_dict(raw) for _, raw in feed_events) if e.kind is SlotEventKind.OPENED]


async def published(feed: MemoryFeed) -> list[SlotEvent]:
    return [SlotEvent.from_dict(raw) for _, raw in await feed.read("0-0", limit=100_000)]


async def opened_on(feed: MemoryFeed, day: dt.date) -> bool:
    return any(e.kind is SlotEventKind.OPENED and e.slot.date == day for e in await published(feed))


async def detection_lags(harness: Harness, monitor, feed: MemoryFeed, samples: int) -> list[float]:
    """Open a slot at a random phase of the poll cycle; sandbox seconds until its "opened" event."""
    market = harness.sandbox.market
    today = market.clock.today_msk()
    lags = []
    last_id = None
    await eventually(lambda: monitor.polls >= 1 and monitor.health()["ready"])
    for n in range(samples):
        await asyncio.sleep(0.05 + 0.037 * n)  # spread the openings over the poll phase
        day = today + dt.timedelta(days=1 + n % 12)
        market.open_slot(WH, day, BoxType.BOXES)
        opened_at = market.clock.now()
        while True:
            batch = await feed.read(last_id or "0-0", block_s=5.0)
            assert batch, "no event within 5 s real time"
            last_id = batch[-1][0]
            hits = [e for e in opened(batch) if e.slot.date == day and e.slot.warehouse_id == WH]
            if hits:
                lags.append((market.clock.now() - opened_at).total_seconds())
                break
    return lags


async def test_opened_slot_is_published_within_one_effective_interval(harness, make_bot):
    bot = make_bot()
    clock = harness.clock
    feed = MemoryFeed()
    monitor = harness.monitor(feed, harness.api_source([bot.api_token], clock), clock=clock)
    async with running(monitor):
        lags = await detection_lags(harness, monitor, feed, samples=4)
    # 12 s effective interval; 2.5 sandbox s (83 ms real on a busy machine) for HTTP, diff and publishing.
    assert max(lags) <= 12.0 + 2.5, lags
    assert min(lags) < max(lags)  # the openings did fall at different phases of the cycle
    assert sample(monitor, "wbsupply_monitor_rate_limited_total") == 0


async def test_three_tokens_poll_three_times_as_often(harness, make_bot):
    tokens = [make_bot().api_token for _ in range(3)]
    clock = harness.clock
    feed = MemoryFeed()
    source = harness.api_source(tokens, clock)
    monitor = harness.monitor(feed, source, clock=clock)
    async with running(monitor):
        await eventually(lambda: monitor.polls >= 1)
        start, polls = clock.monotonic(), monitor.polls
        await asyncio.sleep(60 / SPEED)  # one sandbox minute
        elapsed, count = clock.monotonic() - start, monitor.polls - polls
        lags = await detection_lags(harness, monitor, feed, samples=4)
    assert source.pool.effective_interval_s == 4.0
    assert abs(count - elapsed / 4.0) <= 1.5, (count, elapsed)
    assert max(lags) <= 4.0 + 2.5, lags
    assert sample(monitor, "wbsupply_monitor_rate_limited_total") == 0  # steady state never 429


async def test_429_storm_from_another_consumer_never_makes_a_tight_loop(harness, make_bot):
    bot = make_bot()
    clock = harness.clock
    feed = MemoryFeed()
    requests: list[float] = []  # sandbox times of the monitor's own requests

    async def count(request: httpx.Request) -> None:
        requests.append(clock.monotonic())

    source = harness.api_source([bot.api_token], clock, on_request=count)
    monitor = harness.monitor(feed, source, clock=clock)

    async def greedy_consumer(stop: asyncio.Event) -> None:
        # Another program with the same seller account spends the bucket: a request every 2 sandbox seconds.
        async with httpx.AsyncClient(base_url=harness.sandbox.url) as client:
            while not stop.is_set():
                await client.get("/api/tariffs/v1/acceptance/coefficients", params={"warehouseIDs": "507"},
                                 headers={"Authorization": bot.api_token})
                await asyncio.sleep(2 / SPEED)

    async with running(monitor):
        storm_over = asyncio.Event()
        greedy = asyncio.create_task(greedy_consumer(storm_over))
        await asyncio.sleep(120 / SPEED)  # two sandbox minutes of storm
        storm_over.set()
        await greedy
        throttled = sample(monitor, "wbsupply_monitor_rate_limited_total")
        storm_requests = len(requests)
        await eventually(lambda: monitor.health()["ready"] and monitor.last_error is None, within=5)
    assert throttled >= 3
    gaps = [b - a for a, b in itertools.pairwise(requests)]
    assert min(gaps) >= 9.0, gaps  # never faster than the bucket's refill, 429 or not
    assert storm_requests <= 120 / 10 + 2


async def test_401_drops_the_token_alerts_and_keeps_polling(harness, make_bot, sqlite_database_url):
    from sqlalchemy import select

    from wbsupply.monitor.history import HistoryWriter
    from wbsupply.store import EventLog, make_engine, session_scope

    engine = make_engine(sqlite_database_url)
    bot = make_bot()
    clock = harness.clock
    feed = MemoryFeed()
    source = harness.api_source(["revoked-token", bot.api_token], clock)
    monitor = harness.monitor(feed, source, clock=clock, history=HistoryWriter(engine))
    async with running(monitor):
        await eventually(lambda: monitor.health()["dropped_tokens"] == 1)
        lags = await detection_lags(harness, monitor, feed, samples=1)
    health = monitor.health()
    assert health["active_tokens"] == 1 and health["ready"]
    assert [a["kind"] for a in health["alerts"]] == ["token_rejected"]
    assert "revoked-token" not in str(health)  # tokens by name only
    with session_scope(engine) as session:
        rows = session.exec(select(EventLog)).scalars().all()
    assert [(r.source, r.level, r.payload["alert"]) for r in rows] == [("monitor", "ERROR", "token_rejected")]
    assert "token#1" in rows[0].message and "revoked-token" not in rows[0].message
    assert lags[0] <= 12.0 + 2.5
    engine.dispose()


async def test_disabled_public_api_falls_back_to_the_cabinet_and_back(harness, make_bot):
    bot = make_bot()
    clock = harness.clock
    feed = MemoryFeed()
    market = harness.sandbox.market
    monitor = harness.monitor(feed, harness.api_source([bot.api_token], clock), harness.cabinet_source(bot.phone),
                              clock=clock, probe_interval_s=60.0)
    far_day = market.clock.today_msk() + dt.timedelta(days=20)  # only the cabinet reports days 15..30
    async with running(monitor):
        await eventually(lambda: monitor.health()["ready"])
        market.public_api_disabled = True
        await eventually(lambda: monitor.switch.on_fallback)
        assert monitor.health()["source"] == "cabinet" and monitor.health()["degraded"]["source"]
        assert monitor.health()["wb_api"] == "disabled"
        market.open_slot(WH, far_day, BoxType.MONOPALLETS, coefficient=2)
        await eventually(lambda: opened_on(feed, far_day))
        market.public_api_disabled = False
        await eventually(lambda: not monitor.switch.on_fallback, within=120 / SPEED + 3)
        polls = monitor.polls
        await eventually(lambda: monitor.polls >= polls + 2)
    kinds = [a["kind"] for a in monitor.health()["alerts"]]
    assert kinds == ["source_fallback", "source_restored"]
    health = monitor.health()
    assert health["wb_api"] == "ok" and health["sources"]["cabinet"]["last_ok_at"] is not None
    monitor.refresh_gauges()
    registry = monitor.metrics.registry
    assert registry.get_sample_value("wbsupply_monitor_live_source", {"source": "api"}) == 1
    assert registry.get_sample_value("wbsupply_monitor_live_source", {"source": "cabinet"}) == 0
    assert registry.get_sample_value("wbsupply_monitor_wb_api_state", {"state": "ok"}) == 1
    assert registry.get_sample_value("wbsupply_monitor_source_last_success_timestamp_seconds",
                                     {"source": "cabinet"}) > 0
    events = await published(feed)
    # The API covers 14 days: switching back must not "close" what only the cabinet reported.
    assert not [e for e in events if e.slot.date == far_day and e.kind is SlotEventKind.CLOSED]
    assert monitor.last_source == "api"


async def test_cabinet_as_primary_source_by_setting(harness):
    from wbsupply.config import Settings
    from wbsupply.monitor.entry import build_monitor, close_sources, provision_sandbox_bot
    from wbsupply.sandbox.sessions import SandboxSessionProvider

    url = httpx.URL(harness.sandbox.url)
    settings = Settings(sandbox_enabled=True, sandbox_host=url.host, sandbox_port=url.port,
                        monitor_primary_source="cabinet", wb_api_tokens=[], wb_api_url=None)
    feed = MemoryFeed()
    cabinet_bot = await provision_sandbox_bot(harness.sandbox.url)
    monitor = await build_monitor(settings, feed, clock=harness.clock, warehouses={WH},
                                  session_provider=SandboxSessionProvider(harness.sandbox.url, cabinet_bot.phone))
    assert (monitor.switch.primary.name, monitor.switch.fallback.name) == ("cabinet", "api")
    market = harness.sandbox.market
    day = market.clock.today_msk() + dt.timedelta(days=25)
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    try:
        await eventually(lambda: monitor.health()["ready"])
        market.open_slot(WH, day, BoxType.SUPERSAFE)
        await eventually(lambda: opened_on(feed, day))
    finally:
        stop.set()
        await task
        await close_sources(monitor)
    assert monitor.last_source == "cabinet"
    calendar = await feed.get_calendar()
    assert calendar[f"{WH}:{day.isoformat()}:supersafe"]["coefficient"] == 0
