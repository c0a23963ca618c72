"""Settling a booking: quota, booking row, task, outbox and event log in ONE transaction, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import col, select

from wbsupply.control.base import Notice
from wbsupply.control.bookings import Settlement, mark_plan_requested, settle
from wbsupply.domain.machines import SELLER_PAUSED_MESSAGE
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.notify.kinds import NoticeKind
from wbsupply.store import Booking, BookingState, SupplyTask, session_scope
from wbsupply.store.journal import EventLog, NotificationOutbox
from wbsupply.store.quota import Usage, month_key, reserve, usage

MakeSeller = Callable[..., Any]
SLOT = Slot(SlotKey(507, dt.date(2026, 12, 4), BoxType.BOXES), 15, True, None, "Коледино")


def state(engine: Engine, seller: Any, task_id: int) -> tuple[Any, ...]:
    with session_scope(engine) as session:
        task = session.get(SupplyTask, task_id)
        booking = session.exec(select(Booking).where(col(Booking.task_id) == task_id)).one()
        events = session.exec(select(EventLog.message).where(col(EventLog.task_id) == task_id)).all()
        notices = session.exec(select(NotificationOutbox.kind).where(
            col(NotificationOutbox.user_id) == seller.user_id)).all()
        return (task.phase, task.message, booking.state, booking.supply_id, usage(engine, seller.user_id, month_key()),
                sorted(set(notices)), list(events))


def in_flight(engine: Engine, seller: Any, phase: TaskPhase = TaskPhase.BOOKING, message: str | None = None) -> Any:
    task_id = seller.task_ids[0]
    with session_scope(engine) as session:
        task = session.get(SupplyTask, task_id)
        task.phase, task.message = phase, message
        task.spec = {"account_id": str(seller.account_id), "draft_id": "d", "warehouses": [507], "box_type": "boxes"}
    reservation = reserve(engine, seller.user_id, month_key(), 5, task_id)
    assert reservation is not None
    mark_plan_requested(engine, reservation.booking_id)
    return reservation


def booked(seller: Any, task_id: int, **changes: Any) -> Settlement:
    notice = Notice(seller.user_id, NoticeKind.BOOKED, f"booked:{task_id}", {"task_id": task_id})
    values: dict[str, Any] = {"phase": TaskPhase.BOOKED, "message": "Забронировано", "event": "booked", "slot": SLOT,
                              "supply_id": 26600001, "notices": (notice,)}
    values.update(changes)
    return Settlement(**values)


def test_booked_is_one_transaction_and_idempotent(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task_id = seller.task_ids[0]
    reservation = in_flight(engine, seller)
    record = settle(engine, seller.account_id, reservation.booking_id, booked(seller, task_id))
    assert record.phase is TaskPhase.BOOKED
    after = state(engine, seller, task_id)
    assert after == (TaskPhase.BOOKED, "Забронировано", BookingState.CONFIRMED, 26600001, Usage(used=1, reserved=0),
                     ["booked"], ["booked"])
    settle(engine, seller.account_id, reservation.booking_id, booked(seller, task_id))  # a retry changes nothing
    assert state(engine, seller, task_id) == after


def test_a_failure_inside_settling_leaves_everything_as_it_was(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task_id = seller.task_ids[0]
    reservation = in_flight(engine, seller)
    before = state(engine, seller, task_id)
    broken = booked(seller, task_id, payload={"not json": object()})  # the event log row cannot be written
    with pytest.raises((StatementError, TypeError)):  # SQLite wraps it, psycopg does not
        settle(engine, seller.account_id, reservation.booking_id, broken)
    assert state(engine, seller, task_id) == before  # no quota, no booking, no task change, no notice
    assert before[2] is BookingState.RESERVED and before[4] == Usage(used=0, reserved=1)


def test_lost_releases_and_never_unpauses_a_task_the_seller_paused(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task_id = seller.task_ids[0]
    reservation = in_flight(engine, seller, TaskPhase.PENDING, SELLER_PAUSED_MESSAGE)  # paused after a kill
    settle(engine, seller.account_id, reservation.booking_id,
           Settlement(TaskPhase.WATCHING, "Бронирование прервалось", "interrupted booking released"))
    phase, message, booking_state, _, used, notices, events = state(engine, seller, task_id)
    assert (phase, message, booking_state, used) == (TaskPhase.PENDING, SELLER_PAUSED_MESSAGE, BookingState.RELEASED,
                                                     Usage(used=0, reserved=0))
    assert events == ["interrupted booking released"] and notices == []


def test_not_ours_fails_the_task_with_the_reason(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task_id = seller.task_ids[0]
    reservation = in_flight(engine, seller)
    notice = Notice(seller.user_id, NoticeKind.BOOKING_FAILED, f"failed:{task_id}", {"task_id": task_id})
    settle(engine, seller.account_id, reservation.booking_id,
           Settlement(TaskPhase.FAILED, "Поставка запланирована не на выбранный ботом слот", "booking not ours",
                      notices=(notice,), level="WARNING"))
    assert state(engine, seller, task_id)[:6] == (
        TaskPhase.FAILED, "Поставка запланирована не на выбранный ботом слот", BookingState.RELEASED, None,
        Usage(used=0, reserved=0), ["booking_failed"])


def test_one_supply_is_never_booked_for_two_tasks(engine: Engine, make_seller: MakeSeller) -> None:
    from wbsupply.control.bookings import SupplyClaimed

    seller = make_seller(tasks=2)
    first, second = seller.task_ids
    reservations = []
    for task_id in (first, second):
        with session_scope(engine) as session:
            task = session.get(SupplyTask, task_id)
            task.phase = TaskPhase.BOOKING
            task.spec = {"account_id": str(seller.account_id), "preorder_id": 7, "warehouses": [507],
                         "box_type": "boxes"}
        reservation = reserve(engine, seller.user_id, month_key(), 5, task_id)
        assert reservation is not None
        with session_scope(engine) as session:
            session.get(Booking, reservation.booking_id).preorder_id = 7
        reservations.append(reservation)
    settle(engine, seller.account_id, reservations[0].booking_id, booked(seller, first))
    before = state(engine, seller, second)
    with pytest.raises(SupplyClaimed) as claimed:
        settle(engine, seller.account_id, reservations[1].booking_id, booked(seller, second))
    assert (claimed.value.task_id, claimed.value.supply_id) == (first, 26600001)
    assert state(engine, seller, second) == before  # nothing written for the second task
