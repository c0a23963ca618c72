"""Slots on today's WB (public coefficients API off), end to end with real bots in a real Chromium:

- a monitor account (an admin's WB login, connected through the same relay as a seller's) feeds the
  cabinet report source, which detects an opened slot, and a seller's task books it;
- with no monitor account and no monitor at all, the seller's own bot reads its preorder's calendar and
  books the slot itself.
"""

from __future__ import annotations

import asyncio

import pytest
from bot_harness import (
    SECRET,
    WAREHOUSE_ID,
    add_admin,
    add_seller,
    add_task,
    bot_config,
    login_through_relay,
    msk_day,
    new_preorder,
    phase_of,
    running_bot,
)
from sqlalchemy import Engine

from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.monitor.clock import RealClock
from wbsupply.monitor.pool import TokenPool
from wbsupply.monitor.roster import DbRoster
from wbsupply.monitor.service import Monitor
from wbsupply.monitor.sources import CabinetSource, PublicApiSource, SourceSwitch
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store.monitor_accounts import add_monitor_account, monitor_accounts
from wbsupply.testkit import eventually, new_phone
from wbsupply.wb.api_client import WbApiClient
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

NO_OWN_CHECKS = 3600.0  # a bot that practically never reads calendars itself: only the monitor can tell it


async def test_api_off_a_monitor_account_detects_the_slot_and_a_seller_task_books_it(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    market.public_api_disabled = True
    monitor_phone, seller_phone = new_phone(), new_phone()
    watcher = market.create_seller(name="monitor", phone=monitor_phone)
    monitor_account = add_monitor_account(db, add_admin(db), monitor_phone)
    user_id, account_id, seller = add_seller(db, market, seller_phone)
    task_id = add_task(db, user_id, account_id, new_preorder(market, seller))
    api = PublicApiSource(WbApiClient(sandbox.url), TokenPool.of([watcher.api_token], 12.0), RealClock())
    cabinet = CabinetSource(DbRoster(db, SECRET, sandbox.url), 4.0, roster_refresh_s=1.0)
    monitor = Monitor(SourceSwitch(api, cabinet), feed, interval_s=4.0, warehouses={WAREHOUSE_ID})
    stop = asyncio.Event()
    polling = asyncio.create_task(monitor.run(stop))
    day = msk_day(market, 20)  # beyond the public API's 14 days anyway
    try:
        async with (running_bot(monitor_account, db, feed, host, bot_config(sandbox)),
                    running_bot(account_id, db, feed, host, bot_config(sandbox, calendar_check_s=NO_OWN_CHECKS))):
            await login_through_relay(db, market, monitor_account, monitor_phone)
            await login_through_relay(db, market, account_id, seller_phone)
            await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
            await eventually(lambda: monitor.health()["ready"] and monitor.last_source == "cabinet", within=30,
                             what="the cabinet source polling through the monitor account")
            market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0)
            await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, within=30, what="booked")
    finally:
        stop.set()
        await polling
        await api.aclose()
        await cabinet.aclose()
        market.public_api_disabled = False
    health = monitor.health()
    assert (health["source"], health["wb_api"], health["monitor_accounts"]) == ("cabinet", "disabled", 1)
    [view] = monitor_accounts(db)
    assert view.last_ok_at is not None and view.usable
    [booking] = [b for b in market.bookings() if b.seller_id == seller.id]
    assert (booking.warehouse_id, booking.date) == (WAREHOUSE_ID, day)


async def test_no_monitor_account_the_sellers_own_bot_catches_and_books_the_slot(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    market.public_api_disabled = True
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    task_id = add_task(db, user_id, account_id, new_preorder(market, seller))
    day = msk_day(market, 5)
    try:
        async with running_bot(account_id, db, feed, host, bot_config(sandbox, calendar_check_s=1.0)) as running:
            await login_through_relay(db, market, account_id, phone)
            await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING, what="watching")
            await eventually(lambda: running.bot.calendar.requests >= 2, what="the bot reading its calendar")
            market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0)
            await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, within=30, what="booked")
            assert running.bot.calendar.found >= 1
    finally:
        market.public_api_disabled = False
    assert await feed.read("0-0") == []  # no monitor ever said a word: the bot found it on its own
    assert [b.date for b in market.bookings() if b.seller_id == seller.id] == [day]
