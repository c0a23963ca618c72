"""Redis slot feed for the cluster runtime: the calendar in a hash, events in a bounded stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wbsupply.feed.base import FeedEvent, FeedUnavailable, TrimmedError

log = logging.getLogger(__name__)

STREAM_KEY = "wbsupply:slot-events"
CALENDAR_KEY = "wbsupply:calendar"
RECONNECT_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """Redis being down is the feed's :class:`FeedUnavailable`: callers need not know the client's errors."""
    try:
        yield
    except _REDIS_DOWN as exc:
        raise FeedUnavailable(f"Redis unavailable ({type(exc).__name__}: {exc})") from exc


def _id_tuple(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


class RedisFeed:
    def __init__(
        self, url: str, *, stream: str = STREAM_KEY, calendar: str = CALENDAR_KEY, maxlen: int = 100_000
    ) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._stream = stream
        self._calendar = calendar
        self._maxlen = maxlen

    async def publish(self, events: Sequence[FeedEvent]) -> list[str]:
        # MULTI/EXEC: a batch lands whole or not at all, so a retry after an outage never duplicates.
        with _reachable():
            return await self._publish(events)

    async def _publish(self, events: Sequence[FeedEvent]) -> list[str]:
        async with self._redis.pipeline(transaction=True) as pipe:
            for event in events:
                # Approximate trimming (~) keeps XADD O(1); the stream stays near maxlen.
                pipe.xadd(self._stream, {"e": json.dumps(event, default=str)}, maxlen=self._maxlen, approximate=True)
            return [str(i) for i in await pipe.execute()]

    async def _check_not_trimmed(self, after_id: str) -> None:
        """Raise when events after ``after_id`` may have been trimmed away (the caller must resync).

        Trimming does not record what it removed, so this is conservative: a subscriber whose own last
        event was trimmed is told even if the next one survived; resyncing from the calendar is cheap.
        """
        info: dict[str, Any] = await self._redis.xinfo_stream(self._stream)
        trimmed = int(info.get("entries-added", 0)) - int(info.get("length", 0))
        first = info.get("first-entry")
        if trimmed <= 0 or not first or _id_tuple(after_id) >= _id_tuple(str(first[0])):
            return
        if after_id != "0-0" and await self._redis.xrange(self._stream, min=after_id, max=after_id):
            return
        raise TrimmedError(f"events after {after_id} were trimmed; oldest kept is {first[0]}")

    async def read(
        self, after_id: str | None, *, limit: int = 1000, block_s: float = 0.0
    ) -> list[tuple[str, FeedEvent]]:
        start = "$" if after_id is None else after_id
        block = int(block_s * 1000) if block_s > 0 else None
        with _reachable():
            reply: Any = await self._redis.xread({self._stream: start}, count=limit, block=block)
        out: list[tuple[str, FeedEvent]] = []
        for _stream, entries in reply or []:
            for event_id, fields in entries:
                out.append((str(event_id), json.loads(fields["e"])))
        return out

    async def subscribe(self, after_id: str | None = None) -> AsyncIterator[tuple[str, FeedEvent]]:
        """Endless events; survives Redis restarts by resuming after the last id it delivered."""
        last = after_id
        if last is None:
            last = await self.last_id()
        failures = 0
        checked = False
        while True:
            try:
                with _reachable():
                    if not checked and await self._redis.exists(self._stream):
                        await self._check_not_trimmed(last)
                checked = True
                batch = await self.read(last, block_s=5.0)
                failures = 0
            except FeedUnavailable as exc:
                delay = RECONNECT_BACKOFF_S[min(failures, len(RECONNECT_BACKOFF_S) - 1)]
                failures += 1
                checked = False
                log.warning("slot feed: %s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            for event_id, event in batch:
                last = event_id
                yield event_id, event

    async def last_id(self) -> str:
        with _reachable():
            newest = await self._redis.xrevrange(self._stream, count=1)
        return str(newest[0][0]) if newest else "0-0"

    async def set_calendar(self, slots: Mapping[str, FeedEvent]) -> None:
        # Write aside and rename, so readers never see a half-written calendar.
        staging = f"{self._calendar}:staging"
        with _reachable():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(staging)
                if slots:
                    pipe.hset(staging, mapping={k: json.dumps(v, default=str) for k, v in slots.items()})
                    pipe.rename(staging, self._calendar)
                else:
                    pipe.delete(self._calendar)
                await pipe.execute()

    async def update_calendar(self, upserts: Mapping[str, FeedEvent], removed: Sequence[str] = ()) -> None:
        with _reachable():
            async with self._redis.pipeline(transaction=True) as pipe:
                if upserts:
                    pipe.hset(self._calendar, mapping={k: json.dumps(v, default=str) for k, v in upserts.items()})
                if removed:
                    pipe.hdel(self._calendar, *removed)
                await pipe.execute()

    async def get_calendar(self) -> dict[str, FeedEvent]:
        with _reachable():
            raw: Any = await self._redis.hgetall(self._calendar)
        return {k: json.loads(v) for k, v in raw.items()}

    async def close(self) -> None:
        await self._redis.aclose()
