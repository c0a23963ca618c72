"""Which task books which slot: an index of tasks by (warehouse, box type) and priority-ordered matching.

Priority between tasks: deadline (earlier first, none last), tariff plan (higher first), creation time (older
first), then the importance of the matched warehouse in the task's own list, then task id. Within one task
the earliest date wins, then the more important warehouse. Each task yields at most one candidate (its best
slot); a worker that loses that slot asks again with ``next_booking``.

Matching is lazy: ``match`` merges the index buckets touched by the events in priority order and evaluates a
task only when the consumer gets that far, so the first (most important) candidate costs about one pass over
the events, however many tasks there are.
"""

from __future__ import annotations

import datetime as dt
import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from wbsupply.domain.slots import HORIZON_DAYS, Slot, SlotEvent, SlotEventKind, SlotKey
from wbsupply.domain.statuses import BoxType, TaskMode, TaskPhase
from wbsupply.domain.tasks import SupplyTask

Bucket = tuple[int, BoxType]


class Candidate(NamedTuple):
    task: SupplyTask
    slot: Slot
    importance: int  # position of the slot's warehouse in the task's list, 0 = most important


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_SHIFT = 1 << 62  # makes microseconds since the epoch positive for any datetime (|value| < 2**58)
_NO_DEADLINE = 1 << 63


def _priority_number(task: SupplyTask) -> int:
    """``task.priority_key`` without the id, packed in one int: heaps compare ints far faster than tuples.

    Bits from the top: deadline (µs, none = after all), 3 bits of inverted plan rank, creation time (µs).
    Equal numbers mean a tie that warehouse importance, then the id, decide.
    """
    deadline = task.spec.deadline
    deadline_part = _NO_DEADLINE if deadline is None else (deadline - _EPOCH) // _MICROSECOND + _SHIFT
    created_part = (task.created_at - _EPOCH) // _MICROSECOND + _SHIFT
    return (deadline_part << 67) | ((7 - task.plan.rank) << 64) | created_part


@lru_cache(maxsize=4096)
def _calendar_dates(
    today: dt.date, first: dt.date, last: dt.date, weekdays: frozenset[int], skipped: frozenset[dt.date]
) -> tuple[dt.date, ...]:
    """Dates of the calendar of ``today`` that a task accepts. Shared between the many tasks with the same
    criteria, and made of the same 30 date objects, which keeps look-ups cache-friendly."""
    return tuple(
        day
        for day in _horizon(today)
        if first <= day <= last and (not weekdays or day.weekday() in weekdays) and day not in skipped
    )


@lru_cache(maxsize=4)
def _horizon(today: dt.date) -> tuple[dt.date, ...]:
    return tuple(today + dt.timedelta(days=offset) for offset in range(HORIZON_DAYS))


class _Entry:
    """A task with everything matching needs precomputed once (priority, criteria, dates for a day)."""

    __slots__ = (
        "_dates",
        "_dates_for",
        "box_type",
        "buckets",
        "key",
        "max_coefficient",
        "max_logistics",
        "number",
        "ranked_warehouses",
        "task",
    )

    def __init__(self, task: SupplyTask) -> None:
        spec = task.spec
        self.task = task
        self.number = _priority_number(task)
        self.key = (self.number, task.id)  # unique: the order inside buckets
        self.ranked_warehouses = tuple(enumerate(spec.warehouses))
        self.box_type = spec.box_type
        self.max_coefficient = spec.max_coefficient
        self.max_logistics = spec.max_logistics_coefficient
        self.buckets: tuple[Bucket, ...] = tuple((warehouse_id, spec.box_type) for warehouse_id in spec.warehouses)
        self._dates_for: dt.date | None = None
        self._dates: tuple[dt.date, ...] = ()

    def dates(self, today: dt.date) -> tuple[dt.date, ...]:
        if self._dates_for != today:
            spec = self.task.spec
            first, last = spec.window(today)
            self._dates = _calendar_dates(today, first, last, spec.weekdays, spec.skip_dates)
            self._dates_for = today
        return self._dates

    def best(self, offered: Mapping[SlotKey, Slot], today: dt.date) -> Candidate | None:
        """Earliest fitting date, then the most important warehouse; dates outer so the first hit is best."""
        box_type, max_coefficient, max_logistics = self.box_type, self.max_coefficient, self.max_logistics
        get = offered.get
        for day in self.dates(today):
            for importance, warehouse_id in self.ranked_warehouses:
                slot = get((warehouse_id, day, box_type))  # type: ignore[call-overload]  # == SlotKey
                if (
                    slot is not None
                    and slot.allow_unload
                    and 0 <= slot.coefficient <= max_coefficient
                    and (
                        max_logistics is None
                        or (slot.logistics_coefficient is not None and slot.logistics_coefficient <= max_logistics)
                    )
                ):
                    return Candidate(self.task, slot, importance)
        return None


_entry_key = attrgetter("key")
_entry_number = attrgetter("number")


def _delete(entries: list[_Entry], entry: _Entry) -> None:
    del entries[bisect_left(entries, entry.key, key=_entry_key)]


class TaskIndex:
    """Tasks by (warehouse_id, box_type), each bucket kept in priority order. Holds tasks of any phase;
    matching considers Watching ones, so callers just ``update`` a task whenever it changes."""

    def __init__(self, tasks: Iterable[SupplyTask] = ()) -> None:
        self._entries: dict[str, _Entry] = {}
        self._buckets: dict[Bucket, list[_Entry]] = {}
        self._ordered: list[_Entry] = []  # every task, in priority order
        for task in tasks:  # bulk load: append, then sort once
            entry = self._new_entry(task)
            self._ordered.append(entry)
            for bucket in entry.buckets:
                self._buckets.setdefault(bucket, []).append(entry)
        for entries in (self._ordered, *self._buckets.values()):
            entries.sort(key=_entry_key)

    def _new_entry(self, task: SupplyTask) -> _Entry:
        if task.id in self._entries:
            raise ValueError(f"task {task.id!r} is already indexed; use update()")
        entry = self._entries[task.id] = _Entry(task)
        return entry

    def add(self, task: SupplyTask) -> None:
        entry = self._new_entry(task)
        insort(self._ordered, entry, key=_entry_key)
        for bucket in entry.buckets:
            insort(self._buckets.setdefault(bucket, []), entry, key=_entry_key)

    def remove(self, task_id: str) -> SupplyTask:
        entry = self._entries.pop(task_id)  # KeyError for an unknown task
        _delete(self._ordered, entry)
        for bucket in entry.buckets:
            entries = self._buckets[bucket]
            _delete(entries, entry)
            if not entries:
                del self._buckets[bucket]
        return entry.task

    def update(self, task: SupplyTask) -> None:
        """Replace the indexed version of the task (or add it)."""
        if task.id in self._entries:
            self.remove(task.id)
        self.add(task)

    def get(self, task_id: str) -> SupplyTask | None:
        entry = self._entries.get(task_id)
        return entry.task if entry else None

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def tasks_for(self, warehouse_id: int, box_type: BoxType) -> list[SupplyTask]:
        return [entry.task for entry in self._buckets.get((warehouse_id, box_type), ())]

    def candidates(self, offered: Mapping[SlotKey, Slot], today: dt.date) -> Iterator[Candidate]:
        """Watching tasks that fit one of the ``offered`` open slots, best slot each, in priority order."""
        tied: list[Candidate] = []  # candidates equal up to warehouse importance
        tied_number = -1
        for entry in self._touched_in_order(self._touched(offered, today)):
            if entry.task.phase is not TaskPhase.WATCHING:
                continue
            found = entry.best(offered, today)
            if found is None:
                continue
            if entry.number != tied_number:
                yield from _by_importance(tied)
                tied, tied_number = [], entry.number
            tied.append(found)
        yield from _by_importance(tied)

    def _touched(self, offered: Mapping[SlotKey, Slot], today: dt.date) -> set[Bucket]:
        """Indexed buckets with an offered slot, walking the smaller side: the offered slots, or (for a
        calendar-wide change, which offers more slots than buckets × days) the buckets probed day by day."""
        if len(offered) < len(self._buckets) * HORIZON_DAYS:
            return {(key[0], key[2]) for key in offered}
        days = _horizon(today)
        touched = set()
        for bucket in self._buckets:
            warehouse_id, box_type = bucket
            for day in days:
                if (warehouse_id, day, box_type) in offered:
                    touched.add(bucket)
                    break
        return touched

    def _touched_in_order(self, touched: set[Bucket]) -> Iterator[_Entry]:
        """Each task with a warehouse in ``touched`` once, in priority order.

        Few touched buckets: merge them lazily. Touched buckets holding half as many entries as there are
        tasks or more: walk the global order instead; a heap step costs about twice a skipped task (measured).
        """
        streams = [entries for bucket, entries in self._buckets.items() if bucket in touched]
        if 2 * sum(map(len, streams)) >= len(self._ordered):
            return (entry for entry in self._ordered if not touched.isdisjoint(entry.buckets))
        return _unique(heapq.merge(*streams, key=_entry_number))


def _unique(entries: Iterator[_Entry]) -> Iterator[_Entry]:
    seen: set[int] = set()  # a task with several warehouses sits in several buckets
    for entry in entries:
        if id(entry) not in seen:
            seen.add(id(entry))
            yield entry


def _by_importance(tied: list[Candidate]) -> list[Candidate]:
    if len(tied) > 1:
        tied.sort(key=lambda found: (found.importance, found.task.id))
    return tied


def match(events: Iterable[SlotEvent], index: TaskIndex, today: dt.date) -> Iterator[Candidate]:
    """Candidates for the slots that opened or changed, most important first (lazy: take what you need).

    Notify-only tasks are included: the caller notifies for them instead of booking.
    """
    closed = SlotEventKind.CLOSED
    offered = {event.slot.key: event.slot for event in events if event.kind is not closed}
    return index.candidates(offered, today)


def next_booking(tasks: Iterable[SupplyTask], open_slots: Iterable[Slot], today: dt.date) -> Candidate | None:
    """The one booking a bot should attempt now among its own tasks (a bot books one task at a time)."""
    bookable = [task for task in tasks if task.phase is TaskPhase.WATCHING and task.spec.mode is TaskMode.BOOK]
    offered = {slot.key: slot for slot in open_slots if slot.is_open}
    return next(TaskIndex(bookable).candidates(offered, today), None)
