"""``kill -9`` of the worker at every step of a booking, from the quota reservation to the notification.

Each run freezes a real worker process at one step (``WBSUPPLY_TEST_CRASH_POINT``), kills its whole process
group with SIGKILL, restarts the bot and offers the slot again. Whatever the step, it ends with: WB's
bookings == the cabinet's bookings, usage == confirmed bookings, and no second ``plan/add``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from bot_harness import (
    WAREHOUSE_ID,
    add_seller,
    bot_config,
    kill_9_at,
    login_through_relay,
    msk_day,
    opened,
    phase_of,
    row,
    rows,
    running_bot,
)
from invariants import assert_booking_truth
from sqlalchemy import Engine

from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store.engine import session_scope
from wbsupply.store.journal import NotificationOutbox
from wbsupply.store.models import Booking, BookingState, SupplyTask
from wbsupply.testkit import eventually, new_phone
from wbsupply.worker.booking import STEPS
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
PLANNED_FROM = STEPS.index("after_plan")  # from this step on WB has the booking when the worker dies


def draft_task(db: Engine, market: object, user_id: int, account_id: int, seller: object) -> int:
    draft = market.create_draft(seller.suppliers[0].id, [("2040000000017", 10)])  # type: ignore[attr-defined]
    spec = {"account_id": str(account_id), "draft_id": draft.id, "warehouses": [WAREHOUSE_ID], "box_type": "boxes",
            "max_coefficient": 0, "mode": "book"}
    with session_scope(db) as session:
        task = SupplyTask(owner_id=user_id, account_id=account_id, spec=spec, plan_rank=1,
                          claim_key=f"draft:{draft.id}")
        session.add(task)
        session.flush()
        assert task.id is not None
        return task.id


@pytest.mark.parametrize("step", STEPS)
async def test_kill_9_at_every_step_ends_with_wb_and_the_cabinet_agreeing(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, sqlite_database_url: str, feed: MemoryFeed,
    tmp_path: Path, step: str,
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    task_id = draft_task(db, market, user_id, account_id, seller)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
    day = msk_day(market, 2 + STEPS.index(step))
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=3)

    await kill_9_at(step, sandbox, account_id, opened(day), sqlite_database_url, tmp_path)

    supplier = seller.suppliers[0].id
    planned = [p for p in market.list_preorders(supplier) if p.status_id == 2]
    assert len(planned) == (1 if STEPS.index(step) >= PLANNED_FROM else 0)
    [marker] = rows(db, Booking, Booking.task_id == task_id)
    if step == "settled":
        assert marker.state is BookingState.CONFIRMED  # settled in one transaction before the kill
    else:
        assert marker.state is BookingState.RESERVED  # the crash marker the restart finishes from

    async with running_bot(account_id, db, feed, host, bot_config(sandbox)) as running:
        # Reconciled to Booked, or released and back to watching: then the slot (still free) is booked.
        await eventually(lambda: running.bot.authorized and not rows(
            db, Booking, Booking.task_id == task_id, Booking.state == BookingState.RESERVED), what="reconciled")
        await eventually(lambda: phase_of(db, task_id) in (TaskPhase.BOOKED, TaskPhase.WATCHING), what="settled")
        if phase_of(db, task_id) is TaskPhase.WATCHING:
            assert STEPS.index(step) < PLANNED_FROM  # a booking WB has is never given up
        await feed.publish([opened(day)])  # a careless bot would book (or count) a second time here
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked")
        await eventually(lambda: rows(db, NotificationOutbox, NotificationOutbox.kind == "booked",
                                      NotificationOutbox.user_id == user_id), what="booked notice")
        await feed.publish([opened(day)])
        await asyncio.sleep(0.5)

    [confirmed] = assert_booking_truth(db, market, user_id, seller)
    assert confirmed.task_id == task_id and confirmed.slot_date == day
    assert row(db, SupplyTask, task_id).booked_date == day
    booked_calls = [c for c in market.faults.calls if c.supplier_id == supplier and c.outcome == "booked"]
    assert len(booked_calls) == 1  # one plan/add that booked, whatever was killed when

