"""Slots, the shifting 30-day calendar and the events between two calendars."""

from __future__ import annotations

import datetime as dt

import pytest

from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.slots import HORIZON_DAYS, Calendar, Slot, SlotEvent, SlotEventKind, SlotKey, diff
from wbsupply.domain.statuses import BoxType

TODAY = dt.date(2026, 11, 26)
AT = dt.datetime(2026, 11, 26, 10, 0, tzinfo=MOSCOW)


def slot(
    warehouse: int = 507,
    day: int = 0,
    coefficient: int = 0,
    *,
    unload: bool = True,
    box_type: BoxType = BoxType.BOXES,
    logistics_coefficient: int | None = None,
    warehouse_name: str = "",
) -> Slot:
    key = SlotKey(warehouse, TODAY + dt.timedelta(days=day), box_type)
    return Slot(key, coefficient, unload, logistics_coefficient, warehouse_name)


def calendar(*slots: Slot, today: dt.date = TODAY) -> Calendar:
    return Calendar.from_slots(today, slots)


@pytest.mark.parametrize(
    ("coefficient", "allow_unload", "is_open"),
    [(-1, True, False), (0, True, True), (3, True, True), (0, False, False), (5, False, False), (-1, False, False)],
)
def test_a_slot_is_open_only_when_unloading_is_allowed_and_the_coefficient_is_not_negative(
    coefficient: int, allow_unload: bool, is_open: bool
) -> None:
    assert slot(coefficient=coefficient, unload=allow_unload).is_open is is_open


def test_slot_key_is_frozen_hashable_and_equal_to_its_plain_tuple() -> None:
    key = SlotKey(507, TODAY, BoxType.BOXES)
    assert {key: 1}[SlotKey(507, TODAY, BoxType.BOXES)] == 1
    assert key == (507, TODAY, BoxType.BOXES) and hash(key) == hash((507, TODAY, BoxType.BOXES))
    with pytest.raises(AttributeError):
        key.warehouse_id = 1  # type: ignore[misc]


def test_slot_round_trips_through_its_json_form() -> None:
    original = slot(coefficient=2, logistics_coefficient=120, warehouse_name="Коледино", box_type=BoxType.QR)
    assert Slot.from_dict(original.to_dict()) == original
    event = SlotEvent(SlotEventKind.CHANGED, original, original._replace(coefficient=1), AT)
    assert SlotEvent.from_dict(event.to_dict()) == event


def test_calendar_keeps_only_the_30_days_from_today() -> None:
    cal = calendar(slot(day=-1), slot(day=0), slot(day=HORIZON_DAYS - 1), slot(day=HORIZON_DAYS))
    assert sorted(s.date for s in cal) == [TODAY, TODAY + dt.timedelta(days=HORIZON_DAYS - 1)]
    assert cal.end == TODAY + dt.timedelta(days=30)
    assert len(cal.dates()) == 30 and cal.dates()[0] == TODAY
    assert cal.covers(TODAY) and not cal.covers(cal.end) and not cal.covers(TODAY - dt.timedelta(days=1))


def test_a_later_slot_with_the_same_key_wins_and_open_slots_are_listed() -> None:
    cal = calendar(slot(coefficient=-1), slot(coefficient=2), slot(warehouse=1, unload=False))
    assert cal[SlotKey(507, TODAY, BoxType.BOXES)].coefficient == 2
    assert [s.warehouse_id for s in cal.open_slots()] == [507]
    assert SlotKey(1, TODAY, BoxType.BOXES) in cal and len(cal) == 2


def test_shifting_drops_past_days_and_leaves_new_days_empty_until_polled() -> None:
    cal = calendar(*(slot(day=d) for d in range(HORIZON_DAYS)))
    next_day = cal.shifted(TODAY + dt.timedelta(days=1))
    assert next_day.today == TODAY + dt.timedelta(days=1)
    assert len(next_day) == HORIZON_DAYS - 1
    assert min(s.date for s in next_day) == TODAY + dt.timedelta(days=1)
    assert next_day.get(SlotKey(507, TODAY, BoxType.BOXES)) is None
    assert len(cal) == HORIZON_DAYS, "shifting returns a new calendar"
    week_later = cal.shifted(TODAY + dt.timedelta(days=7))
    assert len(week_later) == HORIZON_DAYS - 7 and week_later.end == TODAY + dt.timedelta(days=37)


def test_a_calendar_does_not_shift_backwards() -> None:
    with pytest.raises(ValueError):
        calendar().shifted(TODAY - dt.timedelta(days=1))


def test_merged_updates_part_of_the_calendar_and_keeps_the_rest() -> None:
    cal = calendar(slot(warehouse=1), slot(warehouse=2))
    merged = cal.merged([slot(warehouse=2, coefficient=-1), slot(warehouse=3), slot(warehouse=4, day=45)])
    assert {s.warehouse_id: s.coefficient for s in merged} == {1: 0, 2: -1, 3: 0}


def kinds(events: list[SlotEvent]) -> dict[int, SlotEventKind]:
    return {event.slot.warehouse_id: event.kind for event in events}


def test_diff_reports_opened_slots_that_appeared_or_became_open() -> None:
    old = calendar(slot(warehouse=1, coefficient=-1), slot(warehouse=2, unload=False))
    new = calendar(slot(warehouse=1, coefficient=0), slot(warehouse=2, coefficient=0), slot(warehouse=3))
    events = diff(old, new, AT)
    assert kinds(events) == {1: SlotEventKind.OPENED, 2: SlotEventKind.OPENED, 3: SlotEventKind.OPENED}
    by_warehouse = {e.slot.warehouse_id: e for e in events}
    assert by_warehouse[3].previous is None and by_warehouse[1].previous == slot(warehouse=1, coefficient=-1)
    assert all(e.at == AT for e in events)


def test_diff_reports_closed_slots_that_stopped_being_open_or_vanished() -> None:
    old = calendar(slot(warehouse=1), slot(warehouse=2), slot(warehouse=3, logistics_coefficient=150))
    new = calendar(slot(warehouse=1, coefficient=-1), slot(warehouse=2, unload=False))
    events = diff(old, new, AT)
    assert kinds(events) == {1: SlotEventKind.CLOSED, 2: SlotEventKind.CLOSED, 3: SlotEventKind.CLOSED}
    vanished = next(e for e in events if e.slot.warehouse_id == 3)
    assert not vanished.slot.is_open and vanished.slot.logistics_coefficient == 150
    assert vanished.previous == slot(warehouse=3, logistics_coefficient=150)


def test_diff_reports_changed_coefficients_of_slots_open_before_and_after() -> None:
    old = calendar(slot(warehouse=1, coefficient=0), slot(warehouse=2, logistics_coefficient=120))
    new = calendar(slot(warehouse=1, coefficient=3), slot(warehouse=2, logistics_coefficient=160))
    events = diff(old, new, AT)
    assert kinds(events) == {1: SlotEventKind.CHANGED, 2: SlotEventKind.CHANGED}
    assert next(e for e in events if e.slot.warehouse_id == 1).previous.coefficient == 0  # type: ignore[union-attr]


def test_diff_is_silent_when_nothing_that_matters_changed() -> None:
    old = calendar(slot(warehouse=1, coefficient=-1), slot(warehouse=2, coefficient=2, warehouse_name="A"))
    new = calendar(
        slot(warehouse=1, coefficient=-1, unload=False), slot(warehouse=2, coefficient=2, warehouse_name="B")
    )
    assert diff(old, new, AT) == []
    assert diff(new, new, AT) == []
    assert diff(calendar(slot(warehouse=1, coefficient=-1)), calendar(), AT) == [], (
        "a closed slot vanishing is news to nobody"
    )


def test_a_day_passing_is_not_a_closing() -> None:
    old = calendar(slot(warehouse=1, day=0), slot(warehouse=2, day=1))
    shifted = old.shifted(TODAY + dt.timedelta(days=1))
    assert diff(old, shifted, AT) == []
    tomorrow_closed = Calendar.from_slots(TODAY + dt.timedelta(days=1), [])
    assert kinds(diff(old, tomorrow_closed, AT)) == {2: SlotEventKind.CLOSED}


def test_diff_of_a_full_calendar_against_an_empty_one_opens_every_open_slot_in_order() -> None:
    slots = [
        Slot(SlotKey(w, TODAY + dt.timedelta(days=d), b), (w + d) % 3 - 1, True)
        for w in range(1, 21)
        for d in range(HORIZON_DAYS)
        for b in BoxType
    ]
    full = Calendar.from_slots(TODAY, slots)
    events = diff(Calendar(TODAY), full, AT)
    assert [e.slot for e in events] == [s for s in slots if s.is_open]
    assert {e.kind for e in events} == {SlotEventKind.OPENED}
    closing = diff(full, Calendar(TODAY), AT)
    assert [e.previous for e in closing] == [s for s in slots if s.is_open], "deterministic order"
