"""Warehouses for pickers and labels: WB's reference table, plus the names a decoded calendar carries.

No state is kept between requests (two API replicas answer alike): a warehouse WB has and the table lacks is
named from the calendar at hand, and is known to the task form once the monitor has recorded it
(:func:`seen_by_monitor`).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, col, select

from wbsupply.domain.slots import Calendar
from wbsupply.store.journal import SlotHistory
from wbsupply.wb.warehouses import WAREHOUSES

REFERENCE: dict[int, str] = {w.id: w.name for w in WAREHOUSES}
# Order of the picker: the busiest warehouses first (where most sellers ship).
_IMPORTANCE: dict[int, float] = {w.id: w.busy for w in WAREHOUSES}


def warehouse_names(calendar: Calendar | None = None) -> dict[int, str]:
    """Reference names, and those of the warehouses the calendar reports that the table lacks."""
    names = dict(REFERENCE)
    for slot in calendar or ():
        if slot.warehouse_id not in names and slot.warehouse_name:
            names[slot.warehouse_id] = slot.warehouse_name
    return names


def picker(names: dict[int, str] | None = None) -> list[tuple[int, str]]:
    """(id, name) ordered by importance, then name."""
    return sorted((names or REFERENCE).items(), key=lambda item: (-_IMPORTANCE.get(item[0], 0.5), item[1]))


def seen_by_monitor(session: Session, warehouse_ids: Collection[int]) -> set[int]:
    """Which of ``warehouse_ids`` the monitor has recorded slots of (the database: the same for every replica)."""
    return {warehouse_id for warehouse_id in set(warehouse_ids)
            if session.exec(select(SlotHistory.id).where(col(SlotHistory.warehouse_id) == warehouse_id)
                            .limit(1)).first() is not None}
