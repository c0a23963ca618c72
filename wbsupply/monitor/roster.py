"""Monitor accounts as the cabinet source sees them: who may be polled, through which session, how often.

:class:`DbRoster` reads the operator's monitor accounts (:mod:`wbsupply.store.monitor_accounts`) and opens
each one's saved browser session with :class:`SavedSessionProvider`. The session is the one the account's
bot keeps alive in its browser (the page refreshes its tokens and the bot saves the new state), so the
monitor never logs in or refreshes on its own: a refresh here would rotate the refresh cookie under the
bot's feet. When the saved session stops working, the bot's three re-authorizations (and then the admins'
alert) take over; the roster notices the new session when the bot saves it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from wbsupply.monitor.sessions import CabinetSession, SessionProvider, SessionUnavailable
from wbsupply.wb import cabinet_spec as spec

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from wbsupply.crypto import SecretBox
    from wbsupply.store.monitor_accounts import MonitorAccountView

log = logging.getLogger("wbsupply.monitor")

RECORD_EVERY_S = 60.0
RENEW_WAIT_S = 1.5  # an account's last good poll is written at most this often (and on every change)


@dataclass(frozen=True)
class Account:
    key: str  # what logs, metrics and the admin panel show: never a phone or a cookie
    version: object  # changes when the account's session does (a dropped account comes back with a new one)
    provider: SessionProvider
    requests_per_minute: float
    account_id: int | None = None


class Roster(Protocol):
    async def load(self) -> list[Account]:
        """The accounts the monitor may poll through now."""
        ...

    async def record(self, account: Account, ok: bool, error: str | None = None) -> None:
        """How the last poll through ``account`` went (for the admin panel)."""
        ...


class StaticRoster:
    """A fixed list (tests, the benchmark, a single session provider)."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = accounts

    async def load(self) -> list[Account]:
        return list(self.accounts)

    async def record(self, account: Account, ok: bool, error: str | None = None) -> None:
        return None


def cookies_for(state: dict[str, object], cabinet_url: str) -> dict[str, str]:
    """The cabinet's cookies out of a Playwright storage state (other sites' cookies stay out)."""
    host = urlsplit(cabinet_url).hostname or ""
    cookies: dict[str, str] = {}
    for cookie in state.get("cookies") or []:  # type: ignore[attr-defined]
        domain = str(cookie.get("domain", "")).lstrip(".")
        if not host or host == domain or host.endswith("." + domain):
            cookies[str(cookie["name"])] = str(cookie.get("value", ""))
    return cookies


class SavedSessionProvider:
    """The session a monitor account's bot saved (encrypted) in the database."""

    def __init__(self, read: Callable[[], MonitorAccountView | None], box: SecretBox, cabinet_url: str,
                 name: str) -> None:
        self._read = read
        self._box = box
        self.cabinet_url = cabinet_url.rstrip("/")
        self.name = name
        self._current: CabinetSession | None = None
        self._blob: bytes | None = None

    async def _load(self) -> CabinetSession:
        import json

        view = await asyncio.to_thread(self._read)
        if view is None or not view.usable or view.session_blob is None:
            raise SessionUnavailable(f"{self.name}: no saved WB session (the account's bot waits for a login)")
        if view.session_blob != self._blob or self._current is None:
            try:
                state = json.loads(self._box.decrypt(view.session_blob))
            except ValueError:
                raise SessionUnavailable(f"{self.name}: saved session cannot be decrypted") from None
            cookies = cookies_for(state, self.cabinet_url)
            if spec.COOKIE_ACCESS not in cookies:
                raise SessionUnavailable(f"{self.name}: saved session has no access cookie")
            self._blob, self._current = view.session_blob, CabinetSession(self.cabinet_url, cookies, self.name)
        return self._current

    async def session(self) -> CabinetSession:
        return self._current or await self._load()

    async def renew(self, stale: CabinetSession) -> CabinetSession:
        """The bot saves a refreshed session whenever its page refreshes tokens: take that one, if newer."""
        for wait_s in (0.0, RENEW_WAIT_S):  # the bot saves a refresh it just made within a turn of its loop
            await asyncio.sleep(wait_s)
            fresh = await self._load()
            if fresh is not stale:
                return fresh
        raise SessionUnavailable(f"{self.name}: the saved session was refused and no newer one is saved")


class DbRoster:
    """Monitor accounts from the database; the ones with a saved session and an active bot are usable."""

    def __init__(self, engine: Engine, secret: str, cabinet_url: str) -> None:
        from wbsupply.crypto import session_box  # only here: the monitor without accounts stays lighter

        self.engine = engine
        self.box = session_box(secret)
        self.cabinet_url = cabinet_url
        self._providers: dict[int, SavedSessionProvider] = {}
        self._recorded: dict[str, tuple[bool, float]] = {}
        self._usable: set[int] = set()
        self.lost: list[str] = []  # accounts whose bot lost the login since the last look (for the admins)

    def _view(self, account_id: int) -> MonitorAccountView | None:
        from wbsupply.store.monitor_accounts import monitor_accounts

        return next((v for v in monitor_accounts(self.engine) if v.account_id == account_id), None)

    async def load(self) -> list[Account]:
        from wbsupply.store.monitor_accounts import monitor_accounts

        views = await asyncio.to_thread(monitor_accounts, self.engine)
        accounts = []
        for view in views:
            if not view.usable:
                if view.account_id in self._usable and view.enabled:
                    self.lost.append(f"monitor#{view.account_id} ({view.label or 'без названия'}): бот ждёт входа "
                                     f"в WB ({view.bot_status}) — подключите аккаунт заново в «Мониторинг»")
                self._usable.discard(view.account_id)
                continue
            self._usable.add(view.account_id)
            provider = self._providers.get(view.account_id)
            if provider is None:
                provider = SavedSessionProvider(lambda i=view.account_id: self._view(i), self.box,  # type: ignore[misc]
                                                self.cabinet_url, f"monitor#{view.account_id}")
                self._providers[view.account_id] = provider
            saved = view.session_saved_at or dt.datetime.min
            accounts.append(Account(provider.name, saved, provider, view.requests_per_minute, view.account_id))
        return accounts

    async def record(self, account: Account, ok: bool, error: str | None = None) -> None:
        from wbsupply.store.monitor_accounts import record_poll

        now = time.monotonic()
        last = self._recorded.get(account.key)
        if last is not None and last[0] == ok and now - last[1] < RECORD_EVERY_S:
            return
        self._recorded[account.key] = (ok, now)
        if account.account_id is not None:
            try:
                await asyncio.to_thread(record_poll, self.engine, account.account_id, ok, error)
            except Exception as exc:  # the database may be down: the poll's result matters more
                log.debug("monitor account poll not recorded (%s)", type(exc).__name__)
