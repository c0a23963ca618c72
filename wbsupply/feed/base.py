"""The slot feed: the current calendar plus an ordered stream of slot events.

Two implementations share this interface: in-process (embedded runtime) and Redis (cluster). Events are
JSON-able dicts so that both carry exactly the same payloads; ids are strings that sort in publish order,
and a subscriber that remembers its last id resumes after it without losing an event.

Errors are part of the contract: an implementation raises :class:`FeedUnavailable` when it cannot be reached
and :class:`TrimmedError` when a subscriber's last id is gone; callers catch these, never a client's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

FeedEvent = Mapping[str, Any]


class FeedUnavailable(Exception):
    """The feed cannot be reached now (Redis restarting, the network): try again later."""


class TrimmedError(LookupError):
    """The subscriber's last id is older than the bounded log keeps: events were lost for it (resync from the
    calendar)."""


class SlotFeed(Protocol):
    async def publish(self, events: Sequence[FeedEvent]) -> list[str]:
        """Append events to the stream; returns their ids."""
        ...

    async def read(self, after_id: str | None, *, limit: int = 1000, block_s: float = 0.0) -> list[
        tuple[str, FeedEvent]
    ]:
        """Events after ``after_id`` (None: only new ones), waiting up to ``block_s`` for the first."""
        ...

    def subscribe(self, after_id: str | None = None) -> AsyncIterator[tuple[str, FeedEvent]]:
        """Endless iterator of events after ``after_id``."""
        ...

    async def set_calendar(self, slots: Mapping[str, FeedEvent]) -> None:
        """Replace the current calendar snapshot (slot key -> slot)."""
        ...

    async def update_calendar(self, upserts: Mapping[str, FeedEvent], removed: Sequence[str] = ()) -> None:
        """Change part of the snapshot: set ``upserts``, delete ``removed`` keys (a poll changes few slots)."""
        ...

    async def get_calendar(self) -> dict[str, FeedEvent]: ...

    async def close(self) -> None: ...
