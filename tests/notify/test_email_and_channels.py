"""E-mail through aiosmtpd, channel rules (kinds, preferences) and a notifier without a Telegram token."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from notify_helpers import CHAT, Inbox, Running, add_seller
from sqlalchemy import Engine
from sqlmodel import select
from telegram_double import TelegramDouble

from wbsupply.domain.statuses import Role
from wbsupply.notify.feed import feed_for
from wbsupply.notify.messages import mask_phone
from wbsupply.notify.outbox import SKIPPED, enqueue, enqueue_admin_alert
from wbsupply.notify.settings import NotifierSettings
from wbsupply.store import session_factory, session_scope
from wbsupply.store.journal import NotificationChannel, NotificationOutbox, OutboxStatus
from wbsupply.testkit import eventually, new_phone

Settings = Callable[..., NotifierSettings]


def _settled(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return all(r.status is not OutboxStatus.PENDING for r in session.exec(select(NotificationOutbox)))


def _statuses(engine: Engine) -> dict[tuple[str, str], str]:
    with session_scope(engine) as session:
        return {(r.kind, r.channel.value): r.status.value if r.status is not OutboxStatus.FAILED
                else (r.last_error or "") for r in session.exec(select(NotificationOutbox))}


async def test_auth_loss_and_limit_are_mailed_other_kinds_are_not(
        sqlite_engine: Engine, smtp: tuple[Inbox, int], make_settings: Settings) -> None:
    inbox, _port = smtp
    user_id, phone = add_seller(sqlite_engine), new_phone()
    with session_scope(sqlite_engine) as session:
        enqueue(session, user_id, "auth_lost", {"account_id": 4, "phone": phone}, "auth_lost:4")
        enqueue(session, user_id, "quota_exceeded", {"limit": 5, "used": 5}, "quota:2026-11")
        enqueue(session, user_id, "booked", {"task_id": 9, "supply_id": 123,
                                             "slot": {"warehouse_name": "Коледино", "date": "2026-12-01",
                                                      "box_type": "boxes", "coefficient": 0}}, "booked:9")
    async with Running(sqlite_engine, make_settings()):
        await eventually(lambda: _settled(sqlite_engine))
    subjects = sorted(str(mail["Subject"]) for mail in inbox.mails)
    assert subjects == ["wbsupply: Лимит тарифа исчерпан", "wbsupply: Нужен вход в WB"]
    auth = next(m for m in inbox.mails if "вход" in str(m["Subject"]))
    assert auth["To"] == "seller@example.ru" and auth["From"] == "robot@wbsupply.test"
    body = auth.get_body().get_content()  # type: ignore[union-attr]
    assert mask_phone(phone) in body and "https://cabinet.test/wb" in body
    assert _statuses(sqlite_engine)[("booked", "email")] == SKIPPED + "not sent by e-mail"


async def test_preferences_turn_channels_and_events_off(
        sqlite_engine: Engine, double: TelegramDouble, smtp: tuple[Inbox, int], make_settings: Settings) -> None:
    prefs = {"channels": {"email": False}, "events": {"slot_found": False}}
    user_id = add_seller(sqlite_engine, prefs=prefs)
    with session_scope(sqlite_engine) as session:
        enqueue(session, user_id, "quota_exceeded", {}, "quota:1")
        enqueue(session, user_id, "slot_found", {"task_id": 2, "slot": {"warehouse_id": 507}}, "found:2")
    async with Running(sqlite_engine, make_settings()):
        await eventually(lambda: _settled(sqlite_engine))
    assert smtp[0].mails == []
    assert [m.text.split("\n")[0] for m in double.sent_to(CHAT)] == ["<b>Лимит тарифа исчерпан</b>"]
    statuses = _statuses(sqlite_engine)
    assert statuses[("slot_found", "telegram")] == SKIPPED + "turned off by the seller"
    assert statuses[("slot_found", "cabinet")] == "sent"  # the cabinet feed always has everything


async def test_admin_alerts_reach_the_admin_chat(sqlite_engine: Engine, double: TelegramDouble,
                                                 make_settings: Settings) -> None:
    add_seller(sqlite_engine, email="admin@example.ru", role=Role.ADMIN, chat_id=None)
    with session_scope(sqlite_engine) as session:
        enqueue_admin_alert(session, "bot_crash_loop", {"account_id": 3, "restarts": 5, "error": "OOM"}, "crash:3")
    async with Running(sqlite_engine, make_settings(telegram_admin_chat_id=-100777)):
        await double.wait_for(lambda: double.sent_to(-100777))
    text = double.sent_to(-100777)[0].text
    assert "Бот падает при запуске" in text and "5 раз" in text and "OOM" in text


async def test_without_a_token_email_and_cabinet_still_work(
        sqlite_engine: Engine, smtp: tuple[Inbox, int], make_settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wbsupply.notify")
    user_id = add_seller(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        enqueue(session, user_id, "auth_lost", {"account_id": 1}, "auth_lost:1")
    async with Running(sqlite_engine, make_settings(telegram_bot_token=None)):
        await eventually(lambda: _settled(sqlite_engine))
    assert len(smtp[0].mails) == 1
    assert _statuses(sqlite_engine)[("auth_lost", "telegram")] == SKIPPED + "telegram is not configured"
    assert [r.message for r in caplog.records].count(
        "no Telegram bot token (WBSUPPLY_TELEGRAM_BOT_TOKEN): Telegram messages are skipped, "
        "e-mail and the cabinet feed still work") == 1
    with session_factory(sqlite_engine)() as session:
        assert [item.title for item in feed_for(session, user_id, 5)] == ["Нужен вход в WB"]


async def test_smtp_down_means_retry_not_loss(sqlite_engine: Engine, make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        enqueue(session, user_id, "quota_exceeded", {}, "quota:1", [NotificationChannel.EMAIL])
    async with Running(sqlite_engine, make_settings(telegram_bot_token=None, smtp_port=1)):
        await eventually(lambda: _attempts(sqlite_engine) >= 2)
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(NotificationOutbox)).one()
        assert row.status is OutboxStatus.PENDING and row.last_error


def _attempts(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(NotificationOutbox)).one().attempts
