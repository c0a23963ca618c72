"""WB misbehaving (5xx, timeouts, 429 with Retry, garbage items), on a clock 1000× faster than real time.

WB is played by an ``httpx.MockTransport`` here: these answers are hard to get from the sandbox on cue, and
with no network in the way the monitor can follow a fast clock, so half an hour of backoff takes 1.8 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import statistics
import time

import httpx
import pytest
from monitor_helpers import sample

from wbsupply.feed.memory import MemoryFeed
from wbsupply.monitor.backoff import Backoff
from wbsupply.monitor.clock import FollowClock
from wbsupply.monitor.http import create_app
from wbsupply.monitor.pool import TokenPool
from wbsupply.monitor.service import Monitor
from wbsupply.monitor.sources import PublicApiSource, SourceSwitch
from wbsupply.testkit import eventually
from wbsupply.wb.api_client import WbApiClient

GOOD = {"date": "2030-01-02T00:00:00Z", "coefficient": 0, "warehouseID": 507, "warehouseName": "Коледино",
        "allowUnload": True, "boxTypeID": 2, "deliveryCoef": "120"}


SPEEDUP = 1000.0


def fast_clock(start: dt.datetime) -> FollowClock:
    t0 = time.monotonic()
    return FollowClock(lambda: start + dt.timedelta(seconds=(time.monotonic() - t0) * SPEEDUP), SPEEDUP)


class FakeWb:
    """Answers the coefficients method from a script; records when each request came (clock seconds)."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 7, 1, 6, tzinfo=dt.UTC)) -> None:
        self.mode = "ok"
        self.records: list = []
        self.times: list[float] = []
        self.clock = fast_clock(start)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.clock.monotonic())
        if self.mode == "5xx":
            return httpx.Response(503, json={"title": "service unavailable", "status": 503})
        if self.mode == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if self.mode == "429":
            return httpx.Response(429, json={"title": "too many requests", "status": 429},
                                  headers={"X-Ratelimit-Retry": "45", "X-Ratelimit-Limit": "6"})
        if self.mode == "garbage":
            return httpx.Response(200, text="<html>oops</html>")
        return httpx.Response(200, content=json.dumps(self.records), headers={"content-type": "application/json"})

    def monitor(self, feed: MemoryFeed, **kwargs) -> Monitor:
        http = httpx.AsyncClient(base_url="https://common-api.wildberries.ru",
                                 transport=httpx.MockTransport(self.handler))
        source = PublicApiSource(WbApiClient("unused", http=http), TokenPool.of(["t"], 12.0), self.clock)
        return Monitor(SourceSwitch(source), feed, clock=self.clock, **kwargs)


async def run_for(monitor: Monitor, seconds: float) -> dict:
    """Run the monitor for ``seconds`` of its clock; returns its health just before stopping."""
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    await monitor.clock.sleep(seconds)
    health = monitor.health()
    stop.set()
    await task
    return health


@pytest.mark.parametrize("mode", ["5xx", "timeout", "garbage"])
async def test_outages_back_off_exponentially_with_a_cap(mode):
    wb = FakeWb()
    wb.mode = mode
    monitor = wb.monitor(MemoryFeed(), backoff=Backoff(base_s=2.0, cap_s=120.0))
    health = await run_for(monitor, 1800)
    gaps = [b - a for a, b in zip(wb.times, wb.times[1:], strict=False)]
    assert len(wb.times) <= 1800 / 60 + 10  # half an hour of outage: about one try a minute once capped
    assert min(gaps) >= 10.0 - 1e-6  # never faster than the poll interval (less 2 s of forgiven lateness)
    assert max(gaps) <= 120.0 + 15  # the cap (+ up to 15 ms of a busy machine's scheduling noise × 1000)
    assert sum(gaps[-10:]) / 10 >= 60  # it did grow
    kind = {"5xx": "server_error", "timeout": "timeout", "garbage": "bad_response"}[mode]
    assert sample(monitor, "wbsupply_monitor_errors_total", kind=kind) == len(wb.times)
    assert health["alive"] and not health["ready"]


async def test_recovery_resets_the_backoff():
    wb = FakeWb()
    wb.mode = "5xx"
    monitor = wb.monitor(MemoryFeed())
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    await wb.clock.sleep(600)
    wb.mode = "ok"
    await wb.clock.sleep(300)
    recovered = [t for t in wb.times if t >= 600 + 125]
    assert len(recovered) >= 10
    # Back to the 12 s cadence at once (a backoff that was not reset would wait 60..120 s).
    gaps = [b - a for a, b in itertools.pairwise(recovered)]
    # Polls keep to a 12 s grid: one up to 2 s late is followed by one as much earlier.
    assert min(gaps) >= 10 - 1e-6 and statistics.median(gaps) < 14, gaps
    assert monitor.health()["ready"]
    stop.set()
    await task


async def test_429_honours_x_ratelimit_retry():
    wb = FakeWb()
    wb.mode = "429"
    monitor = wb.monitor(MemoryFeed())
    await run_for(monitor, 600)
    gaps = [b - a for a, b in zip(wb.times, wb.times[1:], strict=False)]
    assert gaps and min(gaps) >= 45 - 1e-6
    assert sample(monitor, "wbsupply_monitor_rate_limited_total") == len(wb.times)


async def test_malformed_items_are_skipped_and_counted_the_loop_goes_on():
    wb = FakeWb(dt.datetime(2030, 1, 1, 6, tzinfo=dt.UTC))  # the records' dates are in 2030
    wb.records = [GOOD, {**GOOD, "boxTypeID": 99}, {**GOOD, "coefficient": "free"}, 42,
                  {**GOOD, "date": "2030-01-03T00:00:00Z"}]
    feed = MemoryFeed()
    monitor = wb.monitor(feed)
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    await eventually(lambda: monitor.polls >= 3)
    health = monitor.health()
    stop.set()
    await task
    polls = monitor.polls
    assert health["ready"]
    assert [(e["kind"], e["slot"]["date"]) for _, e in await feed.read("0-0")] == [
        ("opened", "2030-01-02"), ("opened", "2030-01-03")]
    skipped = {reason: sample(monitor, "wbsupply_monitor_malformed_items_total", reason=reason)
               for reason in ("unknown_box_type", "bad_coefficient", "not_an_object")}
    assert skipped == {"unknown_box_type": polls, "bad_coefficient": polls, "not_an_object": polls}


async def test_healthz_and_metrics():
    wb = FakeWb()
    monitor = wb.monitor(MemoryFeed(), interval_s=12.0)
    app = create_app(monitor)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://monitor") as client:
        before = await client.get("/healthz")
        assert before.status_code == 503 and before.json()["ready"] is False
        stop = asyncio.Event()
        task = asyncio.create_task(monitor.run(stop))
        await eventually(lambda: monitor.polls >= 1)
        ready = await client.get("/healthz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["source"] == "api" and body["dropped_tokens"] == 0 and body["degraded"] == {
            "feed": False, "history": False, "source": False}
        assert (await client.get("/healthz/live")).status_code == 200
        wb.mode = "5xx"
        await wb.clock.sleep(3 * 12 + 2)  # three intervals without a successful poll
        stale = await client.get("/healthz")
        assert stale.status_code == 503 and stale.json()["last_error"].startswith("api: WB API 503")
        assert (await client.get("/healthz/live")).status_code == 200  # alive, just not ready
        metrics = (await client.get("/metrics")).text
        stop.set()
        await task
    for name in ("wbsupply_monitor_polls_total{outcome=\"ok\",source=\"api\"}",
                 "wbsupply_monitor_errors_total{kind=\"server_error\"}",
                 "wbsupply_monitor_rate_limited_total", "wbsupply_monitor_events_published_total",
                 "wbsupply_monitor_detection_lag_seconds_bucket", "wbsupply_monitor_tokens_active 1.0"):
        assert name in metrics, name
