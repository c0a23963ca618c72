"""The notification outbox: how notifications are created (``enqueue``) and how the notifier takes them.

Delivery is at-least-once with a lease, made as close to exactly-once as a remote API allows:

- ``enqueue`` writes one row per channel in the caller's transaction, keyed by a unique dedup key, so
  repeating an event (a retried worker, two replicas) creates nothing new.
- ``claim_due`` takes due rows by pushing ``next_attempt_at`` one lease ahead and counting the attempt
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the claim transaction holds the write lock and
  re-checks each row in a conditional UPDATE). A crashed notifier's rows become due again when the lease ends.
- The sender marks each row right after its send, in a transaction of its own. A crash between a
  successful send and that commit is the one window in which a message can go out twice; it lasts one
  database round trip, and the lease (much longer than any send timeout) keeps others off the row meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wbsupply.domain.statuses import Role
from wbsupply.notify.kinds import Notice, NoticeKind
from wbsupply.store import User, begin_immediate, session_scope
from wbsupply.store.journal import NotificationChannel, NotificationOutbox, OutboxStatus
from wbsupply.store.types import utcnow

SELLER_CHANNELS = (NotificationChannel.CABINET, NotificationChannel.TELEGRAM, NotificationChannel.EMAIL)
SKIPPED = "skipped: "  # prefix of last_error for rows that had nowhere to go (status FAILED)


def row_key(dedup_key: str, user_id: int, channel: NotificationChannel) -> str:
    """The unique key of one channel's row."""
    return f"{dedup_key}:{user_id}:{channel.value}"[:200]


def enqueue(
    session: Session,
    user_id: int,
    kind: str,
    payload: Mapping[str, Any],
    dedup_key: str,
    channels: Iterable[NotificationChannel] = SELLER_CHANNELS,
    *,
    not_before: dt.datetime | None = None,
) -> list[NotificationOutbox]:
    """Queue a notification in the caller's transaction; returns the rows created (none if already queued).

    Whether a channel is wanted (preferences, a linked chat, an e-mail-worthy kind) is decided at delivery,
    so the rule lives in one place and a chat linked later still receives what is due.
    """
    created = []
    for channel in channels:
        row = NotificationOutbox(user_id=user_id, channel=channel, kind=kind, payload=dict(payload),
                                 dedup_key=row_key(dedup_key, user_id, channel), next_attempt_at=not_before or utcnow())
        if insert_once(session, row):
            created.append(row)
    return created


def insert_once(session: Session, row: NotificationOutbox) -> bool:
    """Add ``row`` unless a row with its dedup key exists; False if it did.

    Insert first, no look-up: on SQLite a transaction that read before writing cannot wait for the write
    lock (it fails with "database is locked"), and on PostgreSQL the unique index settles races anyway.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def enqueue_notice(session: Session, notice: Notice) -> int:
    """Queue a producer's :class:`~wbsupply.control.base.Notice` in the caller's transaction: the seller on
    every channel, and with ``notice.admins`` every admin's cabinet too. Returns the number of rows created."""
    payload = dict(notice.payload)
    count = len(enqueue(session, notice.user_id, notice.kind, payload, notice.dedup_key))
    if notice.admins:
        for admin_id in _admin_ids(session):
            if admin_id != notice.user_id:
                count += len(enqueue(session, admin_id, notice.kind, {**payload, "admin_copy": True},
                                     notice.dedup_key, [NotificationChannel.CABINET]))
    return count


def alert_admins(engine: Engine, kind: NoticeKind, payload: Mapping[str, Any], dedup_key: str) -> int:
    """:func:`enqueue_admin_alert` in a transaction of its own (the monitor and the supervisor, which hold
    no session). The dedup key makes a repeated alert a no-op: put the episode in it (e.g. the hour)."""
    with session_scope(begin_immediate(engine)) as session:
        return enqueue_admin_alert(session, kind, payload, dedup_key)


def _admin_ids(session: Session) -> list[int]:
    return [a for a in session.exec(select(User.id).where(User.role == Role.ADMIN, col(User.active))
                                    .order_by(col(User.id))).all() if a is not None]


def enqueue_admin_alert(session: Session, kind: str, payload: Mapping[str, Any], dedup_key: str) -> int:
    """Queue an alert for the operators: the admin chat (on the first admin's row) and every admin's cabinet.

    Returns the number of rows created; 0 also when the service has no admin user yet.
    """
    count = 0
    for index, admin_id in enumerate(_admin_ids(session)):
        channels = [NotificationChannel.CABINET] + ([NotificationChannel.TELEGRAM] if index == 0 else [])
        count += len(enqueue(session, admin_id, kind, {**payload, "admin_chat": True}, dedup_key, channels))
    return count


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retry_after: float | None = None  # 429: Telegram's flood control says when
    blocked: bool = False  # 403: the seller blocked the bot (or deleted the account)
    permanent: bool = False  # 400 and the like: retrying cannot help
    error: str = ""


@dataclass(frozen=True)
class Claimed:
    """A snapshot of a claimed row: the sender works from this, never from a live ORM object."""

    id: int
    user_id: int
    channel: NotificationChannel
    kind: str
    payload: dict[str, Any]
    dedup_key: str
    attempts: int


def claim_due(
    engine: Engine,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    channels: Iterable[NotificationChannel] = SELLER_CHANNELS,
) -> list[Claimed]:
    due = (
        select(NotificationOutbox)
        .where(NotificationOutbox.status == OutboxStatus.PENDING, col(NotificationOutbox.next_attempt_at) <= now,
               col(NotificationOutbox.channel).in_(list(channels)))
        .order_by(col(NotificationOutbox.next_attempt_at), col(NotificationOutbox.id))
        .limit(limit)
    )
    claimed = []
    with session_scope(begin_immediate(engine)) as session:
        if engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)  # replicas take disjoint batches without waiting
        for row in session.exec(due).all():
            result = session.execute(
                update(NotificationOutbox)
                .where(col(NotificationOutbox.id) == row.id, col(NotificationOutbox.status) == OutboxStatus.PENDING,
                       col(NotificationOutbox.next_attempt_at) <= now)
                .values(next_attempt_at=now + lease, attempts=NotificationOutbox.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                assert row.id is not None
                claimed.append(Claimed(row.id, row.user_id, row.channel, row.kind, dict(row.payload or {}),
                                       row.dedup_key, row.attempts + 1))
    return claimed


def _set(session: Session, row_id: int, **values: Any) -> bool:
    result = session.execute(
        update(NotificationOutbox)
        .where(col(NotificationOutbox.id) == row_id, col(NotificationOutbox.status) == OutboxStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, row_id: int, now: dt.datetime) -> bool:
    return _set(session, row_id, status=OutboxStatus.SENT, sent_at=now, last_error=None)


def retry_at(session: Session, row_id: int, when: dt.datetime, error: str, *, count_attempt: bool = True) -> bool:
    """Due again at ``when``; ``count_attempt=False`` hands back a claim that was never tried."""
    values: dict[str, Any] = {"next_attempt_at": when, "last_error": error[:2000]}
    if not count_attempt:
        values["attempts"] = NotificationOutbox.attempts - 1
    return _set(session, row_id, **values)


def give_up(session: Session, row_id: int, error: str) -> bool:
    return _set(session, row_id, status=OutboxStatus.FAILED, last_error=error[:2000])


def skip(session: Session, row_id: int, reason: str) -> bool:
    """Nothing to deliver on this channel (no chat linked, channel off, ...); kept for the record."""
    return give_up(session, row_id, SKIPPED + reason)


def release(engine: Engine, rows: Iterable[Claimed], now: dt.datetime) -> None:
    """Hand back claims a stopping notifier did not get to, so a restart does not wait for their lease."""
    with session_scope(engine) as session:
        for row in rows:
            retry_at(session, row.id, now, "released on shutdown", count_attempt=False)
