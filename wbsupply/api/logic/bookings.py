"""The seller's bookings history (confirmed bookings of the caller only)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from wbsupply.api.logic.warehouses import warehouse_names
from wbsupply.domain.statuses import BoxType
from wbsupply.store import Booking, BookingState, User


def list_bookings(session: Session, user: User, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Booking)
        .where(col(Booking.user_id) == user.id, col(Booking.state) == BookingState.CONFIRMED)
        .order_by(col(Booking.confirmed_at).desc())
        .limit(limit)
    ).all()
    names = warehouse_names()
    return [
        {
            "id": row.id,
            "task_id": row.task_id,
            "warehouse_id": row.warehouse_id,
            "warehouse_name": row.warehouse_name or names.get(row.warehouse_id or 0, ""),
            "date": row.slot_date.isoformat() if row.slot_date else None,
            "box_type": row.box_type.value if row.box_type else None,
            "box_type_label": BoxType(row.box_type).label if row.box_type else "",
            "coefficient": row.coefficient,
            "supply_id": row.supply_id,
            "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else None,
        }
        for row in rows
    ]
