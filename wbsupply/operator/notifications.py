"""Seller notifications raised by the operator when a bot needs attention.

``build_bot_notification`` is pure; ``NotificationHook`` is where records leave the operator. The
default hook only logs: delivery (Telegram, e-mail, cabinet) belongs to the notifier, which will plug
a hook of its own into ``run(..., notify=...)``.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from wbsupply.domain.statuses import BotStatus

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
