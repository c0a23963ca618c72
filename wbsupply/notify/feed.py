"""The cabinet feed: the notifications a person sees in the web cabinet (the cabinet rows of the outbox).

"Read" is one number per user, the newest row id they have seen (``notification_prefs["feed_seen_id"]``):
opening the feed marks everything shown as read, and no per-row write is needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from wbsupply.notify.kinds import ADMIN_KINDS, TRAITS, Group, NoticeKind, group_of
from wbsupply.notify.messages import render
from wbsupply.store.journal import NotificationChannel, NotificationOutbox

SEEN_KEY = "feed_seen_id"


@dataclass(frozen=True)
class FeedItem:
    id: int
    kind: str
    group: Group
    title: str  # Russian
    text: str  # Russian, plain text
    link: str | None  # cabinet page, relative ("/tasks/12")
    urgent: bool
    at: dt.datetime
    unread: bool


def seen_id(prefs: dict[str, Any] | None) -> int:
    return int((prefs or {}).get(SEEN_KEY) or 0)


def _kinds_of(group: Group) -> list[str]:
    return [kind.value for kind, traits in TRAITS.items() if traits.group is group]


def feed_for(session: Session, user_id: int, limit: int = 50, *, group: Group | None = None,
             admin_only: bool = False, seen: int = 0) -> list[FeedItem]:
    """Newest first. Cabinet rows exist for every notification, whatever the other channels did."""
    query = select(NotificationOutbox).where(NotificationOutbox.user_id == user_id,
                                             NotificationOutbox.channel == NotificationChannel.CABINET)
    if group is not None:
        query = query.where(col(NotificationOutbox.kind).in_(_kinds_of(group)))
    if admin_only:  # the admins' alerts: service kinds, and sellers' troubles copied to the admins
        query = query.where(sa.or_(col(NotificationOutbox.kind).in_(sorted(ADMIN_KINDS)),
                                   col(NotificationOutbox.kind) == NoticeKind.BOT_ERROR.value,
                                   col(NotificationOutbox.kind) == NoticeKind.AUTH_LOST.value))
    rows = session.exec(query.order_by(col(NotificationOutbox.id).desc()).limit(limit)).all()
    items = []
    for row in rows:
        message = render(row.kind, row.payload or {}, "")
        assert row.id is not None
        items.append(FeedItem(row.id, row.kind, group_of(row.kind), message.title, message.text, message.link,
                              message.urgent, row.created_at, row.id > seen))
    return items


def unread_count(session: Session, user_id: int, seen: int) -> int:
    return int(session.execute(
        sa.select(sa.func.count()).select_from(NotificationOutbox).where(
            col(NotificationOutbox.user_id) == user_id,
            col(NotificationOutbox.channel) == NotificationChannel.CABINET, col(NotificationOutbox.id) > seen)
    ).scalar_one())


def newest_id(session: Session, user_id: int) -> int:
    return int(session.execute(
        sa.select(sa.func.max(col(NotificationOutbox.id))).where(
            col(NotificationOutbox.user_id) == user_id,
            col(NotificationOutbox.channel) == NotificationChannel.CABINET)
    ).scalar_one() or 0)
