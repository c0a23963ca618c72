"""The bot against the Telegram double: linking, commands, the WB code relay, 429 and 403 handling."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pytest
from notify_helpers import CHAT, TOKEN, Running, add_account, add_seller, add_task, chat_of
from sqlalchemy import Engine
from sqlmodel import select
from telegram_double import TelegramDouble

from wbsupply.domain.statuses import TaskPhase
from wbsupply.notify.feed import feed_for
from wbsupply.notify.messages import mask_phone
from wbsupply.notify.outbox import enqueue
from wbsupply.notify.settings import NotifierSettings
from wbsupply.store import EventLog, SupplyTask, User, WbAuthRequest, session_factory, session_scope
from wbsupply.store.accounts import TelegramLinkCode
from wbsupply.store.journal import NotificationChannel, NotificationOutbox, OutboxStatus
from wbsupply.store.types import utcnow
from wbsupply.testkit import eventually, new_phone

Settings = Callable[..., NotifierSettings]


def _link_code(engine: Engine, user_id: int, code: str, *, expires_in: float = 900) -> None:
    with session_scope(engine) as session:
        session.add(TelegramLinkCode(user_id=user_id, code=code,
                                     expires_at=utcnow() + dt.timedelta(seconds=expires_in)))


async def test_start_with_a_code_links_the_chat_once(sqlite_engine: Engine, double: TelegramDouble,
                                                     make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine, chat_id=None)
    _link_code(sqlite_engine, user_id, "ABCD2345")
    async with Running(sqlite_engine, make_settings()) as running:
        await running.until_polling()
        assert [c["command"] for c in double.commands] == ["status", "tasks", "new", "pause", "resume", "help"]
        double.user_sends(CHAT, "/start abcd2345")
        await double.wait_for(lambda: double.sent_to(CHAT))
        assert "чат привязан к кабинету seller@example.ru" in double.sent_to(CHAT)[0].text
        double.user_sends(CHAT + 1, "/start ABCD2345")  # a used code does not work again
        await double.wait_for(lambda: double.sent_to(CHAT + 1))
        assert "Код не подошёл" in double.sent_to(CHAT + 1)[0].text
    with session_scope(sqlite_engine) as session:
        assert session.get(User, user_id).telegram_chat_id == CHAT  # type: ignore[union-attr]
        assert session.exec(select(TelegramLinkCode)).one().used_at is not None


async def test_expired_code_and_unlinked_chat_are_refused(sqlite_engine: Engine, double: TelegramDouble,
                                                          make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine, chat_id=None)
    _link_code(sqlite_engine, user_id, "OLDCODE2", expires_in=-1)
    async with Running(sqlite_engine, make_settings()) as running:
        await running.until_polling()
        double.user_sends(CHAT, "/start OLDCODE2")
        double.user_sends(CHAT, "/status")
        await double.wait_for(lambda: len(double.sent_to(CHAT)) == 2)
    texts = [m.text for m in double.sent_to(CHAT)]
    assert "Код не подошёл" in texts[0] and "не привязан" in texts[1]


async def test_status_tasks_pause_resume(sqlite_engine: Engine, double: TelegramDouble,
                                         make_settings: Settings) -> None:
    """/pause and /resume are the cabinet's commands (the task-command service): paused is the task's state."""
    user_id = add_seller(sqlite_engine)
    phone = new_phone()
    account = add_account(sqlite_engine, user_id, phone=phone)
    watching = add_task(sqlite_engine, user_id, account, TaskPhase.WATCHING)
    waiting_login = add_task(sqlite_engine, user_id, account, TaskPhase.PENDING, "Бот ждёт повторного подключения WB")
    flags: list[dict[int, tuple[TaskPhase, bool]]] = []

    def states() -> dict[int, tuple[TaskPhase, bool]]:
        with session_scope(sqlite_engine) as session:
            return {t.id or 0: (t.phase, t.paused) for t in session.exec(select(SupplyTask))}

    async with Running(sqlite_engine, make_settings()) as running:
        await running.until_polling()
        commands = ["/status", "/tasks", f"/pause {watching}", "/pause", "/resume"]
        for number, command in enumerate(commands, 1):
            double.user_sends(CHAT, command)
            await double.wait_for(lambda n=number: len(double.sent_to(CHAT)) == n)  # type: ignore[misc]
            flags.append(states())
    status, tasks, paused_one, paused_rest, resumed = (m.text for m in double.sent_to(CHAT))
    assert mask_phone(phone) in status and "Активен" in status and "Ищем слот — 1" in status
    assert "0 из 5" in status
    assert f"№{watching}: Ищем слот, Короба, складов: 2" in tasks
    assert paused_one == f"Приостановлено задач: 1 (№{watching})"
    assert flags[2] == {watching: (TaskPhase.PENDING, True), waiting_login: (TaskPhase.PENDING, False)}
    assert paused_rest == f"Приостановлено задач: 1 (№{waiting_login})"  # the paused one is not paused twice
    assert resumed == f"Возобновлено задач: 2 (№{watching}, №{waiting_login})"
    assert flags[4] == {watching: (TaskPhase.PENDING, False), waiting_login: (TaskPhase.PENDING, False)}


async def test_new_creates_a_task_by_the_web_forms_rules_then_pause_and_resume_it(
        sqlite_engine: Engine, double: TelegramDouble, make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    add_account(sqlite_engine, user_id)
    lines = ["/new", "/new склады=507 цвет=синий", "/new склады=507 тип=короба коэф=1 дни=10",
             "/new склады=507,117501 тип=монопаллеты коэф=2 дни=14 нераньше=2 хранение=150 паллеты=3 будни "
             "безпраздников уведомить", "/pause 1", "/resume 1"]
    async with Running(sqlite_engine, make_settings()) as running:
        await running.until_polling()
        for number, command in enumerate(lines, 1):
            if command == "/pause 1":  # the bot took the new task up
                with session_scope(sqlite_engine) as session:
                    session.exec(select(SupplyTask)).one().phase = TaskPhase.WATCHING
            double.user_sends(CHAT, command)
            await double.wait_for(lambda n=number: len(double.sent_to(CHAT)) == n)  # type: ignore[misc]
    usage, unknown, no_draft, created, paused, resumed = (m.text for m in double.sent_to(CHAT))
    assert usage.startswith("Новая задача одной строкой") and "Неизвестный параметр «цвет»" in unknown
    assert no_draft == ("Задача не создана: Укажите черновик поставки или номер заказа WB либо выберите режим "
                        "«Только уведомить»")  # the web form's own message
    assert created.startswith("Создана задача №1 (только уведомлять)")
    assert paused == "Приостановлено задач: 1 (№1)" and resumed == "Возобновлено задач: 1 (№1)"
    with session_scope(sqlite_engine) as session:
        task = session.exec(select(SupplyTask)).one()
        # the one task-command service: a resumed task waits in Pending, unpaused, for its bot to take it up
        assert task.owner_id == user_id and task.phase is TaskPhase.PENDING and not task.paused
        spec = task.spec
    assert (spec["warehouses"], spec["box_type"], spec["mode"], spec["draft_id"]) == (
        [507, 117501], "monopallets", "notify", None)
    assert (spec["weekdays"], spec["skip_holidays"], spec["pallet_count"], spec["min_days_ahead"]) == (
        [0, 1, 2, 3, 4], True, 3, 2)


async def test_a_code_sent_to_the_bot_goes_to_the_auth_relay(sqlite_engine: Engine, double: TelegramDouble,
                                                             make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    account = add_account(sqlite_engine, user_id, auth_state="code_sent")
    async with Running(sqlite_engine, make_settings()) as running:
        await running.until_polling()
        double.user_sends(CHAT, " 123456 ")
        await double.wait_for(lambda: double.sent_to(CHAT))
    assert "Код передан боту аккаунта" in double.sent_to(CHAT)[0].text
    with session_scope(sqlite_engine) as session:
        request = session.exec(select(WbAuthRequest)).one()
        assert (request.account_id, request.kind.value, request.value) == (account, "code", "123456")


async def test_429_pauses_sending_for_retry_after(sqlite_engine: Engine, double: TelegramDouble,
                                                  make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        for n in range(3):
            enqueue(session, user_id, "task_expired", {"task_id": n}, f"expired:{n}", [NotificationChannel.TELEGRAM])
    double.flood(retry_after=1)
    async with Running(sqlite_engine, make_settings()) as running:
        await running.until_polling()
        await double.wait_for(lambda: len(double.sent_to(CHAT)) == 3)
    sends = [at for method, at in double.calls if method == "sendMessage"]
    assert len(sends) == 4  # one refused, then each message once
    assert sends[1] - sends[0] >= 1.0  # Telegram's retry_after was honoured by the whole bot
    with session_scope(sqlite_engine) as session:
        rows = session.exec(select(NotificationOutbox)).all()
        assert {r.status for r in rows} == {OutboxStatus.SENT}


async def test_blocked_bot_unlinks_the_chat_and_the_feed_says_so(sqlite_engine: Engine, double: TelegramDouble,
                                                                 make_settings: Settings) -> None:
    user_id = add_seller(sqlite_engine)
    double.blocked_chats.add(CHAT)
    with session_scope(sqlite_engine) as session:
        enqueue(session, user_id, "task_expired", {"task_id": 7}, "expired:7",
                [NotificationChannel.CABINET, NotificationChannel.TELEGRAM])
    async with Running(sqlite_engine, make_settings()):
        await eventually(lambda: chat_of(sqlite_engine, user_id) is None)
    with session_factory(sqlite_engine)() as session:
        log = session.exec(select(EventLog).where(EventLog.user_id == user_id)).one()
        assert log.level == "WARNING" and "blocked" in log.message
        assert [item.kind for item in feed_for(session, user_id, 10)] == ["telegram_blocked", "task_expired"]
        assert "заблокировали нашего бота" in feed_for(session, user_id, 1)[0].text


async def test_the_token_never_reaches_the_logs(sqlite_engine: Engine, double: TelegramDouble,
                                                make_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user_id = add_seller(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        enqueue(session, user_id, "task_expired", {"task_id": 1}, "expired:1", [NotificationChannel.TELEGRAM])
    async with Running(sqlite_engine, make_settings()) as running:
        await running.until_polling()
        await double.wait_for(lambda: double.sent_to(CHAT))
    assert "sendMessage" in caplog.text or "getUpdates" in caplog.text or caplog.records
    assert TOKEN not in caplog.text
