"""Producers outside the bots: the operator's hook and the monitor's alerts reach people through the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import Engine
from sqlmodel import select

from wbsupply.domain.statuses import BotStatus, Role
from wbsupply.monitor.history import Alert, HistoryWriter, admin_notice
from wbsupply.notify.kinds import NoticeKind
from wbsupply.notify.messages import render
from wbsupply.operator.notifications import build_bot_notification, outbox_hook
from wbsupply.store import User, WbAccount, session_scope
from wbsupply.store.journal import NotificationOutbox
from wbsupply.testkit import new_phone


def _people(engine: Engine) -> tuple[int, int, int]:
    with session_scope(engine) as session:
        admin = User(email="ops@example.com", password_hash="x", role=Role.ADMIN)
        seller = User(email="shop@example.com", password_hash="x")
        session.add_all([admin, seller])
        session.flush()
        account = WbAccount(owner_id=seller.id or 0, phone=new_phone(), label="ИП Ромашка")
        session.add(account)
        session.flush()
        return admin.id or 0, seller.id or 0, account.id or 0


def _rows(engine: Engine, kind: NoticeKind) -> list[NotificationOutbox]:
    with session_scope(engine) as session:
        rows = session.exec(select(NotificationOutbox).where(NotificationOutbox.kind == kind.value)).all()
        session.expunge_all()
        return list(rows)


def test_operator_findings_reach_the_seller_and_the_admins(engine: Engine) -> None:
    admin_id, seller_id, account_id = _people(engine)
    now = dt.datetime(2026, 12, 4, 10, tzinfo=dt.UTC)
    spec = {"wbAccountRef": {"accountId": str(account_id)}, "seller": "shop"}
    hook = outbox_hook(engine)
    crashed = build_bot_notification("ns", "bot-1", spec, BotStatus.ERROR, "no heartbeat since never", now)
    assert crashed is not None
    asyncio.run(hook(crashed))
    asyncio.run(hook(crashed))  # the operator's timer fires again: nothing new
    rows = _rows(engine, NoticeKind.BOT_ERROR)
    assert {(r.user_id, r.channel.value) for r in rows} == {
        (seller_id, "cabinet"), (seller_id, "telegram"), (seller_id, "email"), (admin_id, "cabinet")}
    seller_row = next(r for r in rows if r.user_id == seller_id and r.channel.value == "cabinet")
    assert "ИП Ромашка" in render(seller_row.kind, seller_row.payload, "").text
    waiting = build_bot_notification("ns", "bot-1", spec, BotStatus.WAITING_AUTH, "", now)
    assert waiting is not None
    asyncio.run(hook(waiting))
    assert {r.user_id for r in _rows(engine, NoticeKind.AUTH_LOST)} == {seller_id}


def test_monitor_alerts_tell_the_admins_once_an_hour(engine: Engine) -> None:
    admin_id, _, _ = _people(engine)
    writer = HistoryWriter(engine)
    at = dt.datetime(2026, 12, 4, 10, 5, tzinfo=dt.UTC)
    notice = admin_notice(NoticeKind.WB_API_DISABLED, "api", "This method is temporarily disabled")
    for minute in (5, 6):  # a fallback alert, and the same one a minute later
        writer.alert(Alert("source_fallback", "api unusable", at.replace(minute=minute), "ERROR", *notice))
        asyncio.run(writer.flush())
    rows = _rows(engine, NoticeKind.WB_API_DISABLED)
    assert {(r.user_id, r.channel.value) for r in rows} == {(admin_id, "cabinet"), (admin_id, "telegram")}
    message = render(rows[0].kind, rows[0].payload, "")
    assert message.title == "WB API недоступен" and "temporarily disabled" in message.text
