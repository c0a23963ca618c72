"""Tariff plans and the Moscow usage month (the limit itself: tests/store/test_store_quota.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.tariffs import Plan, QuotaExceeded, month_of


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


def test_month_is_taken_in_moscow_time() -> None:
    # 22:30 UTC on 31 October is 01:30 on 1 November in Moscow.
    assert month_of(dt.datetime(2026, 10, 31, 22, 30, tzinfo=dt.UTC)) == "2026-11"
    assert month_of(dt.datetime(2026, 10, 31, 20, 59, tzinfo=dt.UTC)) == "2026-10"
    assert month_of(dt.datetime(2026, 1, 5, tzinfo=MOSCOW)) == "2026-01"
    with pytest.raises(ValueError):
        month_of(dt.datetime(2026, 1, 5))


def test_quota_exceeded_says_so_in_russian() -> None:
    caught = QuotaExceeded("2026-11", 5)
    assert caught.limit == 5 and caught.month == "2026-11" and "Лимит тарифа исчерпан" in caught.message_ru
