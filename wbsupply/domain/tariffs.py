"""Tariff plans (bookings per month) and the usage month.

The limit is enforced by the store, atomically (:mod:`wbsupply.store.quota`: a reservation row per booking,
inserted only while bookings done plus bookings in flight stay below the limit).
"""

from __future__ import annotations

import datetime as dt
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
        """The plan with exactly this many bookings a month (ValueError: a custom limit)."""
        for plan in _PLAN_ORDER:
            if plan.monthly_bookings == monthly_bookings:
                return plan
        raise ValueError(f"no plan with {monthly_bookings} bookings per month")

    @classmethod
    def for_limit(cls, monthly_limit: int) -> Plan:
        """The largest plan not above a seller's monthly limit (a custom limit included; START below 5), so
        whoever checks the quota by plan never allows more than the seller has."""
        fitting = [plan for plan in _PLAN_ORDER if plan.monthly_bookings <= monthly_limit]
        return fitting[-1] if fitting else Plan.START


_PLAN_TABLE = {
    Plan.START: (5, "Старт"),
    Plan.BASIC: (10, "Базовый"),
    Plan.STANDARD: (25, "Стандарт"),
    Plan.BUSINESS: (50, "Бизнес"),
    Plan.PRO: (100, "Профи"),
    Plan.ENTERPRISE: (500, "Корпоративный"),
}
_PLAN_ORDER = sorted(Plan, key=lambda plan: _PLAN_TABLE[plan][0])
PLAN_LIMITS = tuple(plan.monthly_bookings for plan in _PLAN_ORDER)  # the monthly limits an admin can give


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
