"""The cabinet feed: the seller's notifications as the web cabinet shows them (the cabinet rows of the outbox)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from wbsupply.notify.messages import render
from wbsupply.store.journal import NotificationChannel, NotificationOutbox


@dataclass(frozen=True)
class FeedItem:
    id: int
    kind: str
    title: str  # Russian
    text: str  # Russian, plain text
    link: str | None  # cabinet page, relative ("/tasks/12")
    urgent: bool
    at: dt.datetime


def feed_for(session: Session, user_id: int, limit: int = 50) -> list[FeedItem]:
    """Newest first. Cabinet rows exist for every notification, whatever the other channels did."""
    rows = session.exec(
        select(NotificationOutbox)
        .where(NotificationOutbox.user_id == user_id, NotificationOutbox.channel == NotificationChannel.CABINET)
        .order_by(col(NotificationOutbox.created_at).desc(), col(NotificationOutbox.id).desc())
        .limit(limit)
    ).all()
    items = []
    for row in rows:
        message = render(row.kind, row.payload or {}, "")
        assert row.id is not None
        items.append(FeedItem(row.id, row.kind, message.title, message.text, message.link, message.urgent,
                              row.created_at))
    return items
