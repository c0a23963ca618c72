"""The embedded runtime's supervisor: one bot per WB account, all in one shared browser."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from bot_harness import SECRET, add_seller, login_through_relay, row
from sqlalchemy import Engine

from wbsupply.config import Settings
from wbsupply.domain.statuses import BotStatus
from wbsupply.feed.memory import MemoryFeed
from wbsupply.process import ProcessContext
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store.engine import begin_immediate, session_scope
from wbsupply.store.models import WbAccount
from wbsupply.testkit import eventually, new_phone
from wbsupply.worker.main import Supervisor

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


async def test_supervisor_runs_a_bot_per_account_in_one_browser(
    sandbox: RunningSandbox, db: Engine, sqlite_database_url: str, tmp_path: Path
) -> None:
    market = sandbox.market
    _, first, first_seller = add_seller(db, market, new_phone())
    _, second, _ = add_seller(db, market, new_phone())
    settings = Settings(database_url=sqlite_database_url, data_dir=tmp_path, secret_key=SECRET,
                        wb_cabinet_url=sandbox.url, wb_supplies_api_url=sandbox.url)
    runtime = ProcessContext(settings=settings, feed=MemoryFeed())
    supervisor = Supervisor(runtime)
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))
    try:
        for account in (first, second):
            await eventually(lambda a=account: row(db, WbAccount, a).status is BotStatus.WAITING_AUTH)
        await login_through_relay(db, market, first, first_seller.phone)
        assert runtime.status["supervisor"] == "2 bot(s)"
        assert supervisor._host is not None and len(supervisor._host.browser.contexts) == 2

        with session_scope(begin_immediate(db)) as session:  # the seller stops the second bot in the cabinet
            account = session.get(WbAccount, second)
            assert account is not None
            account.status = BotStatus.STOPPED
        await eventually(lambda: len(supervisor._host.browser.contexts) == 1, what="second bot stopped")
        assert runtime.worker_health.report()[0]

        restarts_before = row(db, WbAccount, first).restart_count
        with session_scope(begin_immediate(db)) as session:  # the admin presses «Перезапустить»
            account = session.get(WbAccount, first)
            assert account is not None
            account.next_restart_at = dt.datetime.now(dt.UTC)
        await eventually(lambda: row(db, WbAccount, first).restart_count == restarts_before + 1, what="restart")
        assert row(db, WbAccount, first).last_restart_reason == "restart requested"
        await eventually(lambda: row(db, WbAccount, first).status is BotStatus.ACTIVE, what="back after restart")
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert supervisor._host is None or not supervisor._host.connected
