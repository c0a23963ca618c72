"""Rescheduling a booked supply to a better slot (pure): which open slot is better than the booked one.

WB's ``plan/update`` moves a planned supply to another date of the same warehouse and box type, so only those
slots count. A move never leaves the seller without a slot: WB moves the supply or leaves it where it was.

Where WB has a booked supply (:func:`wb_move`) decides how a move whose answer was lost (or a worker killed
mid-move) ends, and brings the record in line with a supply the seller moved by hand in WB's cabinet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum

from wbsupply.domain.booking import WbPreorder
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.tasks import SupplyTaskSpec


def is_better(rule: str, booked: Slot, offered: Slot) -> bool:
    """``earlier``: an earlier date, not dearer; ``cheaper``: a lower acceptance coefficient, any date the task
    accepts; ``both``: better in one of the two and worse in neither."""
    earlier, same_day = offered.date < booked.date, offered.date == booked.date
    cheaper, same_price = offered.coefficient < booked.coefficient, offered.coefficient == booked.coefficient
    if rule == "earlier":
        return earlier and (cheaper or same_price)
    if rule == "cheaper":
        return cheaper
    return (earlier and (cheaper or same_price)) or (cheaper and (earlier or same_day))


def best_move(spec: SupplyTaskSpec, booked: Slot, open_slots: Iterable[Slot], today: dt.date,
              moves_made: int) -> Slot | None:
    """The slot to move the booked supply to now, or None: the best by the rule (earliest, then cheapest)."""
    rule = spec.improve
    if rule is None or moves_made >= spec.max_moves:
        return None
    fitting = [
        slot for slot in open_slots
        if slot.warehouse_id == booked.warehouse_id and slot.box_type is booked.box_type
        and spec.accepts(slot, today) and is_better(rule, booked, slot)
    ]
    if not fitting:
        return None
    if rule == "cheaper":
        return min(fitting, key=lambda slot: (slot.coefficient, slot.date))
    return min(fitting, key=lambda slot: (slot.date, slot.coefficient))


class WbMove(StrEnum):
    MOVED = "moved"  # on the slot the bot asked plan/update for
    STAYED = "stayed"  # on the booked slot: nothing moved
    ELSEWHERE = "elsewhere"  # the same supply, warehouse and box type on another date: moved outside the bot
    UNKNOWN = "unknown"  # not planned, gone, another supply or warehouse: no move to settle or follow


def wb_move(wb: WbPreorder | None, supply_id: int | None, booked: SlotKey, target: SlotKey | None) -> WbMove:
    """Where WB has the booked supply, against its booked slot and the move in flight (``target``, if any)."""
    if wb is None or not wb.planned or wb.supply_date is None:
        return WbMove.UNKNOWN
    if supply_id is not None and wb.supply_id is not None and wb.supply_id != supply_id:
        return WbMove.UNKNOWN
    if wb.warehouse_id != booked.warehouse_id or wb.box_type is not booked.box_type:
        return WbMove.UNKNOWN
    if target is not None and wb.supply_date == target.date:
        return WbMove.MOVED
    return WbMove.STAYED if wb.supply_date == booked.date else WbMove.ELSEWHERE
