"""Issue 18: a task whose preorder the seller already planned by hand. With «После бронирования переносить
поставку» the bot adopts WB's supply as it is (booked, never counted against the tariff, never sent to
plan/add) and moves it with plan/update when a better slot opens; without it the task stops and says how to get
there, and «Исправить и запустить» with the option adopts it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bot_harness import (
    WAREHOUSE_ID,
    add_seller,
    add_task,
    bot_config,
    login_through_relay,
    msk_day,
    new_preorder,
    opened,
    phase_of,
    row,
    rows,
    running_bot,
)
from invariants import assert_booking_truth
from sqlalchemy import Engine

from wbsupply.domain.ruformat import ru_date
from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.notify.messages import render
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store import quota
from wbsupply.store.engine import session_scope
from wbsupply.store.journal import EventLog, NotificationChannel, NotificationOutbox
from wbsupply.store.models import Booking, BookingState, SupplyTask, User, WbAccount
from wbsupply.testkit import eventually, new_phone
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def planned_by_hand(market: Any, seller: Any, days_ahead: int) -> tuple[int, int, dt.date]:
    """A preorder the seller planned in WB's cabinet themselves; returns (preorder, supply, date)."""
    preorder_id = new_preorder(market, seller)
    planned = market.plan_by_hand(seller.suppliers[0].id, preorder_id, msk_day(market, days_ahead - 1))
    assert planned is not None and planned.supply_date == msk_day(market, days_ahead)
    return preorder_id, planned.supply_id, planned.supply_date


def wb_calls(market: Any, seller: Any, *, update: bool = False) -> list[Any]:
    """Every plan/add (``update``: plan/update) the sandbox received for the seller (it records each one)."""
    suppliers = {s.id for s in seller.suppliers}
    return [c for c in (market.faults.update_calls if update else market.faults.calls) if c.supplier_id in suppliers]


def cabinet_notices(db: Engine, user_id: int, kind: str) -> list[NotificationOutbox]:
    return rows(db, NotificationOutbox, NotificationOutbox.kind == kind, NotificationOutbox.user_id == user_id,
                NotificationOutbox.channel == NotificationChannel.CABINET)


async def test_a_task_that_improves_adopts_the_planned_supply_and_moves_it_when_a_better_slot_opens(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    supplier_id = seller.suppliers[0].id
    preorder_id, supply_id, late = planned_by_hand(market, seller, 10)
    task_id = add_task(db, user_id, account_id, preorder_id, improve="earlier", max_moves=1)
    early = msk_day(market, 4)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="adopted")
        # Adopted as WB has it: the same supply, its date, no plan/add, nothing counted.
        task = row(db, SupplyTask, task_id)
        assert (task.booked_date, task.booked_warehouse_id, task.booked_coefficient) == (late, WAREHOUSE_ID, 0)
        assert task.message == (f"Поставка по заказу {preorder_id} уже запланирована на {ru_date(late)} "
                                f"(Коледино, поставка № {supply_id}) — бот ищет слот лучше. "
                                "Бронирование тарифа не списано")
        [booking] = rows(db, Booking, Booking.task_id == task_id)
        assert (booking.state, booking.supply_id, booking.slot_date, booking.plan_requested_at) == (
            BookingState.CONFIRMED, supply_id, late, None)
        assert booking.adopted_at is not None and booking.account_id == account_id
        assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=0, reserved=0)
        assert wb_calls(market, seller) == [] and wb_calls(market, seller, update=True) == []
        [notice] = cabinet_notices(db, user_id, "booked")
        message = render(notice.kind, notice.payload, "")
        assert message.title == "Ищем слот лучше" and "бот ищет слот лучше" in message.text
        assert any(e.message == "planned supply adopted" for e in rows(db, EventLog, EventLog.task_id == task_id))

        market.open_slot(WAREHOUSE_ID, early, BoxType.BOXES, coefficient=0)
        await feed.publish([opened(early)])
        await eventually(lambda: row(db, SupplyTask, task_id).booked_date == early, what="moved")
    planned = market.preorder(supplier_id, preorder_id)
    assert (planned.supply_id, planned.supply_date, planned.status_id) == (supply_id, early, 2)
    assert [(c.preorder_id, c.date, c.outcome) for c in wb_calls(market, seller, update=True)] == [
        (preorder_id, early, "moved")]
    assert wb_calls(market, seller) == []
    assert [(b.supply_id, b.date, b.by_hand, b.rescheduled) for b in market.bookings()
            if b.preorder_id == preorder_id] == [(supply_id, late, True, False), (supply_id, early, False, True)]
    [booking] = rows(db, Booking, Booking.task_id == task_id)
    assert (booking.state, booking.slot_date, booking.supply_id) == (BookingState.CONFIRMED, early, supply_id)
    task = row(db, SupplyTask, task_id)
    assert (task.phase, task.moves, task.booked_date) == (TaskPhase.BOOKED, 1, early)
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=0, reserved=0), "adopted: never counted"
    assert render("booked", cabinet_notices(db, user_id, "booked")[-1].payload, "").title == "Поставка перенесена"
    assert assert_booking_truth(db, market, user_id, seller) == []  # the bot booked nothing itself


async def test_without_improve_the_task_stops_with_the_way_out_and_the_fixed_task_adopts_it(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    from wbsupply.api.logic.tasks import update_task

    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id, supply_id, day = planned_by_hand(market, seller, 9)
    task_id = add_task(db, user_id, account_id, preorder_id)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.FAILED, what="stopped")
        message = row(db, SupplyTask, task_id).message or ""
        assert message.startswith(f"Поставка по заказу {preorder_id} уже запланирована в кабинете WB (Коледино, "
                                  f"{ru_date(day)}, поставка № {supply_id})")
        assert "нажмите «Исправить и запустить», включите «После бронирования переносить поставку»" in message
        assert rows(db, Booking, Booking.task_id == task_id) == []
        assert wb_calls(market, seller) == [] and wb_calls(market, seller, update=True) == []
        [failed] = cabinet_notices(db, user_id, "booking_failed")
        assert "«После бронирования переносить поставку»" in render(failed.kind, failed.payload, "").text
        # The form's list shows the planned preorder as one the bot can move (read from the cabinet).
        listed = await eventually(lambda: next((p for p in row(db, WbAccount, account_id).cabinet_supplies.get(
            "preorders", []) if p["id"] == preorder_id), None), what="listed")
        assert (listed["planned"], listed["supply_id"], listed["supply_date"][:10]) == (True, supply_id, str(day))
        market.open_slot(WAREHOUSE_ID, msk_day(market, 3), BoxType.BOXES)
        await feed.publish([opened(msk_day(market, 3))])  # a fitting slot: a failed task books nothing

        with session_scope(db) as session:  # «Исправить и запустить» with the option on
            user = session.get(User, user_id)
            assert user is not None
            update_task(session, user, task_id, {"improve": "cheaper"})
        assert phase_of(db, task_id) is TaskPhase.PENDING
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="adopted after the fix")
    assert wb_calls(market, seller) == []  # never plan/add
    assert wb_calls(market, seller, update=True) == []  # never plan/update: nothing is cheaper than free
    assert [(b.supply_id, b.date, b.rescheduled) for b in market.bookings() if b.preorder_id == preorder_id] == [
        (supply_id, day, False)]
    [booking] = rows(db, Booking, Booking.task_id == task_id)
    assert (booking.supply_id, booking.slot_date, booking.adopted_at is not None) == (supply_id, day, True)
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=0, reserved=0)
    assert_booking_truth(db, market, user_id, seller)
