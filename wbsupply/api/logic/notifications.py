"""Notification settings and linking a Telegram chat with a one-time code.

The notifier consumes codes: a seller sends ``/start CODE`` to our bot, the notifier finds the unused,
unexpired :class:`~wbsupply.store.accounts.TelegramLinkCode`, stores the chat id on the user and marks the
code used.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from wbsupply.api.errors import Invalid
from wbsupply.notify import feed
from wbsupply.store import User
from wbsupply.store.accounts import TelegramLinkCode
from wbsupply.store.types import utcnow

LINK_CODE_TTL = timedelta(minutes=15)
EVENTS = {
    "booked": "Слот забронирован",
    "slot_found": "Найден подходящий слот (режим «только уведомить»)",
    "failed": "Бронирование не удалось или слот перехватили",
    "auth_lost": "Бот потерял вход в WB — нужно переподключить",
    "quota": "Лимит тарифа исчерпан",
}
CHANNELS = ("telegram", "email")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (O/0, I/1): the seller types it


def prefs_view(user: User) -> dict[str, Any]:
    prefs = user.notification_prefs or {}
    return {
        "channels": {channel: bool(prefs.get("channels", {}).get(channel, True)) for channel in CHANNELS},
        "events": {event: bool(prefs.get("events", {}).get(event, True)) for event in EVENTS},
        "telegram_linked": user.telegram_chat_id is not None,
        "email": user.email,
    }


def update_prefs(session: Session, user: User, channels: dict[str, bool], events: dict[str, bool]) -> User:
    unknown = (set(channels) - set(CHANNELS)) | (set(events) - set(EVENTS))
    if unknown:
        raise Invalid(f"Неизвестные настройки: {', '.join(sorted(unknown))}")
    current = prefs_view(user)
    user.notification_prefs = {
        **(user.notification_prefs or {}),  # keys of other features (quiet hours, the feed's read mark) stay
        "channels": {**current["channels"], **{k: bool(v) for k, v in channels.items()}},
        "events": {**current["events"], **{k: bool(v) for k, v in events.items()}},
    }
    session.add(user)
    session.commit()
    return user


def mark_feed_read(writing: Session, user_id: int, newest: int) -> None:
    """Everything in the cabinet feed up to ``newest`` counts as read (one number, see wbsupply.notify.feed).

    ``writing`` must begin its transaction with the write lock (the app's writing sessions): the user row is
    read afresh in it, so a settings change saved meanwhile is kept."""
    user = writing.get(User, user_id)
    if user is None or newest <= feed.seen_id(user.notification_prefs):
        return
    user.notification_prefs = {**(user.notification_prefs or {}), feed.SEEN_KEY: newest}
    writing.add(user)
    writing.commit()


def new_link_code(session: Session, user: User) -> TelegramLinkCode:
    now = utcnow()
    live = select(TelegramLinkCode).where(
        col(TelegramLinkCode.user_id) == user.id, col(TelegramLinkCode.used_at).is_(None)
    )
    for old in session.exec(live):
        session.delete(old)  # one live code per seller: an older one stops working
    code = TelegramLinkCode(
        user_id=user.id or 0,
        code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(8)),
        expires_at=now + LINK_CODE_TTL,
    )
    session.add(code)
    session.commit()
    return code


def unlink_telegram(session: Session, user: User) -> User:
    user.telegram_chat_id = None
    session.add(user)
    session.commit()
    return user
