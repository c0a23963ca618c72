"""The open slots a bot knows of: the monitor's calendar snapshot, kept current by the slot feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from wbsupply.domain.slots import Slot, SlotEvent, SlotEventKind, SlotKey
from wbsupply.feed.base import SlotFeed, TrimmedError

log = logging.getLogger(__name__)


class OpenSlots:
    """``slots`` maps open slot keys to slots; ``changed`` is set when one opens or changes."""

    def __init__(self, feed: SlotFeed, changed: asyncio.Event, name: str = "bot") -> None:
        self.feed, self.changed, self.name = feed, changed, name
        self.slots: dict[SlotKey, Slot] = {}

    async def load_calendar(self) -> None:
        """Slots open before we subscribed (the monitor's snapshot)."""
        try:
            snapshot = await self.feed.get_calendar()
        except Exception as exc:
            log.warning("%s: slot calendar unavailable (%s)", self.name, type(exc).__name__)
            return
        for value in snapshot.values():
            with contextlib.suppress(KeyError, TypeError, ValueError):
                slot = Slot.from_dict(value)
                if slot.is_open:
                    self.slots[slot.key] = slot
        if self.slots:
            self.changed.set()

    async def follow(self, stop: asyncio.Event) -> None:
        """Apply slot events until ``stop``; a broken feed is resubscribed from the last event seen."""
        last: str | None = None
        while not stop.is_set():
            try:
                async for event_id, raw in self.feed.subscribe(last):
                    last = event_id
                    self.apply(raw)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarting, a trimmed stream: resubscribe, re-read the calendar
                log.warning("%s: slot feed failed (%s); resubscribing", self.name, type(exc).__name__)
                await asyncio.sleep(1.0)
                if isinstance(exc, TrimmedError):
                    last = None
                await self.load_calendar()

    def apply(self, raw: Any) -> None:
        try:
            event = SlotEvent.from_dict(raw)
        except (KeyError, TypeError, ValueError):
            return
        if event.kind is SlotEventKind.CLOSED or not event.slot.is_open:
            self.slots.pop(event.slot.key, None)
        else:
            self.slots[event.slot.key] = event.slot
            self.changed.set()

    def forget(self, key: SlotKey) -> None:
        """A slot we lost: ignore it until the monitor reports it open (or changed) again."""
        self.slots.pop(key, None)
