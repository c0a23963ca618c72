"""The monitor publishing into a real Redis that restarts in the middle of the run."""

from __future__ import annotations

import asyncio
import datetime as dt

from monitor_helpers import running

from wbsupply.domain.slots import SlotEvent, SlotEventKind
from wbsupply.domain.statuses import BoxType
from wbsupply.feed.redis import RedisFeed
from wbsupply.testkit import eventually


async def test_redis_restart_mid_run_loses_no_event_for_a_subscriber(harness, make_bot, redis_server):
    url = f"redis://{redis_server.host}:{redis_server.port}/0"
    monitor_feed, subscriber_feed = RedisFeed(url), RedisFeed(url)
    clock = harness.clock
    market = harness.sandbox.market
    monitor = harness.monitor(monitor_feed, harness.api_source([make_bot().api_token], clock), clock=clock)
    received: list[SlotEvent] = []

    async def subscribe() -> None:
        async for _id, raw in subscriber_feed.subscribe("0-0"):
            received.append(SlotEvent.from_dict(raw))

    def days_opened() -> list[int]:
        return [(e.slot.date - today).days for e in received if e.kind is SlotEventKind.OPENED]

    today = market.clock.today_msk()
    subscriber = asyncio.create_task(subscribe())
    try:
        async with running(monitor):
            await eventually(lambda: monitor.health()["ready"])
            market.open_slot(507, today + dt.timedelta(days=1), BoxType.BOXES)
            await eventually(lambda: days_opened() == [1])

            redis_server.stop()
            for offset in (2, 3):  # two polls' worth of events while Redis is down
                market.open_slot(507, today + dt.timedelta(days=offset), BoxType.BOXES)
                await eventually(lambda offset=offset: monitor.publisher.buffered == offset - 1)
            health = monitor.health()
            assert health["degraded"]["feed"] and health["ready"]  # still polling, and says it is degraded

            redis_server.start()
            market.open_slot(507, today + dt.timedelta(days=4), BoxType.BOXES)
            await eventually(lambda: len(days_opened()) >= 4, within=20)
            await eventually(lambda: not monitor.health()["degraded"]["feed"])
    finally:
        subscriber.cancel()
        await asyncio.gather(subscriber, return_exceptions=True)
    assert days_opened() == [1, 2, 3, 4]  # no loss, no duplicate, in order
    calendar = await subscriber_feed.get_calendar()  # the snapshot caught up after the outage
    assert sum(1 for slot in calendar.values() if slot["coefficient"] >= 0 and slot["allow_unload"]) == 4
    await monitor_feed.close()
    await subscriber_feed.close()


async def test_a_restarted_monitor_resumes_from_the_snapshot_and_republishes_nothing(harness, make_bot,
                                                                                       redis_server):
    url = f"redis://{redis_server.host}:{redis_server.port}/0"
    feed = RedisFeed(url)
    clock = harness.clock
    market = harness.sandbox.market
    token = make_bot().api_token
    market.open_slot(507, market.clock.today_msk() + dt.timedelta(days=2), BoxType.MONOPALLETS)
    first = harness.monitor(feed, harness.api_source([token], clock), clock=clock)
    async with running(first):
        await eventually(lambda: first.polls >= 1 and first.health()["ready"])
    events_before = len(await feed.read("0-0", limit=10_000))
    assert events_before == 1

    second = harness.monitor(feed, harness.api_source([token], clock), clock=clock)
    async with running(second):
        await eventually(lambda: second.polls >= 2 and second.health()["ready"])
    assert len(await feed.read("0-0", limit=10_000)) == events_before
    await feed.close()
