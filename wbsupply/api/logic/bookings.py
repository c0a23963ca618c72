"""The seller's bookings history (confirmed bookings of the caller only)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from wbsupply.api.logic.warehouses import warehouse_names
from wbsupply.domain.statuses import BoxType
from wbsupply.store import Booking, BookingState, SupplyTask, User, WbAccount

_STATE_LABELS = {BookingState.CONFIRMED: "Забронировано", BookingState.RESERVED: "Бронируем…",
                 BookingState.RELEASED: "Не состоялось, не списано"}

# A supply the seller planned by hand and a task took over to move it: WB's, not counted against the tariff.
ADOPTED_LABEL = "Запланирована вами, бот ищет слот лучше (не списано)"


def list_bookings(session: Session, user: User, limit: int = 200, *, task_id: int | None = None,
                  all_states: bool = False) -> list[dict[str, Any]]:
    """Confirmed bookings of the caller, newest first; a task's page also shows its attempts that failed."""
    query = select(Booking).where(col(Booking.user_id) == user.id)
    if not all_states:
        query = query.where(col(Booking.state) == BookingState.CONFIRMED)
    if task_id is not None:
        query = query.where(col(Booking.task_id) == task_id)
    rows = session.exec(query.order_by(col(Booking.id).desc()).limit(limit)).all()
    # A booking made before racing names no account: it is its task's.
    task_accounts = dict(session.exec(select(SupplyTask.id, SupplyTask.account_id).where(
        col(SupplyTask.id).in_({row.task_id for row in rows if row.account_id is None}))).all())
    names = warehouse_names()
    # Which of the seller's WB accounts holds each supply (racing tasks: the account whose bot won).
    accounts = {account_id: label or phone for account_id, label, phone in session.exec(
        select(WbAccount.id, WbAccount.label, WbAccount.phone).where(col(WbAccount.owner_id) == user.id)).all()}
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
            "reserved_at": row.reserved_at.isoformat() if row.reserved_at else None,
            "state": row.state.value,
            "state_label": ADOPTED_LABEL if row.adopted_at else _STATE_LABELS.get(row.state, row.state.value),
            "adopted": row.adopted_at is not None,
            "account_id": row.account_id or task_accounts.get(row.task_id),
            "account_label": accounts.get(row.account_id or task_accounts.get(row.task_id) or 0, ""),
        }
        for row in rows
    ]
