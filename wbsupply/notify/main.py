"""Entry points: the notifier as a component of ``wbsupply up`` and as ``wbsupply notifier`` on its own."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine

from wbsupply.notify.email import Mailer
from wbsupply.notify.service import Clock, Notifier
from wbsupply.notify.settings import NotifierSettings
from wbsupply.notify.telegram import TelegramBot
from wbsupply.process import run_until_signal
from wbsupply.store import make_engine
from wbsupply.store.types import utcnow

log = logging.getLogger("wbsupply.notify")


def build_notifier(engine: Engine, settings: NotifierSettings, *, clock: Clock = utcnow,
                   poll_timeout: float = 10.0) -> Notifier:
    """A notifier with the channels the settings allow; says once which ones are off."""
    telegram = None
    if settings.telegram_bot_token is None:
        log.warning("no Telegram bot token (WBSUPPLY_TELEGRAM_BOT_TOKEN): Telegram messages are skipped, "
                    "e-mail and the cabinet feed still work")
    else:
        telegram = TelegramBot(engine, settings, clock=clock, poll_timeout=poll_timeout)
    mailer = None
    if settings.smtp_host is None:
        log.warning("no SMTP host (WBSUPPLY_SMTP_HOST): e-mail notifications are skipped")
    else:
        mailer = Mailer(settings)
    return Notifier(engine, settings, telegram=telegram, mailer=mailer, clock=clock)


class NotifierComponent:
    """A :class:`wbsupply.process.Component`; ``settings`` is the service ``Settings``
    (or a ready :class:`NotifierSettings` with ``database_url``)."""

    name = "notifier"

    def __init__(self, settings: Any, *, engine: Engine | None = None,
                 notifier_settings: NotifierSettings | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.notifier_settings = notifier_settings or NotifierSettings.from_settings(settings)

    async def run(self, stop: asyncio.Event) -> None:
        engine = self.engine or make_engine(self.settings.resolved_database_url())
        try:
            await build_notifier(engine, self.notifier_settings).run(stop)
        finally:
            if self.engine is None:
                engine.dispose()


def run_notifier(settings: Any) -> None:
    """``wbsupply notifier``: the notifier alone until SIGINT/SIGTERM (migrations are the API's job)."""

    async def main(stop: asyncio.Event) -> None:
        log.info("notifier started")
        await NotifierComponent(settings).run(stop)
        log.info("notifier stopped")

    run_until_signal(main)
