"""Tariff plans, the Moscow usage month and the rule that a plan's limit is never exceeded."""

from __future__ import annotations

import contextlib
import datetime as dt
import random

import pytest

from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.tariffs import (
    Plan,
    QuotaExceeded,
    Usage,
    can_reserve,
    month_of,
    month_start,
    next_month_start,
)


def test_plans_offer_the_founding_booking_counts_with_russian_labels() -> None:
    assert [plan.monthly_bookings for plan in sorted(Plan, key=lambda p: p.rank)] == [5, 10, 25, 50, 100, 500]
    assert [p.rank for p in (Plan.START, Plan.BASIC, Plan.STANDARD, Plan.BUSINESS, Plan.PRO, Plan.ENTERPRISE)] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert Plan.START.label == "Старт" and Plan.ENTERPRISE.label == "Корпоративный"
    assert all(plan.label and plan.label[0].isupper() for plan in Plan)
    assert Plan.for_bookings(25) is Plan.STANDARD
    with pytest.raises(ValueError):
        Plan.for_bookings(7)


@pytest.mark.parametrize(
    ("used", "reserved", "limit", "room"),
    [(0, 0, 5, True), (4, 0, 5, True), (3, 1, 5, True), (5, 0, 5, False), (3, 2, 5, False), (0, 0, 0, False)],
)
def test_can_reserve_counts_bookings_done_and_in_flight(used: int, reserved: int, limit: int, room: bool) -> None:
    assert can_reserve(used, reserved, limit) is room


def test_month_is_taken_in_moscow_time() -> None:
    # 22:30 UTC on 31 October is 01:30 on 1 November in Moscow.
    assert month_of(dt.datetime(2026, 10, 31, 22, 30, tzinfo=dt.UTC)) == "2026-11"
    assert month_of(dt.datetime(2026, 10, 31, 20, 59, tzinfo=dt.UTC)) == "2026-10"
    assert month_of(dt.datetime(2026, 1, 5, tzinfo=MOSCOW)) == "2026-01"
    with pytest.raises(ValueError):
        month_of(dt.datetime(2026, 1, 5))


def test_quota_frees_at_moscow_midnight_on_the_first() -> None:
    assert next_month_start(dt.datetime(2026, 12, 31, 23, 0, tzinfo=MOSCOW)) == dt.datetime(2027, 1, 1, tzinfo=MOSCOW)
    assert next_month_start(dt.datetime(2026, 11, 26, tzinfo=MOSCOW)) == dt.datetime(2026, 12, 1, tzinfo=MOSCOW)
    assert month_start("2026-11") == dt.datetime(2026, 11, 1, tzinfo=MOSCOW)
    assert month_of(month_start("2026-11")) == "2026-11"


def test_a_booking_counts_once_however_often_it_is_reported() -> None:
    usage = Usage("2026-11", limit=5)
    usage = usage.reserve("task-1").reserve("task-1")
    assert usage.reserved == {"task-1"} and usage.remaining == 4
    usage = usage.confirm("task-1").confirm("task-1").reserve("task-1")
    assert usage.used == {"task-1"} and not usage.reserved and usage.remaining == 4


def test_a_lost_slot_gives_the_reservation_back() -> None:
    usage = Usage("2026-11", limit=1).reserve("task-1")
    with pytest.raises(QuotaExceeded):
        usage.reserve("task-2")
    usage = usage.release("task-1").reserve("task-2")
    assert usage.reserved == {"task-2"}


def test_the_limit_is_reached_but_never_exceeded() -> None:
    usage = Usage("2026-11", limit=Plan.START.monthly_bookings)
    for number in range(5):
        usage = usage.reserve(f"task-{number}")
    with pytest.raises(QuotaExceeded) as caught:
        usage.reserve("task-5")
    assert caught.value.limit == 5 and "Лимит тарифа исчерпан" in caught.value.message_ru
    assert usage.remaining == 0


def test_no_interleaving_of_reserve_confirm_release_exceeds_the_limit() -> None:
    rng = random.Random(3)
    for _ in range(200):
        usage = Usage("2026-11", limit=rng.choice([5, 10]))
        for _ in range(60):
            booking = f"task-{rng.randint(1, 15)}"
            operation = rng.choice(["reserve", "reserve", "confirm", "release"])
            with contextlib.suppress(QuotaExceeded, ValueError):
                usage = getattr(usage, operation)(booking)
            assert len(usage.used) + len(usage.reserved) <= usage.limit
            assert not usage.used & usage.reserved


def test_confirming_needs_a_reservation_and_a_smaller_plan_keeps_bookings_made() -> None:
    with pytest.raises(ValueError):
        Usage("2026-11", limit=5).confirm("task-1")
    usage = Usage("2026-11", limit=10).reserve("a").confirm("a").reserve("b").confirm("b").with_limit(1)
    assert usage.remaining == 0
    with pytest.raises(QuotaExceeded):
        usage.reserve("c")
