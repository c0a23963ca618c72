"""Seller notifications raised by the operator when a bot needs attention.

``build_bot_notification`` is pure; ``NotificationHook`` is where records leave the operator. With a
database configured, ``outbox_hook`` queues each as a notice for the notifier (Telegram, e-mail, cabinet);
without one the default hook only logs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import Engine

from wbsupply.domain.statuses import BotStatus
from wbsupply.notify import outbox
from wbsupply.notify.kinds import Notice, NoticeKind
from wbsupply.store.engine import begin_immediate, session_scope
from wbsupply.store.models import WbAccount

logger = logging.getLogger(__name__)

NOTIFY_PHASES = frozenset({BotStatus.ERROR, BotStatus.WAITING_AUTH})

_TEXTS = {
    BotStatus.ERROR: "Бот для кабинета WB №{account} остановился с ошибкой: {detail}",
    BotStatus.WAITING_AUTH: (
        "Бот для кабинета WB №{account} ждёт авторизации: подключите аккаунт WB заново в личном кабинете wbsupply"
    ),
}


@dataclasses.dataclass(frozen=True)
class BotNotification:
    namespace: str
    bot: str
    seller: str
    account_id: str
    phase: BotStatus
    text: str  # Russian, shown to the seller as is
    detail: str  # English, for logs and the admin panel
    created_at: datetime.datetime


NotificationHook = Callable[[BotNotification], Awaitable[None]]


def build_bot_notification(
    namespace: str, bot: str, spec: Mapping[str, Any], phase: BotStatus, detail: str, now: datetime.datetime
) -> BotNotification | None:
    """A record for the seller when the bot enters ERROR or WAITING_AUTH; None for other phases."""
    if phase not in NOTIFY_PHASES:
        return None
    account = str(spec.get("wbAccountRef", {}).get("accountId", ""))
    return BotNotification(
        namespace=namespace,
        bot=bot,
        seller=str(spec.get("seller", "")),
        account_id=account,
        phase=phase,
        text=_TEXTS[phase].format(account=account, detail=detail or "нет подробностей"),
        detail=detail,
        created_at=now,
    )


async def log_notification(notification: BotNotification) -> None:
    """Default hook: log only (the notifier's delivery hook replaces it)."""
    logger.warning(
        "notify seller %s (bot %s/%s): %s",
        notification.seller,
        notification.namespace,
        notification.bot,
        notification.detail,
    )


def outbox_hook(engine: Engine) -> NotificationHook:
    """Queue the operator's findings as notices for the bot's owner (and, for errors, the admins)."""

    def write(notification: BotNotification) -> None:
        if not notification.account_id.isdigit():
            return
        with session_scope(begin_immediate(engine)) as session:
            account = session.get(WbAccount, int(notification.account_id))
            if account is None:
                return
            error = notification.phase is BotStatus.ERROR
            kind = NoticeKind.BOT_ERROR if error else NoticeKind.AUTH_LOST
            stamp = notification.created_at.strftime("%Y%m%d%H")
            payload = {"account_id": account.id, "phone": account.phone, "account_label": account.label,
                       "status": notification.phase.value,
                       "error": notification.detail}
            outbox.enqueue_notice(session, Notice(account.owner_id, kind,
                                                  f"operator:{kind.value}:{account.id}:{stamp}", payload,
                                                  admins=error))

    async def hook(notification: BotNotification) -> None:
        await log_notification(notification)
        await asyncio.to_thread(write, notification)

    return hook
