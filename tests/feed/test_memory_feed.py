import asyncio

import pytest

from wbsupply.feed.base import TrimmedError
from wbsupply.feed.memory import MemoryFeed


async def test_read_resumes_after_last_id_without_loss():
    feed = MemoryFeed(maxlen=1000)
    ids = await feed.publish([{"n": i} for i in range(5)])
    first = await feed.read("0-0", limit=2)
    assert [e["n"] for _, e in first] == [0, 1]
    rest = await feed.read(first[-1][0])
    assert [e["n"] for _, e in rest] == [2, 3, 4]
    assert [i for i, _ in rest] == ids[2:]


async def test_read_from_none_sees_only_new_events():
    feed = MemoryFeed()
    await feed.publish([{"n": 1}])
    assert await feed.read(None) == []


async def test_blocking_read_wakes_on_publish():
    feed = MemoryFeed()
    reader = asyncio.create_task(feed.read(None, block_s=5))
    await asyncio.sleep(0)
    await feed.publish([{"n": 7}])
    got = await asyncio.wait_for(reader, 1)
    assert [e["n"] for _, e in got] == [7]


async def test_blocking_read_times_out_empty():
    feed = MemoryFeed()
    assert await feed.read(None, block_s=0.05) == []


async def test_subscriber_behind_trimmed_log_is_told():
    feed = MemoryFeed(maxlen=3)
    await feed.publish([{"n": i} for i in range(10)])
    with pytest.raises(TrimmedError):
        await feed.read("0-1")
    assert [e["n"] for _, e in await feed.read("0-7")] == [7, 8, 9]


async def test_subscribe_yields_in_order():
    feed = MemoryFeed()
    got = []

    async def consume():
        async for event_id, event in feed.subscribe("0-0"):
            got.append((event_id, event["n"]))
            if len(got) == 3:
                return

    task = asyncio.create_task(consume())
    await feed.publish([{"n": 1}])
    await feed.publish([{"n": 2}, {"n": 3}])
    await asyncio.wait_for(task, 1)
    assert got == [("0-1", 1), ("0-2", 2), ("0-3", 3)]


async def test_calendar_snapshot_is_a_copy():
    feed = MemoryFeed()
    snapshot = {"507:2026-12-01:boxes": {"coefficient": 0}}
    await feed.set_calendar(snapshot)
    snapshot.clear()
    assert await feed.get_calendar() == {"507:2026-12-01:boxes": {"coefficient": 0}}


async def test_calendar_updated_in_part_in_memory():
    feed = MemoryFeed()
    await feed.set_calendar({"a": {"c": 1}, "b": {"c": 2}})
    await feed.update_calendar({"b": {"c": 20}, "d": {"c": 4}}, ["a", "missing"])
    assert await feed.get_calendar() == {"b": {"c": 20}, "d": {"c": 4}}
