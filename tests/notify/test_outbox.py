"""The outbox on SQLite and PostgreSQL: idempotent enqueue, leases, restarts without loss or duplicates."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from notify_helpers import CHAT, Running, add_seller
from sqlalchemy import Engine
from sqlmodel import select
from telegram_double import TelegramDouble

from wbsupply.config import Settings as ServiceSettings
from wbsupply.domain.statuses import Role
from wbsupply.notify.feed import feed_for
from wbsupply.notify.main import NotifierComponent
from wbsupply.notify.outbox import claim_due, enqueue, enqueue_admin_alert, give_up, mark_sent, release
from wbsupply.notify.settings import NotifierSettings
from wbsupply.store import make_engine, session_scope
from wbsupply.store.journal import NotificationChannel, NotificationOutbox, OutboxStatus
from wbsupply.store.types import utcnow
from wbsupply.testkit import eventually

Settings = Callable[..., NotifierSettings]
LEASE = dt.timedelta(seconds=60)
TELEGRAM = [NotificationChannel.TELEGRAM]


def _rows(engine: Engine) -> list[NotificationOutbox]:
    with session_scope(engine) as session:
        return list(session.exec(select(NotificationOutbox).order_by(NotificationOutbox.id)))  # type: ignore[arg-type]


def _queue(engine: Engine, user_id: int, count: int, channels: list[NotificationChannel] = TELEGRAM) -> None:
    with session_scope(engine) as session:
        for n in range(count):
            enqueue(session, user_id, "task_expired", {"task_id": n}, f"expired:{n}", channels)


def test_enqueue_is_idempotent_by_dedup_key(engine: Engine) -> None:
    user_id = add_seller(engine)
    with session_scope(engine) as session:
        first = enqueue(session, user_id, "booked", {"task_id": 1}, "booked:1")
        again = enqueue(session, user_id, "booked", {"task_id": 1}, "booked:1")
    with session_scope(engine) as session:
        later = enqueue(session, user_id, "booked", {"task_id": 1}, "booked:1")
    assert len(first) == 3 and again == [] and later == []
    assert sorted(r.dedup_key for r in _rows(engine)) == [
        "booked:1:1:cabinet", "booked:1:1:email", "booked:1:1:telegram"]


def test_enqueue_survives_a_racing_producer(engine: Engine) -> None:
    user_id = add_seller(engine)
    start = threading.Barrier(4)

    def produce(_: int) -> int:
        start.wait()
        with session_scope(engine) as session:
            return len(enqueue(session, user_id, "booked", {}, "booked:race", TELEGRAM))

    with ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(produce, range(4))) == 1
    assert len(_rows(engine)) == 1


def test_admin_alerts_go_to_the_admin_chat_row_and_every_admin_cabinet(engine: Engine) -> None:
    first = add_seller(engine, email="admin1@example.ru", role=Role.ADMIN)
    second = add_seller(engine, email="admin2@example.ru", role=Role.ADMIN, chat_id=None)
    with session_scope(engine) as session:
        assert enqueue_admin_alert(session, "wb_api_disabled", {"detail": "temporarily disabled"}, "wbapi:1") == 3
        assert enqueue_admin_alert(session, "wb_api_disabled", {}, "wbapi:1") == 0
    assert sorted((r.user_id, r.channel.value) for r in _rows(engine)) == [
        (first, "cabinet"), (first, "telegram"), (second, "cabinet")]


def test_claims_are_exclusive_and_leases_expire(engine: Engine) -> None:
    user_id = add_seller(engine)
    _queue(engine, user_id, 5)
    now = utcnow()
    first = claim_due(engine, now, LEASE, 3)
    second = claim_due(engine, now, LEASE, 10)
    assert len(first) == 3 and len(second) == 2 and not {r.id for r in first} & {r.id for r in second}
    assert claim_due(engine, now + LEASE / 2, LEASE, 10) == []
    with session_scope(engine) as session:
        mark_sent(session, first[0].id, now)
        give_up(session, first[1].id, "permanent")
    # The claimant "crashed": its unfinished rows come back once the lease is over, with the attempt counted.
    again = claim_due(engine, now + LEASE, LEASE, 10)
    assert sorted(r.id for r in again) == sorted(r.id for r in [first[2], *second])
    assert {r.attempts for r in again} == {2}


def test_concurrent_claimers_never_share_a_row(engine: Engine) -> None:
    user_id = add_seller(engine)
    _queue(engine, user_id, 40)
    start = threading.Barrier(4)

    def claim(_: int) -> list[int]:
        start.wait()
        return [row.id for _round in range(5) for row in claim_due(engine, utcnow(), LEASE, 3)]

    with ThreadPoolExecutor(4) as pool:
        claimed = [row_id for ids in pool.map(claim, range(4)) for row_id in ids]
    assert len(claimed) == len(set(claimed)) == 40


def test_release_hands_back_claims_without_counting_them(engine: Engine) -> None:
    user_id = add_seller(engine)
    _queue(engine, user_id, 2)
    now = utcnow()
    claimed = claim_due(engine, now, LEASE, 10)
    release(engine, claimed, now)
    assert {r.attempts for r in claim_due(engine, now, LEASE, 10)} == {1}


async def test_restart_mid_batch_loses_nothing_and_sends_nothing_twice(
        engine: Engine, double: TelegramDouble, make_settings: Settings) -> None:
    user_id = add_seller(engine)
    _queue(engine, user_id, 12, [NotificationChannel.TELEGRAM, NotificationChannel.CABINET])
    settings = make_settings(batch_size=12)
    runs = 0
    while len(double.messages) < 12:
        runs += 1
        assert runs < 10, "the notifier made no progress"
        async with Running(engine, settings) as running:
            await running.until_polling()
            before = len(double.messages)
            # Stop as soon as the first message of this run arrived: the rest of the batch is still claimed.
            await double.wait_for(lambda b=before: len(double.messages) > b)  # type: ignore[misc]
    assert runs > 1
    assert Counter(m.text for m in double.sent_to(CHAT)).most_common(1)[0][1] == 1
    assert len(double.sent_to(CHAT)) == 12
    rows = _rows(engine)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(r.attempts == 1 for r in rows if r.channel is NotificationChannel.TELEGRAM)


async def test_a_crashed_notifier_s_claims_are_delivered_once_after_the_lease(
        engine: Engine, double: TelegramDouble, make_settings: Settings) -> None:
    user_id = add_seller(engine)
    _queue(engine, user_id, 3)
    lease = dt.timedelta(seconds=1)
    assert len(claim_due(engine, utcnow(), lease, 10)) == 3  # a notifier claimed them and died before sending
    async with Running(engine, make_settings()) as running:
        await running.until_polling()
        await asyncio.sleep(0.3)
        assert double.messages == []  # still leased to the dead one
        await double.wait_for(lambda: len(double.messages) == 3)
        await asyncio.sleep(0.3)
    assert len(double.messages) == 3
    assert {r.status for r in _rows(engine)} == {OutboxStatus.SENT}


async def test_a_telegram_outage_loses_nothing(engine: Engine, double: TelegramDouble,
                                               make_settings: Settings) -> None:
    user_id = add_seller(engine)
    double.down = True  # down before the notifier starts: getMe fails, and so would every send
    async with Running(engine, make_settings()) as running:
        _queue(engine, user_id, 3, [NotificationChannel.TELEGRAM, NotificationChannel.CABINET])
        await eventually(lambda: all(r.status is OutboxStatus.SENT for r in _rows(engine)
                                     if r.channel is NotificationChannel.CABINET))
        assert double.messages == []
        double.down = False
        await running.until_polling()
        await double.wait_for(lambda: len(double.messages) == 3, within=20)
    assert {r.status for r in _rows(engine)} == {OutboxStatus.SENT}


def test_feed_lists_the_cabinet_rows_newest_first(engine: Engine) -> None:
    user_id = add_seller(engine)
    other = add_seller(engine, email="other@example.ru", chat_id=None)
    with session_scope(engine) as session:
        enqueue(session, user_id, "task_expired", {"task_id": 1}, "expired:1")
        enqueue(session, user_id, "booked", {"task_id": 2, "slot": {"warehouse_name": "Тула"}}, "booked:2")
        enqueue(session, other, "booked", {"task_id": 3}, "booked:3")
    with session_scope(engine) as session:
        items = feed_for(session, user_id, 10)
        assert [(i.kind, i.title) for i in items] == [("booked", "Поставка запланирована"),
                                                      ("task_expired", "Срок задачи истёк")]
        assert items[0].link == "/tasks/2" and "Тула" in items[0].text
        assert len(feed_for(session, user_id, 1)) == 1


async def test_the_runtime_component_runs_on_service_settings(sqlite_database_url: str, tmp_path: Path) -> None:
    settings = ServiceSettings(database_url=sqlite_database_url, data_dir=tmp_path)
    component = NotifierComponent(settings)
    engine = make_engine(sqlite_database_url)
    _queue(engine, add_seller(engine), 1, [NotificationChannel.CABINET])
    stop = asyncio.Event()
    task = asyncio.create_task(component.run(stop))
    await eventually(lambda: [r.status for r in _rows(engine)] == [OutboxStatus.SENT], what="delivered: it runs")
    stop.set()
    await asyncio.wait_for(task, 5)
    engine.dispose()
    assert component.name == "notifier" and component.notifier_settings.telegram_bot_token is None
