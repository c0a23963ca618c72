"""The move marker of a booked supply (plan/update) and the transactions that clear it, on both databases.

The marker is written before WB is asked to move the supply; the move settled (counted once), the move missed
("supply not moved") and a move WB shows that the bot did not make (followed, not counted) each clear it in the
one transaction that writes the rest, so a kill at any moment leaves the marker or the whole outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import col, select

from wbsupply.control.base import Notice
from wbsupply.control.bookings import (
    Settlement,
    booked_supplies,
    follow_wb,
    mark_move_requested,
    mark_plan_requested,
    move_missed,
    settle,
    settle_move,
)
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.notify.kinds import NoticeKind
from wbsupply.store import Booking, BookingState, SupplyTask, session_scope
from wbsupply.store.journal import EventLog, NotificationOutbox
from wbsupply.store.quota import QuotaError, Usage, month_key, reserve, usage

MakeSeller = Callable[..., Any]
BOOKED = Slot(SlotKey(507, dt.date(2026, 12, 14), BoxType.BOXES), 2, True, None, "Коледино")
BETTER = Slot(SlotKey(507, dt.date(2026, 12, 8), BoxType.BOXES), 0, True, None, "Коледино")
BY_HAND = Slot(SlotKey(507, dt.date(2026, 12, 10), BoxType.BOXES), 1, True, None, "Коледино")


def booked_task(engine: Engine, seller: Any, task_index: int = 0, *, improve: str | None = "earlier") -> int:
    """A task Booked on BOOKED through the ordinary settle; returns its booking id."""
    task_id = seller.task_ids[task_index]
    with session_scope(engine) as session:
        task = session.get(SupplyTask, task_id)
        task.phase = TaskPhase.BOOKING
        task.spec = {"account_id": str(seller.account_id), "preorder_id": 100 + task_index, "warehouses": [507],
                     "box_type": "boxes", "max_coefficient": 2, "improve": improve, "max_moves": 3}
    reservation = reserve(engine, seller.user_id, month_key(), 5, task_id, seller.account_id)
    assert reservation is not None
    with session_scope(engine) as session:
        session.get(Booking, reservation.booking_id).preorder_id = 100 + task_index
    mark_plan_requested(engine, reservation.booking_id)
    settle(engine, seller.account_id, reservation.booking_id, Settlement(
        TaskPhase.BOOKED, "Забронировано", "booked", slot=BOOKED, supply_id=26600001 + task_index))
    return reservation.booking_id


def snapshot(engine: Engine, seller: Any, booking_id: int) -> tuple[Any, ...]:
    with session_scope(engine) as session:
        booking = session.get(Booking, booking_id)
        task = session.get(SupplyTask, booking.task_id)
        events = session.exec(select(EventLog.message).where(col(EventLog.task_id) == task.id)
                              .order_by(col(EventLog.id))).all()
        notices = session.exec(select(NotificationOutbox.dedup_key).where(
            col(NotificationOutbox.user_id) == seller.user_id)).all()
        marker = (booking.move_date, booking.move_coefficient, booking.move_requested_at is not None)
        return (marker, booking.state, booking.slot_date, booking.coefficient, task.booked_date,
                task.booked_coefficient, task.moves, sorted({key.rsplit(":", 2)[0] for key in notices}), list(events),
                usage(engine, seller.user_id, month_key()))


def moved_notice(seller: Any, task_id: int, slot: Slot) -> Notice:
    return Notice(seller.user_id, NoticeKind.BOOKED, f"moved:{task_id}:{slot.date}", {"task_id": task_id})


def test_the_marker_goes_with_the_settled_move_in_one_transaction_and_counts_once(
    engine: Engine, make_seller: MakeSeller
) -> None:
    seller = make_seller()
    booking_id = booked_task(engine, seller)
    task_id = seller.task_ids[0]
    mark_move_requested(engine, booking_id, BETTER)
    marked = snapshot(engine, seller, booking_id)
    assert marked[0] == (BETTER.date, 0, True) and marked[2] == BOOKED.date and marked[6] == 0
    [(task, booking)] = booked_supplies(engine, seller.account_id)
    assert task.id == task_id and booking.move_target() == BETTER

    settle_move(engine, seller.account_id, booking_id, BETTER, moved_notice(seller, task_id, BETTER), {})
    after = snapshot(engine, seller, booking_id)
    assert after[:7] == ((None, None, False), BookingState.CONFIRMED, BETTER.date, 0, BETTER.date, 0, 1)
    assert after[7] == [f"moved:{task_id}:{BETTER.date}"] and after[8] == ["booked", "supply moved"]
    assert after[9] == Usage(used=1, reserved=0)  # a move is not a booking
    [(_, booking)] = booked_supplies(engine, seller.account_id)
    assert booking.move_date is None

    # A restarted bot that finds WB on the new slot settles again: nothing changes, the move counts once.
    settle_move(engine, seller.account_id, booking_id, BETTER, moved_notice(seller, task_id, BETTER), {})
    assert snapshot(engine, seller, booking_id) == after


def test_a_failure_inside_the_move_keeps_the_marker_and_writes_nothing(engine: Engine, make_seller: MakeSeller
                                                                        ) -> None:
    seller = make_seller()
    booking_id = booked_task(engine, seller)
    mark_move_requested(engine, booking_id, BETTER)
    before = snapshot(engine, seller, booking_id)
    with pytest.raises((StatementError, TypeError)):  # the event log row cannot be written
        settle_move(engine, seller.account_id, booking_id, BETTER,
                    moved_notice(seller, seller.task_ids[0], BETTER), {"not json": object()})
    assert snapshot(engine, seller, booking_id) == before  # marker kept: the reconciliation settles it later
    assert before[0][0] == BETTER.date


def test_not_moved_clears_the_marker_with_its_history_line(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    booking_id = booked_task(engine, seller)
    mark_move_requested(engine, booking_id, BETTER)
    before = snapshot(engine, seller, booking_id)
    move_missed(engine, seller.account_id, booking_id, {"slot": BETTER.to_dict(), "reason": "на прежнем слоте"})
    after = snapshot(engine, seller, booking_id)
    assert after[0] == (None, None, False)
    assert after[1:8] == before[1:8]  # the booking, the task and the notices are as they were
    assert after[8] == ["booked", "supply not moved"]


def test_a_move_wb_shows_but_the_bot_did_not_make_is_followed_and_not_counted(
    engine: Engine, make_seller: MakeSeller
) -> None:
    seller = make_seller()
    booking_id = booked_task(engine, seller)
    task_id = seller.task_ids[0]
    mark_move_requested(engine, booking_id, BETTER)  # the bot asked for BETTER, WB shows BY_HAND
    notice = Notice(seller.user_id, NoticeKind.BOOKED, f"wb_moved:{task_id}:{BY_HAND.date}",
                    {"task_id": task_id, "wb_moved": True})
    record = follow_wb(engine, seller.account_id, booking_id, BY_HAND, 1.0, notice, {"wb_moved": True})
    assert record.phase is TaskPhase.BOOKED and "WB показывает поставку" in (record.message or "")
    after = snapshot(engine, seller, booking_id)
    assert after[:7] == ((None, None, False), BookingState.CONFIRMED, BY_HAND.date, 1.0, BY_HAND.date, 1.0, 0)
    assert after[7] == [f"wb_moved:{task_id}:{BY_HAND.date}"]
    assert after[8] == ["booked", "supply moved outside the bot"]
    follow_wb(engine, seller.account_id, booking_id, BY_HAND, 1.0, notice, {"wb_moved": True})
    assert snapshot(engine, seller, booking_id) == after


def test_wb_is_asked_about_moves_in_flight_and_supplies_the_bot_moves(engine: Engine, make_seller: MakeSeller
                                                                       ) -> None:
    seller = make_seller(tasks=3)
    improving = booked_task(engine, seller, 0)
    plain = booked_task(engine, seller, 1, improve=None)
    paused_mid_move = booked_task(engine, seller, 2)
    mark_move_requested(engine, paused_mid_move, BETTER)
    with session_scope(engine) as session:  # the seller cancelled the task while its move was in flight
        session.get(SupplyTask, seller.task_ids[2]).phase = TaskPhase.CANCELLED
    found = {booking.id: booking.move_date for _, booking in booked_supplies(engine, seller.account_id)}
    assert found == {improving: None, paused_mid_move: BETTER.date}
    assert plain not in found
    assert booked_supplies(engine, seller.account_id + 1000) == []


def test_only_a_confirmed_booking_gets_a_move_marker(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task_id = seller.task_ids[0]
    reservation = reserve(engine, seller.user_id, month_key(), 5, task_id)
    assert reservation is not None
    with pytest.raises(QuotaError):
        mark_move_requested(engine, reservation.booking_id, BETTER)
    with session_scope(engine) as session:
        booking = session.get(Booking, reservation.booking_id)
        assert (booking.state, booking.move_requested_at) == (BookingState.RESERVED, None)
