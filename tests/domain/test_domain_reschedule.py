"""Which open slot a booked task moves its supply to, and where WB has a booked supply (pure)."""

from __future__ import annotations

import datetime as dt

from wbsupply.domain.booking import WbPreorder
from wbsupply.domain.reschedule import WbMove, best_move, is_better, wb_move
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BoxType
from wbsupply.domain.tasks import SupplyTaskSpec

TODAY = dt.date(2026, 11, 26)


def slot(day: int, coefficient: int, warehouse: int = 507, box: BoxType = BoxType.BOXES) -> Slot:
    return Slot(SlotKey(warehouse, TODAY + dt.timedelta(days=day), box), coefficient, True)


def spec(**changes: object) -> SupplyTaskSpec:
    return SupplyTaskSpec(**{"account_id": "1", "preorder_id": 5, "warehouses": [507, 117501], "box_type": "boxes",
                             "max_coefficient": 3, "improve": "earlier", **changes})


def test_the_rules() -> None:
    booked = slot(10, 1)
    assert is_better("earlier", booked, slot(5, 1)) and is_better("earlier", booked, slot(5, 0))
    assert not is_better("earlier", booked, slot(5, 2)), "earlier but dearer"
    assert not is_better("earlier", booked, slot(12, 0)) and not is_better("earlier", booked, slot(10, 1))
    assert is_better("cheaper", booked, slot(12, 0)) and not is_better("cheaper", booked, slot(3, 1))
    assert is_better("both", booked, slot(10, 0)) and is_better("both", booked, slot(4, 1))
    assert not is_better("both", booked, slot(4, 2)) and not is_better("both", booked, slot(12, 0))


def test_best_move_stays_at_the_warehouse_within_the_task_and_its_limit() -> None:
    booked = slot(10, 1)
    offered = [slot(2, 1, warehouse=117501), slot(3, 0, box=BoxType.MONOPALLETS), slot(4, 1), slot(6, 0),
               slot(1, 5)]
    assert best_move(spec(), booked, offered, TODAY, 0) == slot(4, 1)
    assert best_move(spec(improve="cheaper"), booked, offered, TODAY, 0) == slot(6, 0)
    assert best_move(spec(min_days_ahead=5), booked, offered, TODAY, 0) == slot(6, 0)
    assert best_move(spec(max_moves=2), booked, offered, TODAY, 2) is None, "the task's moves are used up"
    assert best_move(spec(improve=None), booked, offered, TODAY, 0) is None


def test_only_booking_tasks_improve() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="только в режиме «Бронировать»"):
        spec(mode="notify")
    with pytest.raises(ValidationError):
        spec(max_moves=9)


def wb(day: int, *, status: int = 2, supply: int | None = 77, warehouse: int = 507,
       box: BoxType | None = BoxType.BOXES) -> WbPreorder:
    return WbPreorder(status, supply, warehouse, TODAY + dt.timedelta(days=day), box)


def test_where_wb_has_a_booked_supply_against_the_move_in_flight() -> None:
    booked, target = slot(10, 1).key, slot(4, 0).key
    assert wb_move(wb(4), 77, booked, target) is WbMove.MOVED
    assert wb_move(wb(10), 77, booked, target) is WbMove.STAYED
    assert wb_move(wb(10), 77, booked, None) is WbMove.STAYED
    assert wb_move(wb(7), 77, booked, target) is WbMove.ELSEWHERE, "a date the bot never asked for: by hand"
    assert wb_move(wb(7), 77, booked, None) is WbMove.ELSEWHERE
    assert wb_move(wb(4), None, booked, target) is WbMove.MOVED, "the supply number is not known yet"
    assert wb_move(wb(4, status=3), 77, booked, target) is WbMove.MOVED, "moved, then shipped"
    for other in (None, wb(4, status=1), wb(4, supply=78), wb(4, warehouse=117501), wb(4, box=BoxType.MONOPALLETS),
                  wb(4, box=None)):
        assert wb_move(other, 77, booked, target) is WbMove.UNKNOWN, other
