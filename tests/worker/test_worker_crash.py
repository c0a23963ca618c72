"""A worker killed (-9) between WB accepting ``plan/add`` and its own bookkeeping: the restart reconciles."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from bot_harness import (
    SECRET,
    WAREHOUSE_ID,
    add_seller,
    add_task,
    bot_config,
    eventually,
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

from wbsupply.domain.statuses import BotStatus, BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.sandbox.app import RunningSandbox
from wbsupply.store import quota
from wbsupply.store.models import Booking, BookingState, SupplyTask, WbAccount
from wbsupply.worker.booking import CRASH_POINT_ENV
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
RUNNER = Path(__file__).with_name("crash_worker.py")


async def test_kill_after_plan_add_reconciles_to_exactly_one_booking(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, sqlite_database_url: str, feed: MemoryFeed,
    tmp_path: Path,
) -> None:
    market = sandbox.market
    phone = "+79290000001"
    user_id, account_id, seller = add_seller(db, market, phone)
    preorder_id = new_preorder(market, seller)
    task_id = add_task(db, user_id, account_id, preorder_id)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
    day = msk_day(market, 2)
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=3)

    env = {k: v for k, v in os.environ.items() if not k.startswith("WBSUPPLY_")}
    env.update(WBSUPPLY_DATABASE_URL=sqlite_database_url, WBSUPPLY_SECRET_KEY=SECRET,
               WBSUPPLY_WB_CABINET_URL=sandbox.url, WBSUPPLY_WB_SUPPLIES_API_URL=sandbox.url,
               WBSUPPLY_DATA_DIR=str(tmp_path), **{CRASH_POINT_ENV: "after_plan"})
    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(RUNNER), str(account_id), json.dumps(opened(day)), env=env,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        await asyncio.wait_for(_wait_for_line(worker, "CRASH POINT after_plan reached"), 60)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker, its Playwright driver and its Chromium
        await asyncio.wait_for(worker.wait(), 10)

    # WB has the booking; our books only have the marker.
    assert market.preorder(seller.suppliers[0].id, preorder_id).status_id == 2
    [marker] = rows(db, Booking, Booking.task_id == task_id)
    assert (marker.state, marker.preorder_id, marker.slot_date) == (BookingState.RESERVED, preorder_id, day)
    assert phase_of(db, task_id) is TaskPhase.BOOKING

    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="reconciled")
        await feed.publish([opened(day)])  # the slot still has room: a careless bot would book again
        await eventually(lambda: row(db, WbAccount, account_id).status is BotStatus.ACTIVE)

    ours = [b for b in market.bookings() if b.preorder_id == preorder_id]
    assert len(ours) == 1
    [booking] = rows(db, Booking, Booking.task_id == task_id)
    assert (booking.state, booking.supply_id) == (BookingState.CONFIRMED, ours[0].supply_id)
    assert quota.usage(db, user_id, booking.month) == quota.Usage(used=1, reserved=0)
    assert row(db, SupplyTask, task_id).booked_date == day


async def _wait_for_line(process: asyncio.subprocess.Process, wanted: str) -> None:
    assert process.stderr is not None
    seen = []
    while line := (await process.stderr.readline()).decode():
        if wanted in line:
            return
        seen.append(line)
    raise AssertionError(f"the worker ended before {wanted!r}; its stderr:\n{''.join(seen[-30:])}")
