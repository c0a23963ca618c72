"""Which task books which slot: an index of tasks by (warehouse, box type) and priority-ordered matching.

Priority between tasks: deadline (earlier first, none last), tariff plan (higher first), creation time (older
first), then the importance of the matched warehouse in the task's own list, then task id. Within one task
the earliest date wins, then the more important warehouse. Each task yields at most one candidate (its best
slot).

Matching is lazy: ``match`` merges the index buckets touched by the events in priority order and evaluates a
task only when the consumer gets that far, so the first (most important) candidate costs about one pass over
the events, however many tasks there are.
"""

from __future__ import annotations

import datetime as dt
import heapq
from bisect import bisect_left, insort
from collections.abc import Collection, Iterable, Iterator, Mapping, Set
from functools import lru_cache
from operator import attrgetter
from typing import NamedTuple

from wbsupply.domain.holidays import is_holiday
from wbsupply.domain.slots import HORIZON_DAYS, Slot, SlotEvent, SlotKey
from wbsupply.domain.statuses import BoxType, TaskPhase
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
    today: dt.date, first: dt.date, last: dt.date, weekdays: frozenset[int], skipped: frozenset[dt.date],
    skip_holidays: bool,
) -> tuple[tuple[dt.date, ...], frozenset[dt.date]]:
    """Dates of the calendar of ``today`` that a task accepts, ascending and as a set. Shared between the many
    tasks with the same criteria, and made of the same 30 date objects, which keeps look-ups cache-friendly."""
    ordered = tuple(
        day
        for day in _horizon(today)
        if first <= day <= last
        and (not weekdays or day.weekday() in weekdays)
        and day not in skipped
        and not (skip_holidays and is_holiday(day))
    )
    return ordered, frozenset(ordered)


@lru_cache(maxsize=4)
def _horizon(today: dt.date) -> tuple[dt.date, ...]:
    return tuple(today + dt.timedelta(days=offset) for offset in range(HORIZON_DAYS))


class _Offer:
    """Offered slots prepared for the tasks that look at them.

    A calendar-wide offer (more slots than indexed buckets × days) is looked up by key, date after date. A
    sparse one (a usual poll) is grouped by bucket and sorted by date, so that a task walks only the few
    slots offered at its own warehouses instead of probing every date.
    """

    def __init__(self, offered: Mapping[SlotKey, Slot], today: dt.date, indexed: Collection[Bucket]) -> None:
        self.slots = offered
        self.by_bucket: dict[Bucket, list[Slot]] | None = None
        if len(offered) >= len(indexed) * HORIZON_DAYS:
            self.touched: Set[Bucket] = _probe(offered, today, indexed)
            return
        self.by_bucket = {}
        for key, slot in offered.items():
            self.by_bucket.setdefault((key[0], key[2]), []).append(slot)
        for slots in self.by_bucket.values():
            slots.sort()  # by key: within a bucket, by date
        self.touched = self.by_bucket.keys()


def _probe(offered: Mapping[SlotKey, Slot], today: dt.date, indexed: Iterable[Bucket]) -> set[Bucket]:
    """Indexed buckets with an offered slot, found by asking each bucket day by day (stops at the first)."""
    days = _horizon(today)
    touched = set()
    for bucket in indexed:
        warehouse_id, box_type = bucket
        for day in days:
            if (warehouse_id, day, box_type) in offered:
                touched.add(bucket)
                break
    return touched


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
        "max_storage",
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
        self.max_storage = spec.max_storage_coefficient
        self.buckets: tuple[Bucket, ...] = tuple((warehouse_id, spec.box_type) for warehouse_id in spec.warehouses)
        self._dates_for: dt.date | None = None
        self._dates: tuple[tuple[dt.date, ...], frozenset[dt.date]] = ((), frozenset())

    def dates(self, today: dt.date) -> tuple[tuple[dt.date, ...], frozenset[dt.date]]:
        if self._dates_for != today:
            spec = self.task.spec
            first, last = spec.window(today)
            self._dates = _calendar_dates(today, first, last, spec.weekdays, spec.skip_dates, spec.skip_holidays)
            self._dates_for = today
        return self._dates

    def fits(self, slot: Slot) -> bool:
        """Open and within the prices (the dates are checked by the caller)."""
        max_logistics, max_storage = self.max_logistics, self.max_storage
        return (
            slot.allow_unload
            and 0 <= slot.coefficient <= self.max_coefficient
            and (
                max_logistics is None
                or (slot.logistics_coefficient is not None and slot.logistics_coefficient <= max_logistics)
            )
            and (
                max_storage is None
                or (slot.storage_coefficient is not None and slot.storage_coefficient <= max_storage)
            )
        )

    def best(self, offer: _Offer, today: dt.date) -> Candidate | None:
        """The earliest fitting date, then the most important warehouse."""
        if offer.by_bucket is None:
            return self._best_by_date(offer.slots, today)
        return self._best_by_warehouse(offer.by_bucket, today)

    def _best_by_date(self, offered: Mapping[SlotKey, Slot], today: dt.date) -> Candidate | None:
        # Dates outer, warehouses by importance inner: the first hit is the best.
        get, box_type = offered.get, self.box_type
        for day in self.dates(today)[0]:
            for importance, warehouse_id in self.ranked_warehouses:
                slot = get((warehouse_id, day, box_type))  # type: ignore[call-overload]  # == SlotKey
                if slot is not None and self.fits(slot):
                    return Candidate(self.task, slot, importance)
        return None

    def _best_by_warehouse(self, by_bucket: Mapping[Bucket, list[Slot]], today: dt.date) -> Candidate | None:
        # Each warehouse's slots come by date: its first fit is its best; a less important warehouse wins
        # only with a strictly earlier date.
        dates = self.dates(today)[1]
        best: Candidate | None = None
        for importance, warehouse_id in self.ranked_warehouses:
            for slot in by_bucket.get((warehouse_id, self.box_type), ()):
                if best is not None and slot.key.date >= best.slot.key.date:
                    break
                if slot.key.date in dates and self.fits(slot):
                    best = Candidate(self.task, slot, importance)
                    break
        return best


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
        offer = _Offer(offered, today, self._buckets.keys())
        tied: list[Candidate] = []  # candidates equal up to warehouse importance
        tied_number = -1
        for entry in self._touched_in_order(offer.touched):
            if entry.task.phase is not TaskPhase.WATCHING:
                continue
            found = entry.best(offer, today)
            if found is None:
                continue
            if entry.number != tied_number:
                yield from _by_importance(tied)
                tied, tied_number = [], entry.number
            tied.append(found)
        yield from _by_importance(tied)

    def _touched_in_order(self, touched: Set[Bucket]) -> Iterator[_Entry]:
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

    The latest event of a slot wins, so a batch where a slot opened and then closed offers nothing (``best``
    skips slots that are not open). Notify-only tasks are included: the caller notifies instead of booking.
    """
    offered = {event.slot.key: event.slot for event in events}
    return index.candidates(offered, today)
