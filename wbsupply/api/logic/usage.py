"""The seller's tariff and this month's usage, read live from the quota ledger."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from wbsupply.api.logic.users import plan_of
from wbsupply.store import User
from wbsupply.store.quota import month_key, usage


def usage_view(session: Session, user: User) -> dict[str, Any]:
    month = month_key()
    counted = usage(session, user.id or 0, month)
    plan = plan_of(user)
    limit = user.plan_limit
    return {
        "month": month,
        "plan": plan.value if plan else None,
        "plan_label": plan.label if plan else f"{limit} бронирований",
        "limit": limit,
        "used": counted.used,
        "reserved": counted.reserved,
        "remaining": max(0, limit - counted.total),
        "percent": min(100, round(100 * counted.total / limit)) if limit else 100,
    }
