"""Tariff plans (bookings per month) and the usage rule: a booking counts once, the limit is never exceeded.

The store enforces the rule atomically (a reservation row per booking, inserted only while
``can_reserve`` holds under a lock); this module states the rule once so that both runtimes apply it alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from wbsupply.domain.schedule import MOSCOW, require_aware


class Plan(StrEnum):
    START = "start"
    BASIC = "basic"
    STANDARD = "standard"
    BUSINESS = "business"
    PRO = "pro"
    ENTERPRISE = "enterprise"

    @property
    def monthly_bookings(self) -> int:
        return _PLAN_TABLE[self][0]

    @property
    def label(self) -> str:
        return _PLAN_TABLE[self][1]

    @property
    def rank(self) -> int:
        """Priority of the seller's tasks when slots are contested: higher plan first."""
        return _PLAN_ORDER.index(self) + 1

    @classmethod
    def for_bookings(cls, monthly_bookings: int) -> Plan:
        for plan in _PLAN_ORDER:
            if plan.monthly_bookings == monthly_bookings:
                return plan
        raise ValueError(f"no plan with {monthly_bookings} bookings per month")


_PLAN_TABLE = {
    Plan.START: (5, "Старт"),
    Plan.BASIC: (10, "Базовый"),
    Plan.STANDARD: (25, "Стандарт"),
    Plan.BUSINESS: (50, "Бизнес"),
    Plan.PRO: (100, "Профи"),
    Plan.ENTERPRISE: (500, "Корпоративный"),
}
_PLAN_ORDER = sorted(Plan, key=lambda plan: _PLAN_TABLE[plan][0])


class QuotaExceeded(Exception):
    """No booking left in this month's plan: the task waits (phase QuotaExceeded), the seller is told."""

    def __init__(self, month: str, limit: int) -> None:
        super().__init__(f"quota of {limit} bookings for {month} is used up")
        self.month = month
        self.limit = limit
        self.message_ru = (
            f"Лимит тарифа исчерпан: {limit} бронирований в месяц. Смените тариф или дождитесь нового месяца."
        )


def month_of(moment: dt.datetime) -> str:
    """The usage month ('YYYY-MM') of a moment, in Moscow time."""
    local = require_aware(moment).astimezone(MOSCOW)
    return f"{local.year:04d}-{local.month:02d}"


def month_start(month: str) -> dt.datetime:
    year, number = (int(part) for part in month.split("-"))
    return dt.datetime(year, number, 1, tzinfo=MOSCOW)


def next_month_start(moment: dt.datetime) -> dt.datetime:
    """When quota frees by itself: 00:00 Moscow time on the 1st of the next month."""
    local = require_aware(moment).astimezone(MOSCOW)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return dt.datetime(year, month, 1, tzinfo=MOSCOW)


def can_reserve(used: int, reserved: int, limit: int) -> bool:
    """Room for one more booking: bookings done plus bookings in flight stay within the limit."""
    return used + reserved < limit


@dataclass(frozen=True)
class Usage:
    """One seller's bookings in one month, by id (task or booking id), so repeating an operation is harmless.

    reserve (before booking) → confirm (booked: counts) or release (lost or failed: frees the place).
    """

    month: str
    limit: int
    used: frozenset[str] = frozenset()
    reserved: frozenset[str] = frozenset()

    @property
    def remaining(self) -> int:
        return max(0, self.limit - len(self.used) - len(self.reserved))

    def reserve(self, booking_id: str) -> Usage:
        if booking_id in self.used or booking_id in self.reserved:
            return self
        if not can_reserve(len(self.used), len(self.reserved), self.limit):
            raise QuotaExceeded(self.month, self.limit)
        return replace(self, reserved=self.reserved | {booking_id})

    def confirm(self, booking_id: str) -> Usage:
        if booking_id in self.used:
            return self
        if booking_id not in self.reserved:
            raise ValueError(f"booking {booking_id!r} was not reserved: reserve before booking")
        return replace(self, used=self.used | {booking_id}, reserved=self.reserved - {booking_id})

    def release(self, booking_id: str) -> Usage:
        return replace(self, reserved=self.reserved - {booking_id})

    def with_limit(self, limit: int) -> Usage:
        """Plan changed mid-month: bookings already made still count against the new limit."""
        return replace(self, limit=limit)
