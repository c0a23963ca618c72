"""The Redis feed against a real redis-server, including a restart in the middle of a run."""

import asyncio

import pytest

from wbsupply.feed.base import FeedUnavailable, TrimmedError
from wbsupply.feed.buffer import BufferedPublisher
from wbsupply.feed.redis import RedisFeed
from wbsupply.testkit import eventually


def url_of(server) -> str:
    return f"redis://{server.host}:{server.port}/0"


async def test_publish_read_resume(redis_server):
    feed = RedisFeed(url_of(redis_server))
    ids = await feed.publish([{"n": i} for i in range(5)])
    assert ids == sorted(ids)
    first = await feed.read("0-0", limit=2)
    assert [e["n"] for _, e in first] == [0, 1]
    assert [e["n"] for _, e in await feed.read(first[-1][0])] == [2, 3, 4]
    assert await feed.last_id() == ids[-1]
    await feed.close()


async def test_calendar_replaced_whole(redis_server):
    feed = RedisFeed(url_of(redis_server))
    await feed.set_calendar({"a": {"c": 1}, "b": {"c": 2}})
    await feed.set_calendar({"b": {"c": 3}})
    assert await feed.get_calendar() == {"b": {"c": 3}}
    await feed.set_calendar({})
    assert await feed.get_calendar() == {}
    await feed.close()


async def test_subscriber_behind_trim_is_told(redis_server):
    feed = RedisFeed(url_of(redis_server), maxlen=10)
    ids = []
    for i in range(300):  # approximate trimming only trims whole macro-nodes
        ids += await feed.publish([{"n": i}])
    subscription = feed.subscribe(ids[0])
    with pytest.raises(TrimmedError):
        await anext(subscription)
    await feed.close()


async def test_redis_restart_loses_no_event_for_a_subscriber(redis_server):
    url = url_of(redis_server)
    subscriber_feed, publisher_feed = RedisFeed(url), RedisFeed(url)
    publisher = BufferedPublisher(publisher_feed)
    received: list[int] = []
    done = asyncio.Event()

    async def consume():
        async for _id, event in subscriber_feed.subscribe("0-0"):
            received.append(event["n"])
            if len(received) == 20:
                done.set()
                return

    consumer = asyncio.create_task(consume())
    assert await publisher.publish([{"n": i} for i in range(5)]) == 5
    await eventually(lambda: len(received) == 5, what="the first five read before Redis goes down")

    redis_server.stop()
    for i in range(5, 15):  # the monitor keeps polling while Redis is down
        await publisher.publish([{"n": i}])
    assert publisher.degraded
    assert publisher.buffered == 10

    redis_server.start()
    await publisher.publish([{"n": i} for i in range(15, 20)])
    assert not publisher.degraded
    assert publisher.buffered == 0

    await asyncio.wait_for(done.wait(), 30)
    await consumer
    assert received == list(range(20))  # no loss, no duplicate, in order
    await subscriber_feed.close()
    await publisher_feed.close()


async def test_buffer_is_bounded_and_counts_drops():
    class DownFeed:
        async def publish(self, events):
            raise FeedUnavailable("down")

    publisher = BufferedPublisher(DownFeed(), max_buffered=3)  # type: ignore[arg-type]
    for i in range(5):
        await publisher.publish([{"n": i}])
    assert publisher.buffered == 3
    assert publisher.dropped == 2


async def test_calendar_updated_in_part(redis_server):
    feed = RedisFeed(url_of(redis_server))
    await feed.set_calendar({"a": {"c": 1}, "b": {"c": 2}, "c": {"c": 3}})
    await feed.update_calendar({"b": {"c": 20}, "d": {"c": 4}}, ["a", "missing"])
    assert await feed.get_calendar() == {"b": {"c": 20}, "c": {"c": 3}, "d": {"c": 4}}
    await feed.update_calendar({}, [])  # nothing to do is fine
    await feed.close()
