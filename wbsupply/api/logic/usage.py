"""The seller's tariff and this month's usage, read live from the quota ledger."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from wbsupply.api.logic.users import plan_of
from wbsupply.store import MonthlyUsage, User
from wbsupply.store.quota import Usage, month_key


def usage_view(session: Session, user: User) -> dict[str, Any]:
    month = month_key()
    # Read through the caller's session: a second connection per request can exhaust the pool under load
    # (every request holding one connection while waiting for another).
    row = session.exec(
        select(MonthlyUsage).where(col(MonthlyUsage.user_id) == user.id, col(MonthlyUsage.month) == month)
    ).first()
    counted = Usage(used=row.used, reserved=row.reserved) if row else Usage()
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
