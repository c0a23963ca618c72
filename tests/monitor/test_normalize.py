"""WB records → slots (per-item validation), reports → the next calendar, and the feed snapshot (pure)."""

from __future__ import annotations

import datetime as dt

from wbsupply.domain.slots import Calendar, Slot, SlotKey, diff
from wbsupply.domain.statuses import BoxType
from wbsupply.monitor.normalize import (
    Coverage,
    calendar_from_feed,
    calendar_key,
    calendar_to_feed,
    next_calendar,
    normalize,
    to_slot,
)

TODAY = dt.date(2026, 7, 1)


def record(**overrides):
    base = {"date": "2026-07-02T00:00:00Z", "coefficient": 0, "warehouseID": 507, "warehouseName": "Коледино",
            "allowUnload": True, "boxTypeID": 2, "storageCoef": "100", "deliveryCoef": "120",
            "deliveryBaseLiter": 48.0, "deliveryAdditionalLiter": 11.2, "storageBaseLiter": 0.07,
            "storageAdditionalLiter": 0.07, "isSortingCenter": False}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def test_a_wb_record_becomes_a_slot():
    slot = to_slot(record())
    assert slot == Slot(SlotKey(507, dt.date(2026, 7, 2), BoxType.BOXES), 0, True, 120, "Коледино", 100)
    assert to_slot(record(storageCoef="145.5")).storage_coefficient == 146
    assert to_slot(record(storageCoef=None)).storage_coefficient is None
    assert to_slot(record(boxTypeID=...)).box_type is BoxType.QR  # WB omits boxTypeID for QR supplies
    assert to_slot(record(boxTypeID=5)).box_type is BoxType.MONOPALLETS
    assert to_slot(record(isBoxOnPallet=True)).box_type is BoxType.BOXES_ON_PALLET
    closed = to_slot(record(coefficient=-1, allowUnload=False, deliveryCoef=None))
    assert not closed.is_open and closed.logistics_coefficient is None
    assert to_slot(record(coefficient=3.0)).coefficient == 3


def test_malformed_records_are_counted_by_reason_and_skipped():
    records = [
        record(),
        record(boxTypeID=99),
        record(warehouseID="507"),
        record(warehouseID=...),
        record(coefficient=None),
        record(coefficient=True),
        record(coefficient=1.5),
        record(allowUnload="yes"),
        record(date="tomorrow"),
        record(date=...),
        record(deliveryCoef="a lot"),
        record(boxTypeID="2"),
        record(boxTypeID=[2]),
        record(date=["2026-07-02"]),
        record(deliveryCoef={"v": 1}),
        "not a record",
        None,
        record(date="2026-07-03T00:00:00Z"),
    ]
    result = normalize(records)
    assert [s.date.day for s in result.slots] == [2, 3]
    assert dict(result.skipped) == {
        "unknown_box_type": 1, "bad_warehouse_id": 2, "bad_coefficient": 3, "bad_allow_unload": 1,
        "bad_date": 3, "bad_delivery_coef": 2, "bad_box_type": 2, "not_an_object": 2,
    }


def slot(day: int, wh: int = 507, coefficient: int = 0, box: BoxType = BoxType.BOXES) -> Slot:
    return Slot(SlotKey(wh, TODAY + dt.timedelta(days=day), box), coefficient, coefficient >= 0)


def test_a_14_day_report_replaces_its_part_and_keeps_the_rest():
    previous = Calendar.from_slots(TODAY, [slot(1), slot(20), slot(2, wh=117501)])
    # The API reports 14 days of warehouse 507 only; day 1 is gone from its answer, day 3 is new.
    new = next_calendar(previous, TODAY, [slot(3)], Coverage(14, frozenset({507})))
    assert sorted((s.warehouse_id, (s.date - TODAY).days) for s in new) == [(507, 3), (507, 20), (117501, 2)]
    events = diff(previous, new, dt.datetime(2026, 7, 1, 9, tzinfo=dt.UTC))
    assert [(e.kind.value, (e.slot.date - TODAY).days) for e in events] == [("opened", 3), ("closed", 1)]


def test_the_calendar_shifts_with_the_moscow_day_without_closing_past_days():
    previous = Calendar.from_slots(TODAY, [slot(0), slot(5)])
    tomorrow = TODAY + dt.timedelta(days=1)
    new = next_calendar(previous, tomorrow, [slot(5)], Coverage(30))
    assert new.today == tomorrow and len(new) == 1
    assert diff(previous, new, dt.datetime(2026, 7, 2, 0, 1, tzinfo=dt.UTC)) == []


def test_feed_snapshot_round_trip_ignores_broken_entries():
    calendar = Calendar.from_slots(TODAY, [slot(1), slot(2, coefficient=-1, box=BoxType.QR)])
    snapshot = calendar_to_feed(calendar)
    assert calendar_key(slot(1).key) in snapshot and "507:2026-07-02:boxes" in snapshot
    snapshot["garbage"] = {"warehouse_id": "x"}
    restored = calendar_from_feed(snapshot, TODAY)
    assert dict(restored.slots) == dict(calendar.slots)


def test_the_fast_path_reads_storage_coefficients_as_the_full_parse_does():
    records = [record(storageCoef=value, deliveryCoef=value) for value in ("100", "150", None, "100", "150", None)]
    records.append(record(storageCoef="много"))
    out = normalize(records)
    assert out.slots == [to_slot(r) for r in records[:-1]]
    assert [slot.storage_coefficient for slot in out.slots] == [100, 150, None, 100, 150, None]
    assert out.skipped == {"bad_storage_coef": 1}
