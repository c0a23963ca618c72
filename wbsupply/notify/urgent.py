"""Urgent alerts: repeated Telegram messages until the seller presses «Принято» (the Bot API cannot call).

The first Telegram row of an urgent kind is the *root*. Each time the root or a reminder is delivered and
nothing was acknowledged, the next reminder is queued as an ordinary outbox row (dedup key
``<root key>#r<n>``) due one interval later, outside quiet hours. So reminders survive restarts like any
message, and a retried delivery cannot queue a reminder twice. Acknowledging stamps
``payload["acknowledged_at"]`` on the root and deletes the reminder that is still waiting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, delete, select

from wbsupply.notify.outbox import Claimed, insert_once
from wbsupply.notify.schedule import QuietHours, next_reminder_at
from wbsupply.store import EventLog
from wbsupply.store.journal import NotificationChannel, NotificationOutbox, OutboxStatus


def root_id_of(row: Claimed) -> int:
    return int(row.payload.get("root_id") or row.id)


def is_acknowledged(session: Session, root_id: int) -> bool:
    root = session.get(NotificationOutbox, root_id)
    return root is None or bool((root.payload or {}).get("acknowledged_at"))


def queue_next_reminder(session: Session, row: Claimed, now: dt.datetime, interval: dt.timedelta,
                        max_repeats: int, hours: QuietHours) -> bool:
    """After ``row`` went out: queue reminder n+1 unless acknowledged or the budget is spent."""
    repeat = int(row.payload.get("repeat") or 0) + 1
    root_id = root_id_of(row)
    if repeat > max_repeats or is_acknowledged(session, root_id):
        return False
    root = session.get(NotificationOutbox, root_id)
    assert root is not None
    payload: dict[str, Any] = {**root.payload, "repeat": repeat, "root_id": root_id}
    reminder = NotificationOutbox(user_id=row.user_id, channel=NotificationChannel.TELEGRAM, kind=row.kind,
                                  payload=payload, dedup_key=f"{root.dedup_key}#r{repeat}"[:200],
                                  next_attempt_at=next_reminder_at(now, interval, hours))
    return insert_once(session, reminder)


def acknowledge(session: Session, root_id: int, user_id: int, now: dt.datetime) -> bool:
    """The seller pressed «Принято» under any message of the chain; False if it is not theirs."""
    root = session.get(NotificationOutbox, root_id)
    if root is None or root.user_id != user_id:
        return False
    if not (root.payload or {}).get("acknowledged_at"):
        root.payload = {**root.payload, "acknowledged_at": now.isoformat()}  # a new dict: JSON changes by value
        session.add(root)
        session.add(EventLog(source="notifier", user_id=user_id, message=f"urgent alert acknowledged: {root.kind}",
                             payload={"outbox_id": root_id}))
    session.execute(delete(NotificationOutbox).where(
        col(NotificationOutbox.dedup_key).startswith(f"{root.dedup_key}#r", autoescape=True),
        col(NotificationOutbox.status) == OutboxStatus.PENDING,
    ))
    return True


def acknowledge_kind(session: Session, user_id: int, kinds: frozenset[str], now: dt.datetime) -> int:
    """Acknowledge every open chain of these kinds (the seller acted, e.g. sent the WB code)."""
    roots = session.exec(select(NotificationOutbox).where(
        NotificationOutbox.user_id == user_id, NotificationOutbox.channel == NotificationChannel.TELEGRAM,
        col(NotificationOutbox.kind).in_(kinds), NotificationOutbox.status == OutboxStatus.PENDING,
        col(NotificationOutbox.dedup_key).contains("#r", autoescape=True),
    )).all()
    root_ids = {int(row.payload.get("root_id") or 0) for row in roots} - {0}
    for root_id in root_ids:
        acknowledge(session, root_id, user_id, now)
    return len(root_ids)
