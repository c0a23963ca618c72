"""Moving a booked supply (plan/update) when the bot dies mid-move, WB's answer is lost, or the seller moves it.

The move marker is written before plan/update; a restarted bot (or the next reconcile round) asks WB where the
supply is and settles from WB's word: on the new slot → the move, counted once, one «Поставка перенесена»;
on the old slot → "not moved", and the move may be tried again; on a date the bot never asked for → the record
follows WB (not a move of the bot). Whatever happened: WB's supply == the cabinet's booking, and plan/update
is never sent again for a marker WB was not asked about.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bot_harness import (
    WAREHOUSE_ID,
    add_seller,
    add_task,
    bot_config,
    kill_9_at,
    login_through_relay,
    msk_day,
    new_preorder,
    opened,
    phase_of,
    row,
    rows,
    running_bot,
)
from sqlalchemy import Engine

from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.notify.messages import render
from wbsupply.sandbox.faults import Fault
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store import quota
from wbsupply.store.journal import EventLog, NotificationChannel, NotificationOutbox
from wbsupply.store.models import Booking, BookingState, SupplyTask
from wbsupply.testkit import eventually, new_phone
from wbsupply.worker.booking import MOVE_STEPS
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
MOVED_FROM = MOVE_STEPS.index("after_update")  # from this step on WB has the supply on the new slot


async def booked_task(sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed, phone: str,
                      **config: Any) -> tuple[int, int, Any, int, int]:
    """A task that moves its supply to earlier slots, booked on a late slot by a bot that then stops.
    Returns (user id, account id, sandbox seller, preorder id, task id)."""
    market = sandbox.market
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id = new_preorder(market, seller)
    task_id = add_task(db, user_id, account_id, preorder_id, max_coefficient=2, improve="earlier", max_moves=2)
    late = msk_day(market, 12)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox, **config)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
        market.open_slot(WAREHOUSE_ID, late, BoxType.BOXES, coefficient=1)
        await feed.publish([opened(late, coefficient=1)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")
    return user_id, account_id, seller, preorder_id, task_id


def booking_of(db: Engine, task_id: int) -> Booking:
    [booking] = rows(db, Booking, Booking.task_id == task_id)
    return booking


def moved_notices(db: Engine, user_id: int) -> list[NotificationOutbox]:
    return [n for n in rows(db, NotificationOutbox, NotificationOutbox.kind == "booked",
                            NotificationOutbox.channel == NotificationChannel.CABINET,
                            NotificationOutbox.user_id == user_id) if n.payload.get("moved_from")]


def events(db: Engine, task_id: int) -> list[str]:
    return [e.message for e in rows(db, EventLog, EventLog.task_id == task_id)]


def assert_wb_is_the_cabinet(db: Engine, market: Any, user_id: int, seller: Any, preorder_id: int, task_id: int,
                             day: Any, moves: int) -> None:
    """WB's supply (same supply, on ``day``) == the booking row == the task; the move is not a booking."""
    wb = market.preorder(seller.suppliers[0].id, preorder_id)
    booking, task = booking_of(db, task_id), row(db, SupplyTask, task_id)
    assert (wb.status_id, wb.supply_date) == (2, day)
    assert (booking.state, booking.supply_id, booking.slot_date) == (BookingState.CONFIRMED, wb.supply_id, day)
    assert (booking.move_date, booking.move_requested_at) == (None, None), "the move marker is settled"
    assert (task.phase, task.booked_date, task.moves) == (TaskPhase.BOOKED, day, moves)
    assert quota.usage(db, user_id, quota.month_key()) == quota.Usage(used=1, reserved=0)


@pytest.mark.parametrize("step", MOVE_STEPS)
async def test_kill_9_at_every_step_of_a_move_ends_with_wb_and_the_cabinet_agreeing(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, sqlite_database_url: str, feed: MemoryFeed,
    tmp_path: Path, step: str,
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller, preorder_id, task_id = await booked_task(sandbox, host, db, feed, phone)
    supplier = seller.suppliers[0].id
    late, early = booking_of(db, task_id).slot_date, msk_day(market, 3 + MOVE_STEPS.index(step))
    market.open_slot(WAREHOUSE_ID, early, BoxType.BOXES, capacity=3)

    await kill_9_at(step, sandbox, account_id, opened(early), sqlite_database_url, tmp_path)

    wb_moved = MOVE_STEPS.index(step) >= MOVED_FROM
    assert market.preorder(supplier, preorder_id).supply_date == (early if wb_moved else late)
    killed = booking_of(db, task_id)
    if step == "move_settled":  # settled in one transaction before the kill: marker gone with it
        assert (killed.slot_date, killed.move_date, row(db, SupplyTask, task_id).moves) == (early, None, 1)
    else:  # the marker a restarted bot settles from; the record still shows the old slot
        assert (killed.slot_date, killed.move_date, row(db, SupplyTask, task_id).moves) == (late, early, 0)

    async with running_bot(account_id, db, feed, host, bot_config(sandbox, reconcile_s=0.5)) as running:
        await eventually(lambda: running.bot.authorized and booking_of(db, task_id).move_date is None,
                         what="move reconciled")
        if not wb_moved:  # WB left the supply where it was: "not moved", and the better slot is taken now
            assert booking_of(db, task_id).slot_date == late and "supply not moved" in events(db, task_id)
        await feed.publish([opened(early)])  # a careless bot would move (or count the move) a second time here
        await eventually(lambda: row(db, SupplyTask, task_id).booked_date == early, what="moved")
        await feed.publish([opened(early)])
        await asyncio.sleep(1.0)

    assert_wb_is_the_cabinet(db, market, user_id, seller, preorder_id, task_id, early, moves=1)
    [notice] = moved_notices(db, user_id)
    assert render(notice.kind, notice.payload, "").title == "Поставка перенесена"
    assert events(db, task_id).count("supply moved") == 1
    updates = [c for c in market.faults.update_calls if c.supplier_id == supplier]
    assert [(c.date, c.outcome) for c in updates] == [(early, "moved")]  # one plan/update, whenever the kill


async def test_a_lost_answer_and_wb_silent_for_a_while_keep_the_marker_until_wb_tells(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    """plan/update moved the supply, the answer was lost and WB could not be asked for 6 s (fault ``blind``):
    «проверим позже» keeps the marker, the reconcile rounds ask WB again and settle the move once WB tells; the
    better slot, still offered, is never sent to plan/update a second time meanwhile."""
    market = sandbox.market
    phone = new_phone()
    config = {"reconcile_s": 0.5}
    user_id, account_id, seller, preorder_id, task_id = await booked_task(sandbox, host, db, feed, phone, **config)
    supplier = seller.suppliers[0].id
    late, early = booking_of(db, task_id).slot_date, msk_day(market, 4)
    market.open_slot(WAREHOUSE_ID, early, BoxType.BOXES, capacity=3)
    market.faults.add(Fault("blind", delay_s=6.0, supplier_id=supplier, method="plan/update"))
    async with running_bot(account_id, db, feed, host, bot_config(sandbox, **config)) as running:
        await eventually(lambda: running.bot.authorized, what="authorized")
        await feed.publish([opened(early)])
        await eventually(lambda: booking_of(db, task_id).move_date == early, what="move marker")
        await eventually(lambda: [c.outcome for c in market.faults.update_calls if c.supplier_id == supplier]
                         == ["moved"], what="plan/update sent")
        await asyncio.sleep(2.0)  # nothing changes while WB cannot tell: the record waits, the marker stays
        assert market.faults.is_blind(supplier)
        assert (booking_of(db, task_id).slot_date, booking_of(db, task_id).move_date) == (late, early)
        assert row(db, SupplyTask, task_id).booked_date == late
        await feed.publish([opened(early)])  # offered again while the marker waits: never sent blindly
        await eventually(lambda: row(db, SupplyTask, task_id).booked_date == early, within=30,
                         what="move settled once WB tells")
        await asyncio.sleep(1.0)
    assert_wb_is_the_cabinet(db, market, user_id, seller, preorder_id, task_id, early, moves=1)
    assert len(moved_notices(db, user_id)) == 1 and events(db, task_id).count("supply moved") == 1
    assert [c.outcome for c in market.faults.update_calls if c.supplier_id == supplier] == ["moved"]


@pytest.mark.parametrize("kind", ["fail_after", "fail_before"])
async def test_a_lost_or_refused_plan_update_is_settled_from_wb_at_once(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed, kind: str
) -> None:
    """fail_after: WB moved, the answer was lost → WB's record makes it the move. fail_before: WB moved nothing
    → "not moved", the marker goes, and the next offer of the slot moves it."""
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller, preorder_id, task_id = await booked_task(sandbox, host, db, feed, phone)
    supplier = seller.suppliers[0].id
    early = msk_day(market, 5)
    market.open_slot(WAREHOUSE_ID, early, BoxType.BOXES, capacity=3)
    market.faults.add(Fault(kind, supplier_id=supplier, method="plan/update"))
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)) as running:
        await eventually(lambda: running.bot.authorized, what="authorized")
        await feed.publish([opened(early)])
        if kind == "fail_before":
            await eventually(lambda: "supply not moved" in events(db, task_id), what="not moved")
            assert booking_of(db, task_id).move_date is None
            await feed.publish([opened(early)])
        await eventually(lambda: row(db, SupplyTask, task_id).booked_date == early, what="moved")
    assert_wb_is_the_cabinet(db, market, user_id, seller, preorder_id, task_id, early, moves=1)
    assert len(moved_notices(db, user_id)) == 1
    assert [c.outcome for c in market.faults.update_calls if c.supplier_id == supplier] == ["moved"]


async def test_a_supply_the_seller_moved_by_hand_in_wb_is_followed_not_counted(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    config = {"reconcile_s": 0.5, "moves_check_s": 1.0}
    user_id, account_id, seller, preorder_id, task_id = await booked_task(sandbox, host, db, feed, phone, **config)
    supplier = seller.suppliers[0].id
    elsewhere = msk_day(market, 14)
    market.open_slot(WAREHOUSE_ID, elsewhere, BoxType.BOXES, coefficient=1)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox, **config)) as running:
        await eventually(lambda: running.bot.authorized, what="authorized")
        market.reschedule(supplier, preorder_id, elsewhere)  # the seller, in WB's cabinet
        await eventually(lambda: row(db, SupplyTask, task_id).booked_date == elsewhere, what="followed WB")
        await asyncio.sleep(2.0)  # later checks find nothing new
    assert_wb_is_the_cabinet(db, market, user_id, seller, preorder_id, task_id, elsewhere, moves=0)
    notices = [n for n in rows(db, NotificationOutbox, NotificationOutbox.kind == "booked",
                               NotificationOutbox.channel == NotificationChannel.CABINET,
                               NotificationOutbox.user_id == user_id) if n.payload.get("wb_moved")]
    assert len(notices) == 1
    message = render(notices[0].kind, notices[0].payload, "")
    assert message.title == "WB показывает поставку на другую дату" and elsewhere.isoformat() in message.text
    assert events(db, task_id).count("supply moved outside the bot") == 1 and "supply moved" not in events(db, task_id)
    assert [c for c in market.faults.update_calls if c.supplier_id == supplier] == []  # the bot moved nothing

