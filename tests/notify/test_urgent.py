"""Urgent alerts repeat until «Принято» is pressed; quiet hours (Moscow) keep reminders and sounds away."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from notify_helpers import CHAT, Running, add_account, add_seller
from sqlalchemy import Engine
from sqlmodel import col, select
from telegram_double import TelegramDouble

from wbsupply.domain.schedule import MOSCOW
from wbsupply.notify.outbox import enqueue
from wbsupply.notify.settings import NotifierSettings
from wbsupply.store import EventLog, WbAuthRequest, session_scope
from wbsupply.store.journal import NotificationChannel, NotificationOutbox, OutboxStatus
from wbsupply.store.types import utcnow
from wbsupply.testkit import eventually, new_phone

Settings = Callable[..., NotifierSettings]
TELEGRAM = [NotificationChannel.TELEGRAM]


def _auth_lost(engine: Engine, user_id: int, account_id: int = 1) -> None:
    with session_scope(engine) as session:
        enqueue(session, user_id, "auth_lost", {"account_id": account_id, "phone": new_phone()},
                f"auth_lost:{account_id}:1", TELEGRAM)


def _reminder_due(engine: Engine) -> dt.datetime | None:
    with session_scope(engine) as session:
        row = session.exec(select(NotificationOutbox).where(
            col(NotificationOutbox.dedup_key).endswith("#r1"))).first()
        return None if row is None else row.next_attempt_at


async def test_urgent_alert_repeats_until_acknowledged(sqlite_engine: Engine, double: TelegramDouble,
                                                       make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    _auth_lost(sqlite_engine, user_id)
    async with Running(sqlite_engine, make_settings(urgent_repeat_seconds=0.3, urgent_max_repeats=10)) as running:
        await running.until_polling()
        await double.wait_for(lambda: len(double.messages) == 2)
        first, reminder = double.messages
        assert "Нужен вход в WB" in first.text and "Напоминание 1: Нужен вход в WB" in reminder.text
        ack = next(data for data in reminder.callback_data if data.startswith("ack:"))
        assert first.callback_data == ["reconnect:1", ack]  # every message of the chain acknowledges the chain
        double.user_presses(CHAT, reminder, ack)
        await double.wait_for(lambda: double.answers)
        await asyncio.sleep(1.0)  # three more intervals: nothing may arrive
    assert double.answers[0]["text"] == "Принято, больше не напоминаю"
    assert reminder.reply_markup in (None, {}, "")  # the buttons were removed
    assert len(double.messages) in (2, 3)  # at most the reminder that was already on its way
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(NotificationOutbox).where(
            NotificationOutbox.status == OutboxStatus.PENDING)).all() == []
        assert "acknowledged" in session.exec(select(EventLog)).one().message


async def test_reminders_stop_after_the_configured_number(sqlite_engine: Engine, double: TelegramDouble,
                                                          make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    _auth_lost(sqlite_engine, user_id)
    async with Running(sqlite_engine, make_settings(urgent_repeat_seconds=0.1, urgent_max_repeats=3)) as running:
        await running.until_polling()
        await double.wait_for(lambda: len(double.messages) == 4)
        await asyncio.sleep(0.5)
    assert [m.text.split(":")[0][3:] for m in double.messages[1:]] == [
        "Напоминание 1", "Напоминание 2", "Напоминание 3"]


async def test_sending_the_wb_code_acknowledges_the_alert(sqlite_engine: Engine, double: TelegramDouble,
                                                          make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    account_id = add_account(sqlite_engine, user_id, auth_state="code_sent")
    _auth_lost(sqlite_engine, user_id, account_id)
    async with Running(sqlite_engine, make_settings(urgent_repeat_seconds=0.4, urgent_max_repeats=10)) as running:
        await running.until_polling()
        await double.wait_for(lambda: len(double.messages) == 2)
        double.user_sends(CHAT, "654321")
        await double.wait_for(lambda: any("Код передан" in m.text for m in double.messages))
        count = len(double.messages)
        await asyncio.sleep(1.0)
    assert len(double.messages) <= count + 1
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(WbAuthRequest)).one().value == "654321"


async def test_quiet_hours_silence_messages_and_hold_reminders_until_morning(
        sqlite_engine: Engine, double: TelegramDouble, make_settings: Settings) -> None:
    tomorrow = utcnow().astimezone(MOSCOW).date() + dt.timedelta(days=1)
    night = dt.datetime.combine(tomorrow, dt.time(23, 30), tzinfo=MOSCOW)
    morning = dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time(8, 0), tzinfo=MOSCOW)
    shift = [night - utcnow()]  # a clock that runs in real time, but from 23:30 Moscow time

    def clock() -> dt.datetime:
        return utcnow() + shift[0]

    user_id = add_seller(sqlite_engine)
    _auth_lost(sqlite_engine, user_id)
    with session_scope(sqlite_engine) as session:
        enqueue(session, user_id, "task_expired", {"task_id": 3}, "expired:3", TELEGRAM)
    settings = make_settings(quiet_hours_start=dt.time(23, 0), quiet_hours_end=dt.time(8, 0))
    async with Running(sqlite_engine, settings, clock=clock) as running:
        await running.until_polling()
        await double.wait_for(lambda: len(double.messages) == 2)
        assert all(m.disable_notification for m in double.messages)
        await eventually(lambda: _reminder_due(sqlite_engine) is not None)
        assert _reminder_due(sqlite_engine) == morning.astimezone(dt.UTC)
        await asyncio.sleep(0.5)
        assert len(double.messages) == 2
        shift[0] = morning - utcnow() + dt.timedelta(seconds=1)
        await double.wait_for(lambda: len(double.messages) == 3)
    assert "Напоминание 1" in double.messages[2].text and not double.messages[2].disable_notification
