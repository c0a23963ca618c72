"""Real-chance statistics from slot history rows (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.statuses import BoxType
from wbsupply.monitor.stats import HistoryRow, quantile, slot_stats

DAY = dt.date(2026, 7, 10)
T0 = dt.datetime(2026, 7, 6, 9, 0, tzinfo=MOSCOW)  # a Monday, 09:00 Moscow


def row(kind: str, minutes: float, *, wh: int = 507, day: dt.date = DAY, box=BoxType.BOXES, coefficient=0.0):
    return HistoryRow(wh, day, box, coefficient, kind, T0 + dt.timedelta(minutes=minutes))


def test_quantile_interpolates():
    assert quantile([], 0.5) is None
    assert quantile([5.0], 0.9) == 5.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([float(v) for v in range(1, 11)], 0.9) == pytest.approx(9.1)


def test_openings_durations_weekday_and_hour():
    rows = [
        row("opened", 0), row("changed", 1, coefficient=2), row("closed", 3),  # 3 min, Monday 09:00
        row("opened", 60 * 24 + 30, coefficient=5), row("closed", 60 * 24 + 31),  # 1 min, Tuesday 09:30
        row("opened", 60 * 25, day=DAY + dt.timedelta(days=1)), row("closed", 60 * 25 + 10,
                                                                    day=DAY + dt.timedelta(days=1)),  # 10 min
        row("opened", 60 * 47),  # still open at the end: an opening, no duration
    ]
    [stats] = slot_stats(rows, T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=2))
    assert (stats.warehouse_id, stats.box_type) == (507, BoxType.BOXES)
    assert stats.openings == 4 and stats.free_openings == 3
    assert sorted(stats.durations_s) == [60.0, 180.0, 600.0]
    assert stats.median_open_s == 180.0 and stats.p90_open_s == pytest.approx(516.0)
    assert stats.by_weekday[:3] == [1, 2, 1]  # Monday, Tuesday (two), Wednesday 08:00
    assert stats.by_hour[9] == 2 and stats.by_hour[10] == 1 and stats.by_hour[8] == 1
    # Observed from the first row (not from the window start): 2 days.
    assert stats.days_observed == pytest.approx(2.0) and stats.openings_per_day == pytest.approx(2.0)
    assert stats.to_dict()["closed_intervals"] == 3


def test_slots_open_before_the_monitor_started_do_not_count():
    rows = [row("initial", 0), row("closed", 5), row("opened", 10), row("closed", 12)]
    [stats] = slot_stats(rows, T0, T0 + dt.timedelta(days=1))
    assert stats.openings == 1 and stats.durations_s == [120.0]


def test_groups_by_warehouse_and_box_type_and_ignores_rows_outside_the_window():
    rows = [
        row("opened", 0), row("closed", 1),
        row("opened", 0, wh=117501), row("closed", 2, wh=117501),
        row("opened", 0, box=BoxType.MONOPALLETS),
        row("opened", -60 * 24 * 40),  # long before the window
    ]
    stats = slot_stats(rows, T0 - dt.timedelta(days=30), T0 + dt.timedelta(hours=1))
    assert [(s.warehouse_id, s.box_type.value, s.openings) for s in stats] == [
        (507, "boxes", 1), (507, "monopallets", 1), (117501, "boxes", 1)]
    assert stats[2].median_open_s == 120.0
    assert slot_stats([], T0, T0) == []


def test_three_minutes_of_history_are_too_little_data_not_a_hundred_openings_a_day():
    rows = [row("opened", m, coefficient=0) if m % 2 == 0 else row("closed", m) for m in range(0, 4)]
    [stats] = slot_stats(rows, T0 - dt.timedelta(days=14), T0 + dt.timedelta(minutes=3))
    assert stats.openings == 2 and stats.calendar_days == 0 and stats.openings_per_day == 0.0
    assert not stats.enough_history and stats.to_dict()["enough_history"] is False


def test_openings_are_counted_per_whole_calendar_day():
    # Watched from Monday 09:00 to Friday 12:00: Tuesday, Wednesday and Thursday are whole days.
    rows = [row("opened", 60 * 24 * d + 60 * h) for d, h in ((0, 1), (1, 2), (1, 5), (2, 3), (3, 1), (4, 2))]
    rows += [row("closed", 60 * 24 * d + 60 * h + 1) for d, h in ((0, 1), (1, 2), (1, 5), (2, 3), (3, 1), (4, 2))]
    [stats] = slot_stats(rows, T0 - dt.timedelta(days=14), T0 + dt.timedelta(days=4, hours=3))
    assert stats.calendar_days == 3 and stats.enough_history
    assert stats.openings == 6 and stats.openings_per_day == pytest.approx(4 / 3)  # Tue 2, Wed 1, Thu 1


def test_chances_never_say_no_openings_for_a_warehouse_open_now():
    from wbsupply.api.logic.slots import chances_text

    item = {"warehouse_id": 507, "warehouse_name": "Коледино", "box_type": "boxes", "box_type_label": "Короба",
            "openings": 0, "openings_per_day": 0.0, "free_openings": 0, "median_open_seconds": None,
            "calendar_days": 14, "enough_history": True}
    assert "не открывались" in chances_text([item])[0]
    [line] = chances_text([item], open_now={(507, "boxes")})
    assert "не открывались" not in line and "сейчас слот открыт" in line
    [line] = chances_text([{**item, "calendar_days": 1, "enough_history": False}], open_now={(507, "boxes")})
    assert "мало данных" in line and "Сейчас есть открытый слот" in line
