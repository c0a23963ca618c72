"""Notifier test helpers and fixtures: the Telegram double, aiosmtpd on loopback, sellers in a migrated database.

Imported by name (not as `conftest`): several test folders have a conftest, and `from conftest import` would
get whichever was imported first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from wbsupply.domain.statuses import BotStatus, Role, TaskPhase
from wbsupply.notify.main import build_notifier
from wbsupply.notify.service import Notifier
from wbsupply.notify.settings import NotifierSettings
from wbsupply.store import SupplyTask, User, WbAccount, make_engine, session_scope
from wbsupply.testkit import free_port, new_phone

sys.path.insert(0, str(Path(__file__).parent))
from telegram_double import TelegramDouble

TOKEN = "123456789:AAtest-secret-token-value"
CHAT = 555_000_111


class Inbox:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
async def double() -> AsyncIterator[TelegramDouble]:
    server = TelegramDouble(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def sqlite_engine(sqlite_database_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_settings(double: TelegramDouble, smtp: tuple[Inbox, int]) -> Callable[..., NotifierSettings]:
    def make(**overrides: Any) -> NotifierSettings:
        values: dict[str, Any] = dict(
            telegram_bot_token=TOKEN, telegram_api_base_url=double.base_url, smtp_host="127.0.0.1",
            smtp_port=smtp[1], smtp_from="robot@wbsupply.test", cabinet_public_url="https://cabinet.test",
            poll_interval_seconds=0.05, backoff_base_seconds=0.1, lease_seconds=30, urgent_repeat_seconds=0.3,
            urgent_max_repeats=3,
        )
        return NotifierSettings(**{**values, **overrides})

    return make


def add_seller(engine: Engine, *, email: str = "seller@example.ru", chat_id: int | None = CHAT,
               role: Role = Role.SELLER, prefs: dict[str, Any] | None = None) -> int:
    with session_scope(engine) as session:
        user = User(email=email, role=role, password_hash="x", telegram_chat_id=chat_id,
                    notification_prefs=prefs or {})
        session.add(user)
        session.flush()
        assert user.id is not None
        return user.id


def add_account(engine: Engine, owner_id: int, *, phone: str | None = None, auth_state: str = "idle",
                status: BotStatus = BotStatus.ACTIVE) -> int:
    with session_scope(engine) as session:
        account = WbAccount(owner_id=owner_id, phone=phone or new_phone(), auth_state=auth_state, status=status)
        session.add(account)
        session.flush()
        assert account.id is not None
        return account.id


def add_task(engine: Engine, owner_id: int, account_id: int, phase: TaskPhase, message: str | None = None) -> int:
    with session_scope(engine) as session:
        task = SupplyTask(owner_id=owner_id, account_id=account_id, phase=phase, message=message,
                          spec={"box_type": "boxes", "warehouses": [507, 117986]})
        session.add(task)
        session.flush()
        assert task.id is not None
        return task.id


def chat_of(engine: Engine, user_id: int) -> int | None:
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.telegram_chat_id


class Running:
    """A notifier running as a task, as the runtime would run it."""

    def __init__(self, engine: Engine, settings: NotifierSettings, clock: Callable[[], dt.datetime] | None = None):
        kwargs: dict[str, Any] = {"poll_timeout": 1.0}
        if clock is not None:
            kwargs["clock"] = clock
        self.notifier: Notifier = build_notifier(engine, settings, **kwargs)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.notifier.run(self.stop))
        return self

    async def __aexit__(self, *_: Any) -> None:
        self.stop.set()
        assert self.task is not None
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 15)

    async def until_polling(self) -> None:
        telegram = self.notifier.telegram
        assert telegram is not None
        for _ in range(500):
            if telegram.ready:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the telegram bot did not start")
