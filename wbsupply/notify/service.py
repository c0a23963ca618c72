"""The notifier: takes due outbox rows and delivers them to Telegram, e-mail and the cabinet.

Decisions per row (skip, send silently, wait for flood control or quiet hours, retry, give up, unlink a chat
that blocked the bot, queue the next urgent reminder) are made here; sending is the adapters' job.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from wbsupply.notify import outbox, urgent
from wbsupply.notify.commands import unlink_blocked_chat
from wbsupply.notify.email import Mailer
from wbsupply.notify.kinds import NoticeKind
from wbsupply.notify.messages import EMAIL_KINDS, PREF_EVENT_OF_KIND, Message, is_urgent, render, with_ack_button
from wbsupply.notify.outbox import Claimed, SendResult
from wbsupply.notify.schedule import QuietHours, backoff, quiet_hours_of, quiet_until
from wbsupply.notify.settings import NotifierSettings
from wbsupply.notify.telegram import TelegramBot
from wbsupply.store import User, begin_immediate, session_scope
from wbsupply.store.journal import NotificationChannel
from wbsupply.store.types import utcnow

log = logging.getLogger("wbsupply.notify")

Clock = Callable[[], dt.datetime]
TELEGRAM_DOWN_RETRY = dt.timedelta(seconds=30)
OFFLINE_CHANNELS = (NotificationChannel.CABINET, NotificationChannel.EMAIL)


@dataclass(frozen=True)
class _Recipient:
    email: str | None
    chat_id: int | None
    prefs: dict[str, Any] = field(default_factory=dict)


def _wants(prefs: dict[str, Any], channel: str, kind: str) -> bool:
    """The cabinet's switches (everything on by default)."""
    if not prefs.get("channels", {}).get(channel, True):
        return False
    event = PREF_EVENT_OF_KIND.get(kind)
    return event is None or bool(prefs.get("events", {}).get(event, True))


class Notifier:
    def __init__(self, engine: Engine, settings: NotifierSettings, *, telegram: TelegramBot | None = None,
                 mailer: Mailer | None = None, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.settings = settings
        self.telegram = telegram
        self.mailer = mailer
        self.clock = clock
        self.telegram_paused_until: dt.datetime | None = None  # flood control applies to the whole bot
        start, end = settings.quiet_hours_start, settings.quiet_hours_end
        self.default_quiet_hours: QuietHours = (start, end) if start is not None and end is not None else None

    async def _db(self, fn: Callable[[Session], Any]) -> Any:
        def run() -> Any:
            with session_scope(begin_immediate(self.engine)) as session:  # reads then writes: take the lock first
                return fn(session)

        return await asyncio.to_thread(run)

    # --- the loop --------------------------------------------------------------------------------------

    async def deliver_due(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and deliver it; on ``stop`` the rest of the batch is handed back at once."""
        s = self.settings
        now = self.clock()
        # Telegram rows stay untouched (not even claimed) while the bot is down or under flood control.
        channels = outbox.SELLER_CHANNELS if self._telegram_wait(now) is None else OFFLINE_CHANNELS
        rows = await asyncio.to_thread(outbox.claim_due, self.engine, now, dt.timedelta(seconds=s.lease_seconds),
                                       s.batch_size, channels)
        for index, row in enumerate(rows):
            if stop is not None and stop.is_set():
                await asyncio.to_thread(outbox.release, self.engine, rows[index:], self.clock())
                break
            try:
                await self._deliver(row)
            except Exception:  # one bad row must not stop the others; its lease makes it due again later
                log.exception("outbox row %s (%s/%s) failed to deliver", row.id, row.channel.value, row.kind)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        keeper = asyncio.create_task(self._keep_telegram_up(stop)) if self.telegram else None
        try:
            while not stop.is_set():
                taken = await self.deliver_due(stop)
                if taken < self.settings.batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.settings.poll_interval_seconds)
        finally:
            if keeper is not None:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
            if self.telegram is not None:
                await self.telegram.stop()

    async def _keep_telegram_up(self, stop: asyncio.Event) -> None:
        """Start the bot, and keep trying while Telegram is unreachable (messages wait in the outbox)."""
        assert self.telegram is not None
        delay = 1.0
        while not stop.is_set():
            try:
                await self.telegram.start()
                return
            except Exception as exc:
                log.warning("telegram is unreachable (%s); retrying in %.0f s", type(exc).__name__, delay)
                with contextlib.suppress(Exception):
                    await self.telegram.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 60.0)

    # --- one row ---------------------------------------------------------------------------------------

    async def _deliver(self, row: Claimed) -> None:
        recipient = await self._db(lambda session: self._recipient(session, row.user_id))
        message = render(row.kind, row.payload, self.settings.cabinet_public_url)
        if row.channel is NotificationChannel.CABINET:
            await self._db(lambda session: outbox.mark_sent(session, row.id, self.clock()))
        elif row.channel is NotificationChannel.EMAIL:
            await self._email(row, recipient, message)
        else:
            await self._telegram(row, recipient, message)

    @staticmethod
    def _recipient(session: Session, user_id: int) -> _Recipient:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return _Recipient(None, None)
        return _Recipient(user.email, user.telegram_chat_id, dict(user.notification_prefs or {}))

    async def _skip(self, row: Claimed, reason: str) -> None:
        await self._db(lambda session: outbox.skip(session, row.id, reason))

    async def _email(self, row: Claimed, recipient: _Recipient, message: Message) -> None:
        if self.mailer is None:
            return await self._skip(row, "e-mail is not configured")
        if row.kind not in EMAIL_KINDS or recipient.email is None:
            return await self._skip(row, "not sent by e-mail")
        if not _wants(recipient.prefs, "email", row.kind):
            return await self._skip(row, "turned off by the seller")
        await self._settle(row, await self.mailer.send(recipient.email, message))

    async def _telegram(self, row: Claimed, recipient: _Recipient, message: Message) -> None:
        now = self.clock()
        admin = bool(row.payload.get("admin_chat"))
        chat_id = (self.settings.telegram_admin_chat_id or recipient.chat_id) if admin else recipient.chat_id
        if self.telegram is None:
            return await self._skip(row, "telegram is not configured")
        if chat_id is None:
            return await self._skip(row, "no telegram chat linked")
        if not admin and not _wants(recipient.prefs, "telegram", row.kind):
            return await self._skip(row, "turned off by the seller")
        chain = is_urgent(row.kind, row.payload) and not admin
        if chain and row.payload.get("repeat") and await self._db(
                lambda session: urgent.is_acknowledged(session, urgent.root_id_of(row))):
            return await self._skip(row, "acknowledged")
        wait_until = self._telegram_wait(now)
        quiet_end = quiet_until(now, quiet_hours_of(recipient.prefs, self.default_quiet_hours))
        if chain and row.payload.get("repeat") and quiet_end:
            wait_until = max(wait_until or quiet_end, quiet_end)  # reminders do not wake anyone up
        if wait_until is not None:
            await self._db(lambda session: outbox.retry_at(session, row.id, wait_until, "waiting", count_attempt=False))
            return None
        if chain:
            message = with_ack_button(message, urgent.root_id_of(row))
        result = await self.telegram.send(chat_id, message, silent=quiet_end is not None)
        if result.blocked and not admin:
            await self._db(lambda session: self._unlink(session, row, chat_id))
        await self._settle(row, result, after_sent=self._next_reminder if chain else None)
        return None

    def _telegram_wait(self, now: dt.datetime) -> dt.datetime | None:
        """When Telegram can take messages again: after flood control, or a bit later if the bot is not up."""
        if self.telegram_paused_until is not None and self.telegram_paused_until > now:
            return self.telegram_paused_until
        if self.telegram is not None and not self.telegram.ready:
            return now + TELEGRAM_DOWN_RETRY
        return None

    def _next_reminder(self, session: Session, row: Claimed) -> None:
        user = session.get(User, row.user_id)
        hours = quiet_hours_of(user.notification_prefs if user else None, self.default_quiet_hours)
        s = self.settings
        urgent.queue_next_reminder(session, row, self.clock(), dt.timedelta(seconds=s.urgent_repeat_seconds),
                                   s.urgent_max_repeats, hours)

    def _unlink(self, session: Session, row: Claimed, chat_id: int) -> None:
        if unlink_blocked_chat(session, row.user_id, chat_id):
            log.warning("user %s blocked the telegram bot; chat unlinked", row.user_id)
            outbox.enqueue(session, row.user_id, NoticeKind.TELEGRAM_BLOCKED, {}, f"telegram_blocked:{row.id}",
                           [NotificationChannel.CABINET])

    async def _settle(self, row: Claimed, result: SendResult,
                      after_sent: Callable[[Session, Claimed], None] | None = None) -> None:
        """Record the outcome of one send, in one short transaction right after it."""
        now = self.clock()
        s = self.settings

        def record(session: Session) -> None:
            if result.ok:
                outbox.mark_sent(session, row.id, now)
                if after_sent is not None:
                    after_sent(session, row)
            elif result.retry_after is not None:
                outbox.retry_at(session, row.id, now + dt.timedelta(seconds=result.retry_after), result.error,
                                count_attempt=False)
            elif result.blocked or result.permanent or row.attempts >= s.max_attempts:
                outbox.give_up(session, row.id, result.error)
            else:
                outbox.retry_at(session, row.id, now + backoff(row.attempts, s.backoff_base_seconds,
                                                               s.backoff_max_seconds), result.error)

        if result.retry_after is not None:
            self.telegram_paused_until = now + dt.timedelta(seconds=result.retry_after)
            log.warning("telegram flood control: pausing for %.0f s", result.retry_after)
        elif not result.ok:
            log.warning("outbox row %s (%s/%s) not delivered: %s", row.id, row.channel.value, row.kind, result.error)
        await self._db(record)
