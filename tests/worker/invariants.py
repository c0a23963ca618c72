"""The booking truth every crash and fault test ends with: what WB has is exactly what the cabinet says."""

from __future__ import annotations

from typing import Any

from bot_harness import rows
from sqlalchemy import Engine

from wbsupply.store import quota
from wbsupply.store.models import Booking, BookingState


def assert_booking_truth(db: Engine, market: Any, user_id: int, seller: Any) -> list[Booking]:
    """WB's bookings (made through the bot, not by the seller's own hand) == the cabinet's confirmed bookings,
    the seller's usage == those bookings (nothing reserved), and no preorder was sent to plan/add after WB
    had planned it. Supplies a task adopted (planned by the seller's hand, confirmed, never counted) are where
    WB has them now and count nowhere. Returns the confirmed bookings the bot made."""
    suppliers = {s.id for s in seller.suppliers}
    wb = sorted((b.supply_id, b.preorder_id, b.warehouse_id, b.date, b.box_type.value)
                for b in market.bookings() if b.supplier_id in suppliers and not b.by_hand and not b.rescheduled)
    every = rows(db, Booking, Booking.user_id == user_id, Booking.state == BookingState.CONFIRMED)
    confirmed = [b for b in every if b.adopted_at is None]
    for adopted in (b for b in every if b.adopted_at is not None):
        assert adopted.preorder_id is not None and adopted.plan_requested_at is None
        now = next(p for s in suppliers for p in market.list_preorders(s) if p.id == adopted.preorder_id)
        assert (now.supply_id, now.supply_date) == (adopted.supply_id, adopted.slot_date), "adopted supply moved away"
    ours = sorted((b.supply_id, b.preorder_id, b.warehouse_id, b.slot_date, b.box_type.value if b.box_type else None)
                  for b in confirmed)
    assert wb == ours, f"WB has {wb}, the cabinet says {ours}"
    assert len({b.supply_id for b in every}) == len(every), "one supply claimed twice"
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=len(confirmed), reserved=0)
    assert not rows(db, Booking, Booking.user_id == user_id, Booking.state == BookingState.RESERVED)
    repeated = [c for c in market.faults.calls if c.supplier_id in suppliers and c.already_planned]
    assert repeated == [], f"plan/add sent for an already planned preorder: {repeated}"
    return confirmed
