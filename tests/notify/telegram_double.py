"""A local double of the Telegram Bot API (aiohttp), reached by python-telegram-bot through ``base_url``.

It answers ``{base}/bot<token>/<method>`` like the real API: JSON ``{"ok": true, "result": ...}`` with real
object shapes, form-encoded or JSON requests (PTB sends forms with JSON-encoded values), long polling for
``getUpdates``, and the real error bodies (401, 400, 403 blocked, 429 with ``parameters.retry_after``).
Tests act as the seller (``user_sends``, ``user_presses``) and read what the bot sent (``messages``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000000001
BOT_USERNAME = "wbsupply_test_bot"
BLOCKED = "Forbidden: bot was blocked by the user"


@dataclass
class Sent:
    """A message the bot sent, as the double stored it."""

    message_id: int
    chat_id: int
    text: str
    reply_markup: dict[str, Any] | None
    disable_notification: bool
    at: float  # time.monotonic() when it arrived

    @property
    def callback_data(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button["callback_data"] for row in rows for button in row if "callback_data" in button]


@dataclass
class TelegramDouble:
    token: str
    messages: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, float]] = field(default_factory=list)  # (method, monotonic time) of every request
    answers: list[dict[str, Any]] = field(default_factory=list)  # answerCallbackQuery requests
    commands: list[dict[str, Any]] = field(default_factory=list)
    blocked_chats: set[int] = field(default_factory=set)
    down: bool = False  # every method answers 502, as during an outage
    _failures: list[tuple[str, int, str, int | None]] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    url: str = ""
    _runner: web.AppRunner | None = None

    # --- test controls ---------------------------------------------------------------------------------

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None) -> None:
        """The next call of ``method`` answers with this error (queue several for several calls)."""
        self._failures.append((method, status, description, retry_after))

    def flood(self, retry_after: int) -> None:
        self.fail_next("sendMessage", 429, f"Too Many Requests: retry after {retry_after}", retry_after)

    def user_sends(self, chat_id: int, text: str) -> None:
        message: dict[str, Any] = {**self._message_base(chat_id, from_user=True), "text": text}
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self._push({"message": message})

    def user_presses(self, chat_id: int, sent: Sent, data: str) -> None:
        message = {**self._message_base(chat_id, from_user=False), "message_id": sent.message_id, "text": sent.text}
        self._push({"callback_query": {"id": str(next(self._ids) + 10**6), "from": _user(chat_id),
                                       "message": message, "chat_instance": str(chat_id), "data": data}})

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [m for m in self.messages if m.chat_id == chat_id]

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; messages: {[m.text[:60] for m in self.messages]}")
            await asyncio.sleep(0.02)

    # --- server ----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append((method, time.monotonic()))
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        if self.down:
            return _error(502, "Bad Gateway")
        params = await _params(request)
        for index, (name, status, description, retry_after) in enumerate(self._failures):
            if name == method:
                del self._failures[index]
                return _error(status, description, retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    # --- Bot API methods -------------------------------------------------------------------------------

    async def _m_getMe(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "wbsupply", "username": BOT_USERNAME,
                "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_deleteWebhook(self, _: dict[str, Any]) -> bool:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands = params["commands"]
        return True

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones are gone
        if not self._updates and float(params.get("timeout") or 0) > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), float(params["timeout"]))
        return list(self._updates)

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any] | web.Response:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked_chats:
            return _error(403, BLOCKED)
        sent = Sent(next(self._ids), chat_id, params["text"], params.get("reply_markup"),
                    bool(params.get("disable_notification")), time.monotonic())
        self.messages.append(sent)
        result = {**self._message_base(chat_id, from_user=False), "message_id": sent.message_id, "text": sent.text}
        if sent.reply_markup:
            result["reply_markup"] = sent.reply_markup
        return result

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        self.answers.append(params)
        return True

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | web.Response:
        for sent in self.messages:
            if sent.message_id == int(params["message_id"]) and sent.chat_id == int(params["chat_id"]):
                sent.reply_markup = params.get("reply_markup")
                return {**self._message_base(sent.chat_id, from_user=False), "message_id": sent.message_id,
                        "text": sent.text}
        return _error(400, "Bad Request: message to edit not found")

    # --- shapes ----------------------------------------------------------------------------------------

    def _push(self, update: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), **update})
        self._new_update.set()

    def _message_base(self, chat_id: int, *, from_user: bool) -> dict[str, Any]:
        sender = _user(chat_id) if from_user else {"id": BOT_ID, "is_bot": True, "first_name": "wbsupply",
                                                    "username": BOT_USERNAME}
        return {"message_id": next(self._ids), "date": int(time.time()), "from": sender,
                "chat": {"id": chat_id, "type": "private", "first_name": "Продавец"}}


def _user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Продавец", "language_code": "ru"}


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _params(request: web.Request) -> dict[str, Any]:
    """PTB posts forms whose non-string values are JSON; other clients post JSON or query strings."""
    if request.content_type == "application/json":
        return dict(await request.json())
    raw = {**request.query, **(await request.post())}
    params: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            params[key] = json.loads(str(value))
        except ValueError:
            params[key] = str(value)
    return params
