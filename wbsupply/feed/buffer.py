"""Publishing that survives a feed outage: events wait in a bounded buffer and go out in order."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence

from wbsupply.feed.base import FeedEvent, FeedUnavailable, SlotFeed

log = logging.getLogger(__name__)


class BufferedPublisher:
    def __init__(self, feed: SlotFeed, max_buffered: int = 50_000) -> None:
        self.feed = feed
        self._pending: deque[FeedEvent] = deque()
        self._max = max_buffered
        self.dropped = 0
        self.degraded = False

    @property
    def buffered(self) -> int:
        return len(self._pending)

    async def publish(self, events: Sequence[FeedEvent]) -> int:
        """Queue ``events`` behind any still waiting and try to send all; returns how many went out."""
        for event in events:
            if len(self._pending) >= self._max:
                # Oldest first: a stale "opened" is worth less than the newest state.
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(event)
        return await self.flush()

    async def flush(self) -> int:
        if not self._pending:
            self.degraded = False
            return 0
        batch = list(self._pending)
        try:
            await self.feed.publish(batch)
        except FeedUnavailable as exc:
            if not self.degraded:
                log.warning("slot feed unavailable (%s): buffering events", exc)
            self.degraded = True
            return 0
        for _ in batch:
            self._pending.popleft()
        if self.degraded:
            log.info("slot feed back: %d buffered events published", len(batch))
        self.degraded = False
        return len(batch)
