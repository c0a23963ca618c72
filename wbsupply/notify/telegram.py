"""The Telegram adapter (python-telegram-bot): sending one message, and the bot's commands as thin handlers.

The Bot API's answers are mapped to what the outbox needs to decide: sent, retry after N seconds (429),
the seller blocked the bot (403), a permanent refusal, or a transient failure. The work of every command is
in :mod:`wbsupply.notify.commands`; handlers only parse arguments and reply.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from wbsupply.notify import commands, replies, task_create
from wbsupply.notify.messages import ACK_PREFIX, RECONNECT_PREFIX, Message
from wbsupply.notify.outbox import SendResult
from wbsupply.notify.settings import NotifierSettings

log = logging.getLogger("wbsupply.notify.telegram")

# Loggers that may print request URLs, which contain the token.
_URL_LOGGERS = ("httpx", "httpcore", "telegram.Bot", "telegram.ext.Updater", "telegram.ext.Application",
                "telegram.ext.ExtBot", "telegram.request")


class _RedactToken(logging.Filter):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<telegram-token>"), None
        return True


def protect_token(token: str) -> None:
    """Keep the token out of logs even at DEBUG (httpx logs every request URL at INFO)."""
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) and f.token == token for f in logger.filters):
            logger.addFilter(_RedactToken(token))


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)  # int vs timedelta, by PTB_TIMEDELTA
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _markup(message: Message) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data)] for b in message.buttons])


class TelegramBot:
    """The bot: sends the outbox's messages and answers the sellers' commands (long polling)."""

    def __init__(self, engine: Engine, settings: NotifierSettings, *,
                 clock: Callable[[], dt.datetime], poll_timeout: float = 10.0) -> None:
        assert settings.telegram_bot_token is not None
        self.engine = engine
        self.clock = clock
        self.poll_timeout = poll_timeout
        token = settings.telegram_bot_token.get_secret_value()
        protect_token(token)
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().token(token)
            .base_url(settings.telegram_api_base_url).base_file_url(settings.file_base_url)
            .build()
        )
        self._add_handlers()
        self.ready = False

    # --- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (getMe), publish the command list and start long polling; raises if Telegram is down."""
        await self.app.initialize()
        await self.app.bot.set_my_commands([BotCommand(name, text) for name, text in replies.COMMANDS.items()])
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(timeout=int(self.poll_timeout), drop_pending_updates=False,
                                             allowed_updates=["message", "callback_query"])
        self.ready = True
        log.info("telegram bot @%s is polling", self.app.bot.username)

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        self.ready = False

    # --- sending ---------------------------------------------------------------------------------------

    async def send(self, chat_id: int, message: Message, *, silent: bool = False) -> SendResult:
        try:
            await self.app.bot.send_message(
                chat_id, message.telegram_html(), parse_mode=ParseMode.HTML, reply_markup=_markup(message),
                disable_notification=silent, link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except RetryAfter as exc:
            return SendResult(False, retry_after=_retry_seconds(exc), error=str(exc))
        except Forbidden as exc:
            return SendResult(False, blocked=True, error=str(exc))
        except (BadRequest, InvalidToken) as exc:
            return SendResult(False, permanent=True, error=str(exc))
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx: Telegram or the network is down
            return SendResult(False, error=f"{type(exc).__name__}: {exc}")
        return SendResult(True)

    # --- commands (thin: the work is in commands.py) ---------------------------------------------------

    def _add_handlers(self) -> None:
        add = self.app.add_handler
        add(CommandHandler("start", self._start))
        add(CommandHandler("help", self._help))
        add(CommandHandler("status", self._status))
        add(CommandHandler("tasks", self._tasks))
        add(CommandHandler("new", self._new))
        add(CommandHandler("pause", self._pause))
        add(CommandHandler("resume", self._resume))
        add(CommandHandler("code", self._code))
        add(MessageHandler(filters.TEXT & ~filters.COMMAND, self._text))
        add(CallbackQueryHandler(self._button))
        self.app.add_error_handler(self._on_error)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update handling failed: %s", context.error, exc_info=context.error)

    async def _reply(self, update: Update, run: Callable[..., str], *args: Any) -> None:
        chat = update.effective_chat
        if chat is None or update.effective_message is None:
            return
        text = await asyncio.to_thread(run, self.engine, chat.id, *args)
        await update.effective_message.reply_text(text)

    async def _start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.args:
            await self._reply(update, lambda engine, chat_id: commands.link_chat(
                engine, context.args[0] if context.args else "", chat_id, self.clock()))
        else:
            await self._reply(update, lambda _engine, _chat: f"{replies.NOT_LINKED}\n\n{replies.HELP}")

    async def _help(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, lambda _engine, _chat: replies.HELP)

    async def _status(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, commands.status)

    async def _tasks(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, commands.tasks)

    async def _new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, task_create.create, list(context.args or []))

    async def _pause(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, commands.pause, _task_id(context.args))

    async def _resume(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, commands.resume, _task_id(context.args))

    async def _code(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        args = list(context.args or [])
        account_id = int(args[0]) if len(args) == 2 and args[0].isdigit() else None
        await self._reply(update, commands.relay_code, args[-1] if args else "", account_id, self.clock())

    async def _text(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        text = update.effective_message.text if update.effective_message else None
        match = commands.CODE_PATTERN.match(text or "")
        if match:
            await self._reply(update, commands.relay_code, match.group(1), None, self.clock())
        else:
            await self._reply(update, lambda _engine, _chat: replies.HELP)

    async def _button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        chat = update.effective_chat
        if query is None or chat is None:
            return
        data = query.data or ""
        if data.startswith(ACK_PREFIX) and data[len(ACK_PREFIX):].isdigit():
            text = await asyncio.to_thread(commands.acknowledge, self.engine, chat.id, int(data[len(ACK_PREFIX):]),
                                           self.clock())
            if text == replies.ACKNOWLEDGED:
                await query.edit_message_reply_markup(None)  # the button has done its job
        elif data.startswith(RECONNECT_PREFIX) and data[len(RECONNECT_PREFIX):].isdigit():
            text = await asyncio.to_thread(commands.reconnect, self.engine, chat.id, int(data[len(RECONNECT_PREFIX):]))
        else:
            text = replies.ACK_UNKNOWN
        await query.answer(text)


def _task_id(args: list[str] | None) -> int | None:
    if args and args[0].lstrip("№#").isdigit():
        return int(args[0].lstrip("№#"))
    return None
