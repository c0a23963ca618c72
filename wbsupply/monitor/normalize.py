"""WB coefficient records → domain slots, and a source's report → the next calendar (pure).

The public API and the cabinet's report send the same record shape (``models.AcceptanceCoefficient``).
Each record is validated on its own: a malformed one is counted by reason and skipped, never fatal,
because one bad item from WB must not blind the monitor to the other 45,000.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wbsupply.domain.slots import HORIZON_DAYS, Calendar, Slot, SlotKey
from wbsupply.domain.statuses import BoxType


class MalformedRecord(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Normalized:
    slots: list[Slot] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count


def _int(record: Mapping[str, Any], name: str, reason: str) -> int:
    value = record.get(name)
    # bool is an int in Python, but `true` is not a warehouse id or a coefficient
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise MalformedRecord(reason)
    if isinstance(value, float) and not value.is_integer():
        raise MalformedRecord(reason)
    return int(value)


def _date(value: Any) -> dt.date:
    # WB writes Moscow calendar days as midnight "2026-07-01T00:00:00Z": the day is the first 10 characters.
    if not isinstance(value, str) or len(value) < 10:
        raise MalformedRecord("bad_date")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise MalformedRecord("bad_date") from None


def _percent(value: Any, reason: str = "bad_delivery_coef") -> int | None:
    """``deliveryCoef`` and ``storageCoef`` are strings of a number in percent ("120"), null where acceptance
    is closed."""
    if value is None or value == "":
        return None
    try:
        return round(float(value))
    except (TypeError, ValueError):
        raise MalformedRecord(reason) from None


def to_slot(record: Any) -> Slot:
    """One WB record as a slot; raises :class:`MalformedRecord` with a short reason."""
    if not isinstance(record, Mapping):
        raise MalformedRecord("not_an_object")
    warehouse_id = _int(record, "warehouseID", "bad_warehouse_id")
    if warehouse_id <= 0:
        raise MalformedRecord("bad_warehouse_id")
    day = _date(record.get("date"))
    coefficient = _int(record, "coefficient", "bad_coefficient")
    allow_unload = record.get("allowUnload")
    if not isinstance(allow_unload, bool):
        raise MalformedRecord("bad_allow_unload")
    box_type_id = record.get("boxTypeID")
    if box_type_id is not None and (isinstance(box_type_id, bool) or not isinstance(box_type_id, int)):
        raise MalformedRecord("bad_box_type")
    try:
        box_type = BoxType.from_wb(box_type_id, bool(record.get("isBoxOnPallet")))
    except ValueError:
        raise MalformedRecord("unknown_box_type") from None
    name = record.get("warehouseName")
    return Slot(
        SlotKey(warehouse_id, day, box_type),
        max(coefficient, -1),
        allow_unload,
        _percent(record.get("deliveryCoef")),
        name if isinstance(name, str) else "",
        _percent(record.get("storageCoef"), "bad_storage_coef"),
    )


_new_tuple = tuple.__new__


class _FastPath:
    """The common, well-formed record at a fraction of :func:`to_slot`'s cost (a full answer is 45,000).

    Dates, box types and tariff strings repeat thousands of times per answer, so their parses are
    memoised; anything unusual returns None and goes through :func:`to_slot`, which names the problem.
    """

    def __init__(self) -> None:
        self.dates: dict[str, dt.date] = {}
        self.boxes: dict[tuple[Any, Any], BoxType] = {}
        self.percents: dict[Any, int | None] = {None: None}  # deliveryCoef and storageCoef strings

    def slot(self, record: Any) -> Slot | None:
        if type(record) is not dict:
            return None
        warehouse_id, coefficient = record.get("warehouseID"), record.get("coefficient")
        allow_unload, raw_date = record.get("allowUnload"), record.get("date")
        if type(warehouse_id) is not int or warehouse_id <= 0 or type(coefficient) is not int:
            return None
        if type(allow_unload) is not bool:
            return None
        day = self.dates.get(raw_date)  # type: ignore[arg-type]
        box = self.boxes.get((record.get("boxTypeID"), record.get("isBoxOnPallet")))
        raw_logistics, raw_storage = record.get("deliveryCoef"), record.get("storageCoef")
        percents = self.percents
        if day is None or box is None or raw_logistics not in percents or raw_storage not in percents:
            return None
        name = record.get("warehouseName")
        # tuple.__new__ skips the named tuples' Python-level constructors (and their defaults: every field is
        # given): a third of the time of a full answer
        key = _new_tuple(SlotKey, (warehouse_id, day, box))
        return _new_tuple(Slot, (key, coefficient if coefficient >= -1 else -1, allow_unload,
                                 percents[raw_logistics], name if type(name) is str else "", percents[raw_storage]))

    def learn(self, record: Mapping[str, Any], slot: Slot) -> None:
        """Remember the parses of a record :func:`to_slot` accepted."""
        self.dates[record["date"]] = slot.key.date
        self.boxes[(record.get("boxTypeID"), record.get("isBoxOnPallet"))] = slot.key.box_type
        for raw, value in ((record.get("deliveryCoef"), slot.logistics_coefficient),
                           (record.get("storageCoef"), slot.storage_coefficient)):
            if isinstance(raw, str):
                self.percents[raw] = value


def normalize(records: Iterable[Any]) -> Normalized:
    out = Normalized()
    append = out.slots.append
    fast = _FastPath()
    for record in records:
        try:
            slot = fast.slot(record)
        except TypeError:  # an unhashable value where a string or number belongs
            slot = None
        if slot is not None:
            append(slot)
            continue
        try:
            slot = to_slot(record)
        except MalformedRecord as bad:
            out.skipped[bad.reason] += 1
            continue
        append(slot)
        fast.learn(record, slot)
    return out


@dataclass(frozen=True)
class Coverage:
    """What part of the calendar one report speaks for: slots inside it that the report lacks are gone."""

    days: int  # today .. today + days - 1
    warehouse_ids: frozenset[int] | None = None  # None: every warehouse

    def includes(self, key: SlotKey, today: dt.date) -> bool:
        if not 0 <= (key[1] - today).days < self.days:
            return False
        return self.warehouse_ids is None or key[0] in self.warehouse_ids


def next_calendar(previous: Calendar, today: dt.date, slots: Iterable[Slot], coverage: Coverage) -> Calendar:
    """The calendar after a report: shifted to ``today``, covered part replaced, the rest kept.

    The public API reports 14 days and maybe a subset of warehouses; the cabinet all 30 days. Keeping the
    uncovered part means a 14-day source does not "close" days 15..30 that the cabinet reported earlier.
    """
    base = previous.shifted(today) if today > previous.today else previous
    if coverage.days >= HORIZON_DAYS and coverage.warehouse_ids is None:
        kept: dict[SlotKey, Slot] = {}  # the report speaks for the whole calendar
    else:
        end, only = today + dt.timedelta(days=coverage.days), coverage.warehouse_ids
        kept = {key: slot for key, slot in base.slots.items()
                if key[1] >= end or (only is not None and key[0] not in only)}
    kept.update((slot.key, slot) for slot in slots)
    return Calendar(today, kept)


def snapshot_changes(old: Calendar, new: Calendar) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """What to write into the feed's calendar snapshot: changed or new slots, and keys that are gone."""
    old_slots, new_slots = old.slots, new.slots
    upserts = {calendar_key(key): slot.to_dict() for key, slot in new_slots.items() if old_slots.get(key) != slot}
    removed = [calendar_key(key) for key in old_slots if key not in new_slots]
    return upserts, removed


def calendar_key(key: SlotKey) -> str:
    """The slot's key in the feed's calendar snapshot: ``"<warehouse_id>:<YYYY-MM-DD>:<box_type>"``."""
    return f"{key[0]}:{key[1].isoformat()}:{key[2].value}"


def calendar_to_feed(calendar: Calendar) -> dict[str, dict[str, Any]]:
    return {calendar_key(slot.key): slot.to_dict() for slot in calendar}


def calendar_from_feed(snapshot: Mapping[str, Mapping[str, Any]], today: dt.date) -> Calendar:
    """The snapshot a previous monitor run left in the feed (entries that no longer parse are ignored)."""
    slots = []
    for value in snapshot.values():
        try:
            slots.append(Slot.from_dict(value))
        except (KeyError, TypeError, ValueError):
            continue
    return Calendar.from_slots(today, slots)


def restrict(warehouses: Collection[int] | None) -> frozenset[int] | None:
    return None if warehouses is None else frozenset(int(w) for w in warehouses)
