"""In-process slot feed for the embedded runtime: a bounded event log with resumable ids."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence

from wbsupply.feed.base import FeedEvent, TrimmedError


class MemoryFeed:
    def __init__(self, maxlen: int = 100_000) -> None:
        self._log: deque[tuple[int, FeedEvent]] = deque(maxlen=maxlen)
        self._last_seq = 0
        self._calendar: dict[str, FeedEvent] = {}
        self._changed = asyncio.Condition()

    @staticmethod
    def _seq(event_id: str) -> int:
        # Same shape as Redis stream ids ("<ms>-<seq>"); here the first part is always 0.
        return int(event_id.rsplit("-", 1)[-1])

    async def publish(self, events: Sequence[FeedEvent]) -> list[str]:
        ids = []
        for event in events:
            self._last_seq += 1
            self._log.append((self._last_seq, dict(event)))
            ids.append(f"0-{self._last_seq}")
        if ids:
            async with self._changed:
                self._changed.notify_all()
        return ids

    def _after(self, seq: int, limit: int) -> list[tuple[str, FeedEvent]]:
        if self._log and seq < self._log[0][0] - 1:
            raise TrimmedError(f"events after 0-{seq} were trimmed; oldest kept is 0-{self._log[0][0]}")
        out: list[tuple[str, FeedEvent]] = []
        # The log is ordered by seq, so index arithmetic finds the start without a scan.
        start = 0 if not self._log else max(0, seq - self._log[0][0] + 1)
        for i in range(start, len(self._log)):
            out.append((f"0-{self._log[i][0]}", self._log[i][1]))
            if len(out) >= limit:
                break
        return out

    async def read(
        self, after_id: str | None, *, limit: int = 1000, block_s: float = 0.0
    ) -> list[tuple[str, FeedEvent]]:
        seq = self._last_seq if after_id is None else self._seq(after_id)
        found = self._after(seq, limit)
        if found or block_s <= 0:
            return found
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._last_seq > seq), block_s)
            except TimeoutError:
                return []
        return self._after(seq, limit)

    async def subscribe(self, after_id: str | None = None) -> AsyncIterator[tuple[str, FeedEvent]]:
        last = after_id if after_id is not None else f"0-{self._last_seq}"
        while True:
            for event_id, event in await self.read(last, block_s=30.0):
                last = event_id
                yield event_id, event

    async def set_calendar(self, slots: Mapping[str, FeedEvent]) -> None:
        self._calendar = dict(slots)

    async def update_calendar(self, upserts: Mapping[str, FeedEvent], removed: Sequence[str] = ()) -> None:
        self._calendar.update(upserts)
        for key in removed:
            self._calendar.pop(key, None)

    async def get_calendar(self) -> dict[str, FeedEvent]:
        return dict(self._calendar)

    async def close(self) -> None:
        return None
