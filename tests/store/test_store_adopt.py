"""Adopting a supply the seller planned by hand (issue 18): booking row, task, notice and event log in ONE
transaction, never counted against the tariff, never a second claim on one supply — on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import col, select

from wbsupply.control.base import Notice
from wbsupply.control.bookings import Adoption, SupplyClaimed, adopt
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.notify.kinds import NoticeKind
from wbsupply.store import Booking, BookingState, SupplyTask, session_scope
from wbsupply.store.journal import EventLog, NotificationOutbox
from wbsupply.store.quota import Usage, month_key, reserve, usage

MakeSeller = Callable[..., Any]
WB_SLOT = Slot(SlotKey(507, dt.date(2026, 12, 10), BoxType.BOXES), 1, True, None, "Коледино")
PREORDER, SUPPLY = 34600007, 26600077


def watching(engine: Engine, seller: Any, task_id: int, preorder_id: int = PREORDER) -> None:
    with session_scope(engine) as session:
        task = session.get(SupplyTask, task_id)
        task.phase = TaskPhase.WATCHING
        task.spec = {"account_id": str(seller.account_id), "preorder_id": preorder_id, "warehouses": [507],
                     "box_type": "boxes", "improve": "earlier"}


def adoption(seller: Any, task_id: int, **changes: Any) -> Adoption:
    notice = Notice(seller.user_id, NoticeKind.BOOKED, f"adopted:{task_id}:{SUPPLY}", {"task_id": task_id})
    values: dict[str, Any] = {"preorder_id": PREORDER, "slot": WB_SLOT, "coefficient": 1.0, "supply_id": SUPPLY,
                              "message": "Поставка по заказу уже запланирована — бот ищет слот лучше",
                              "notice": notice, "payload": {"supply_id": SUPPLY}}
    values.update(changes)
    return Adoption(**values)


def state(engine: Engine, seller: Any, task_id: int) -> tuple[Any, ...]:
    with session_scope(engine) as session:
        task = session.get(SupplyTask, task_id)
        bookings = [(b.state, b.supply_id, b.slot_date, b.coefficient, b.adopted_at is not None, b.account_id)
                    for b in session.exec(select(Booking).where(col(Booking.task_id) == task_id)).all()]
        events = session.exec(select(EventLog.message).where(col(EventLog.task_id) == task_id)).all()
        notices = session.exec(select(NotificationOutbox.kind).where(
            col(NotificationOutbox.user_id) == seller.user_id)).all()
        return (task.phase, task.message, task.booked_date, bookings, usage(engine, seller.user_id, month_key()),
                sorted(set(notices)), list(events))


def test_an_adopted_supply_is_booked_in_one_transaction_and_not_counted(engine: Engine,
                                                                        make_seller: MakeSeller) -> None:
    seller = make_seller()
    task_id = seller.task_ids[0]
    watching(engine, seller, task_id)
    record = adopt(engine, seller.account_id, task_id, adoption(seller, task_id))
    assert record.phase is TaskPhase.BOOKED
    after = state(engine, seller, task_id)
    assert after == (TaskPhase.BOOKED, "Поставка по заказу уже запланирована — бот ищет слот лучше", WB_SLOT.date,
                     [(BookingState.CONFIRMED, SUPPLY, WB_SLOT.date, 1.0, True, seller.account_id)],
                     Usage(used=0, reserved=0), ["booked"], ["planned supply adopted"])
    adopt(engine, seller.account_id, task_id, adoption(seller, task_id))  # a retry changes nothing
    assert state(engine, seller, task_id) == after
    # The task holds its (confirmed) booking: the quota never reserves for it again.
    again = reserve(engine, seller.user_id, month_key(), 5, task_id)
    assert again is not None and again.counted and usage(engine, seller.user_id, month_key()) == Usage()


def test_an_interrupted_adoption_leaves_nothing_half_written(engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller()
    task_id = seller.task_ids[0]
    watching(engine, seller, task_id)
    before = state(engine, seller, task_id)
    broken = adoption(seller, task_id, payload={"not json": object()})  # the event log row cannot be written
    with pytest.raises((StatementError, TypeError)):  # SQLite wraps it, psycopg does not
        adopt(engine, seller.account_id, task_id, broken)
    assert state(engine, seller, task_id) == before  # no booking row, task still watching, no notice, no event
    assert before[0] is TaskPhase.WATCHING and before[3] == []
    assert adopt(engine, seller.account_id, task_id, adoption(seller, task_id)).phase is TaskPhase.BOOKED


def test_a_supply_another_task_holds_is_not_adopted_and_a_paused_task_is_left_alone(
        engine: Engine, make_seller: MakeSeller) -> None:
    seller = make_seller(tasks=3)
    first, second, paused = seller.task_ids
    for task_id in (first, second):
        watching(engine, seller, task_id)
    adopt(engine, seller.account_id, first, adoption(seller, first))
    before = state(engine, seller, second)
    with pytest.raises(SupplyClaimed) as claimed:
        adopt(engine, seller.account_id, second, adoption(seller, second))
    assert (claimed.value.task_id, claimed.value.supply_id) == (first, SUPPLY)
    assert state(engine, seller, second) == before
    with session_scope(engine) as session:  # the seller paused it after the bot looked: it stays paused
        session.get(SupplyTask, paused).spec = {"account_id": str(seller.account_id), "preorder_id": 1,
                                                 "warehouses": [507], "box_type": "boxes", "improve": "earlier"}
    assert adopt(engine, seller.account_id, paused, adoption(seller, paused, preorder_id=1, supply_id=2)
                 ).phase is TaskPhase.PENDING
    assert state(engine, seller, paused)[3] == []
