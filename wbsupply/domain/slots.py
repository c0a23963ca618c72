"""Acceptance slots, the 30-day calendar the monitor keeps, and the events between two calendars.

Slots, keys and events are named tuples on purpose: a full calendar holds ~45,000 of them and is diffed every
poll, and tuple hashing/equality run in C. ``SlotKey`` hashes and compares equal to the plain tuple
``(warehouse_id, date, box_type)``, which hot loops use for look-ups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

from wbsupply.domain.statuses import BoxType

HORIZON_DAYS = 30  # the calendar covers today and the next 29 days


class SlotKey(NamedTuple):
    warehouse_id: int
    date: dt.date
    box_type: BoxType


class Slot(NamedTuple):
    """One warehouse × date × box type with WB's acceptance coefficient.

    ``coefficient``: -1 closed, 0 free, >= 1 paid multiplier. ``logistics_coefficient`` is WB's
    ``deliveryCoef`` in percent (120 = 1.2×), ``storage_coefficient`` WB's ``storageCoef`` in percent; each
    None when the source does not report it.
    """

    key: SlotKey
    coefficient: int
    allow_unload: bool
    logistics_coefficient: int | None = None
    warehouse_name: str = ""
    storage_coefficient: int | None = None

    @property
    def is_open(self) -> bool:
        return self.allow_unload and self.coefficient >= 0

    @property
    def warehouse_id(self) -> int:
        return self.key.warehouse_id

    @property
    def date(self) -> dt.date:
        return self.key.date

    @property
    def box_type(self) -> BoxType:
        return self.key.box_type

    def closed(self) -> Slot:
        """This slot as it looks once WB stopped offering it."""
        return self._replace(coefficient=-1, allow_unload=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (feeds, history rows, API)."""
        return {
            "warehouse_id": self.key.warehouse_id,
            "date": self.key.date.isoformat(),
            "box_type": self.key.box_type.value,
            "coefficient": self.coefficient,
            "allow_unload": self.allow_unload,
            "logistics_coefficient": self.logistics_coefficient,
            "warehouse_name": self.warehouse_name,
            "storage_coefficient": self.storage_coefficient,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Slot:
        key = SlotKey(int(data["warehouse_id"]), dt.date.fromisoformat(data["date"]), BoxType(data["box_type"]))
        logistics, storage = data.get("logistics_coefficient"), data.get("storage_coefficient")
        return cls(
            key,
            int(data["coefficient"]),
            bool(data["allow_unload"]),
            None if logistics is None else int(logistics),
            data.get("warehouse_name") or "",
            None if storage is None else int(storage),
        )


class SlotEventKind(StrEnum):
    OPENED = "opened"
    CHANGED = "changed"
    CLOSED = "closed"


class SlotEvent(NamedTuple):
    """A change of one slot between two calendars.

    ``slot`` is always the current state (for CLOSED it is not open; a slot that vanished from the calendar
    is reported as its last state with coefficient -1), ``previous`` the state before (None when it appeared).
    """

    kind: SlotEventKind
    slot: Slot
    previous: Slot | None
    at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "slot": self.slot.to_dict(),
            "previous": None if self.previous is None else self.previous.to_dict(),
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlotEvent:
        previous = data.get("previous")
        return cls(
            SlotEventKind(data["kind"]),
            Slot.from_dict(data["slot"]),
            None if previous is None else Slot.from_dict(previous),
            dt.datetime.fromisoformat(data["at"]),
        )


class Calendar:
    """Immutable snapshot of slots for ``today`` .. ``today + HORIZON_DAYS - 1``; slots outside are dropped."""

    __slots__ = ("_slots", "today")

    def __init__(self, today: dt.date, slots: Mapping[SlotKey, Slot] | None = None) -> None:
        self.today = today
        end = self.end
        self._slots: dict[SlotKey, Slot] = {key: slot for key, slot in (slots or {}).items() if today <= key[1] < end}

    @classmethod
    def from_slots(cls, today: dt.date, slots: Iterable[Slot]) -> Calendar:
        """Build from slots as a source reports them; a later slot with the same key wins."""
        return cls(today, {slot.key: slot for slot in slots})

    @property
    def end(self) -> dt.date:
        """First date after the horizon (exclusive)."""
        return self.today + dt.timedelta(days=HORIZON_DAYS)

    def dates(self) -> list[dt.date]:
        return [self.today + dt.timedelta(days=offset) for offset in range(HORIZON_DAYS)]

    def covers(self, day: dt.date) -> bool:
        return self.today <= day < self.end

    @property
    def slots(self) -> Mapping[SlotKey, Slot]:
        return MappingProxyType(self._slots)

    def get(self, key: SlotKey) -> Slot | None:
        return self._slots.get(key)

    def __getitem__(self, key: SlotKey) -> Slot:
        return self._slots[key]

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[Slot]:
        return iter(self._slots.values())

    def open_slots(self) -> list[Slot]:
        return [slot for slot in self._slots.values() if slot.allow_unload and slot.coefficient >= 0]

    def shifted(self, new_today: dt.date) -> Calendar:
        """The calendar of a later day: past dates are dropped, the new last days are empty until polled."""
        if new_today < self.today:
            raise ValueError(f"a calendar only shifts forward: {new_today} is before {self.today}")
        return Calendar(new_today, self._slots)

    def merged(self, slots: Iterable[Slot]) -> Calendar:
        """This calendar updated with fresh slots from a source that may report only part of it."""
        updated = dict(self._slots)
        updated.update((slot.key, slot) for slot in slots)
        return Calendar(self.today, updated)


_prices = itemgetter(1, 3, 5)  # (coefficient, logistics_coefficient, storage_coefficient) of a Slot


def diff(old: Calendar, new: Calendar, at: dt.datetime) -> list[SlotEvent]:
    """Events that turn ``old`` into ``new``.

    opened: open now, and closed or absent before; changed: open before and now with another acceptance,
    logistics or storage coefficient; closed: open before, and now not open or absent. Slots whose date fell out of the
    new calendar's window (the day passed) yield no event: they ended, nobody closed them.
    """
    events: list[SlotEvent] = []
    append = events.append
    old_slots = old._slots
    for key, slot in new._slots.items():
        previous = old_slots.get(key)
        if previous == slot:  # the common case: one C-level tuple comparison
            continue
        is_open = slot.allow_unload and slot.coefficient >= 0
        was_open = previous is not None and previous.allow_unload and previous.coefficient >= 0
        if is_open:
            if not was_open:
                append(SlotEvent(SlotEventKind.OPENED, slot, previous, at))
            elif previous is not None and _prices(previous) != _prices(slot):
                append(SlotEvent(SlotEventKind.CHANGED, slot, previous, at))
        elif was_open:
            append(SlotEvent(SlotEventKind.CLOSED, slot, previous, at))
    new_slots, start = new._slots, new.today
    if old_slots.keys() == new_slots.keys():  # nothing vanished (C-level check)
        return events
    # Walk the old dict (not a set difference) so that the order of events is deterministic.
    for key, previous in old_slots.items():
        if key not in new_slots and key[1] >= start and previous.allow_unload and previous.coefficient >= 0:
            append(SlotEvent(SlotEventKind.CLOSED, previous.closed(), previous, at))
    return events
