"""Keeping the WB session: silent refreshes, automatic re-authorization, and pausing after 3 failures."""

from __future__ import annotations

import pytest
from bot_harness import (
    WAREHOUSE_ID,
    add_admin,
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
    status_of,
)
from sqlalchemy import Engine

from wbsupply.domain.statuses import BotStatus, BoxType, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.notify.messages import render
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store.journal import EventLog, NotificationOutbox
from wbsupply.store.models import WbAccount
from wbsupply.testkit import eventually, new_phone
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


async def test_lost_session_is_restored_from_the_saved_state_and_booking_goes_on(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    user_id, account_id, seller = add_seller(db, market, phone)
    task_id = add_task(db, user_id, account_id, new_preorder(market, seller))
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)) as running:
        await login_through_relay(db, market, account_id, phone)
        codes = len(market.inbox(phone))
        # WB drops the access token, and the bot's browser loses its cookies (a crashed tab, a cleared jar):
        # only the refresh token saved (encrypted) in the database can bring the session back.
        market.expire_sessions(seller.id, include_refresh=False)
        assert running.bot.context is not None
        await running.bot.context.clear_cookies()
        await eventually(lambda: any("re-authorized" in e.message for e in _log(db, account_id)), what="re-auth")
        assert row(db, WbAccount, account_id).status is BotStatus.ACTIVE
        assert row(db, WbAccount, account_id).auth_attempts == 0

        day = msk_day(market, 2)
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES)
        await feed.publish([opened(day)])
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked after re-auth")
    assert len(market.inbox(phone)) == codes  # no new SMS code was needed


async def test_three_failed_reauthorizations_pause_the_bot_and_notify(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    admin_id = add_admin(db)
    user_id, account_id, seller = add_seller(db, market, phone)
    task_id = add_task(db, user_id, account_id, new_preorder(market, seller))
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.WATCHING)
        market.expire_sessions(seller.id, include_refresh=True)  # WB ended the login for good
        await eventually(lambda: row(db, WbAccount, account_id).status is BotStatus.WAITING_AUTH, within=40,
                         what="waiting auth")
        assert phase_of(db, task_id) is TaskPhase.PENDING  # booking paused

        day = msk_day(market, 3)  # a slot now is not booked by a bot without a session
        market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES)
        await feed.publish([opened(day)])
        await eventually(lambda: row(db, WbAccount, account_id).last_heartbeat_at, what="loop alive")

        # The seller reconnects in our cabinet: the bot resumes the task.
        await login_through_relay(db, market, account_id, phone)
        await eventually(lambda: phase_of(db, task_id) is TaskPhase.BOOKED, what="booked after reconnect")

    failures = [e.message for e in _log(db, account_id) if "re-authorization" in e.message]
    assert failures == [f"automatic re-authorization {n} failed" for n in (1, 2, 3)]
    assert any(e.level == "ERROR" and "paused" in e.message for e in _log(db, account_id))
    lost = rows(db, NotificationOutbox, NotificationOutbox.kind == "auth_lost")
    assert {n.user_id for n in lost} == {user_id, admin_id}
    assert {n.channel.value for n in lost if n.user_id == user_id} == {"cabinet", "telegram", "email"}
    assert "Подключите аккаунт в кабинете" in render(lost[0].kind, lost[0].payload, "").text
    assert status_of(db, account_id).auth_state == "authorized"


def _log(engine: Engine, account_id: int) -> list[EventLog]:
    return rows(engine, EventLog, EventLog.account_id == account_id)
