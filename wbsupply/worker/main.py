"""Entry points of the worker: the embedded runtime's supervisor and ``wbsupply worker --bot ID``.

- ``Supervisor(context)`` — a runtime component (``name = "supervisor"``, ``async run(stop)``): one shared
  Chromium, one bot per WB account that is not STOPPED; accounts added or stopped later are picked up.
- ``run_worker(bot, settings)`` — one bot in this process with its ``/healthz`` (a dedicated cluster pod).
- ``run_pool(path, settings)`` — the bots listed in a file (the operator's ConfigMap, mounted) sharing one browser,
  with one ``/healthz`` (a packed cluster pod): bots added to or removed from the file are picked up or let go
  within seconds, the others keep running.

Only what a worker needs is imported here: no web framework, templates, migrations or sandbox
(``tests/worker/test_worker_pool.py`` checks it in a fresh interpreter).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from wbsupply.config import Settings
from wbsupply.control.base import ControlPlane, Notice
from wbsupply.control.local import LocalControlPlane
from wbsupply.control.mirroring import close_control_plane, cluster_control_plane
from wbsupply.domain.schedule import is_restart_due, next_restart
from wbsupply.domain.statuses import BotStatus
from wbsupply.feed.base import SlotFeed
from wbsupply.notify import outbox
from wbsupply.notify.kinds import NoticeKind
from wbsupply.process import ProcessContext, ensure_secret_key, make_feed, run_until_signal
from wbsupply.store.engine import engine_from_settings, session_scope
from wbsupply.store.models import User, WbAccount
from wbsupply.worker.bot import Bot, BotConfig
from wbsupply.worker.browser import BrowserHost, BrowserOptions
from wbsupply.worker.health import HealthState, pod_memory_bytes, serve_health, tick, tree_pss

log = logging.getLogger(__name__)

SUPERVISE_EVERY_S = 5.0
RESTART_BACKOFF_S = 10.0
CRASH_LOOP_COUNT = 3  # crashes of one bot within the window: the admins are told
CRASH_LOOP_WINDOW = dt.timedelta(minutes=15)


def bot_config(settings: Settings, secret: str) -> BotConfig:
    sandbox = settings.sandbox_url
    return BotConfig(
        cabinet_url=settings.wb_cabinet_url or sandbox,
        supplies_api_url=settings.wb_supplies_api_url or (sandbox if settings.sandbox_enabled else None),
        secret=secret,
        calendar_check_s=settings.bot_calendar_check_seconds,
    )


def browser_options(settings: Settings) -> BrowserOptions:
    return BrowserOptions(executable=settings.resolved_browser_executable(), headless=settings.browser_headless)


def runnable_bots(engine: Any) -> dict[int, dt.datetime | None]:
    """Bots that should run, with the restart moment asked for each (admin's «Перезапустить», or None).

    A blocked seller's bots do not run (in the cluster their SellerBots are paused the same way).
    """
    with session_scope(engine) as session:
        rows = session.exec(
            select(WbAccount.id, WbAccount.next_restart_at)
            .join(User, col(User.id) == col(WbAccount.owner_id))
            .where(col(WbAccount.status) != BotStatus.STOPPED, col(User.active))
        ).all()
    return {bot_id: restart_at for bot_id, restart_at in rows if bot_id is not None}


class Supervisor:
    """Runs every bot of the database in this process, sharing one browser."""

    name = "supervisor"

    @staticmethod
    def memory() -> int:
        """What each bot's heartbeat reports: the PSS of this process tree (the embedded runtime has no limit)."""
        return tree_pss()

    def __init__(self, context: ProcessContext, control: ControlPlane | None = None) -> None:
        self.context = context
        self.settings: Settings = context.settings
        self.feed: SlotFeed = context.feed
        self.engine = engine_from_settings(self.settings)
        self.control = control or LocalControlPlane(self.engine)
        self.config = bot_config(self.settings, ensure_secret_key(self.settings))
        self.health = HealthState()
        context.worker_health = self.health
        self._host: BrowserHost | None = None
        self._bots: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self.instances: dict[int, Bot] = {}  # the running bots, by account id
        self._started: dict[int, dt.datetime] = {}
        self._hold_until: dict[int, dt.datetime] = {}  # a crashed bot waits before its restart
        self._crashes: dict[int, list[dt.datetime]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        ticker = asyncio.create_task(tick(self.health, stop))  # the API's health view reads it
        try:
            while not stop.is_set():
                await self._supervise()
                self.context.status[self.name] = f"{len(self._bots)} bot(s)"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), SUPERVISE_EVERY_S)
        finally:
            for _, bot_stop in self._bots.values():
                bot_stop.set()
            await asyncio.gather(ticker, *(task for task, _ in self._bots.values()), return_exceptions=True)
            if self._host is not None:
                await self._host.stop()
            self.engine.dispose()

    async def _wanted(self) -> dict[int, dt.datetime | None]:
        return await asyncio.to_thread(runnable_bots, self.engine)

    def _control_for(self, bot_id: int) -> ControlPlane:
        return self.control

    async def _let_go(self, bot_id: int) -> None:
        """A bot's task ended (stopped, removed or crashed): its context is closed by the bot itself."""

    async def _supervise(self) -> None:
        wanted = await self._wanted()
        now = dt.datetime.now(dt.UTC)
        for bot_id, (task, bot_stop) in list(self._bots.items()):
            if bot_id not in wanted:
                bot_stop.set()
            elif not bot_stop.is_set() and (reason := self._restart_reason(bot_id, wanted[bot_id], now)):
                bot_stop.set()
                await self._note_restart(bot_id, reason)
            if task.done():
                del self._bots[bot_id]
                self.instances.pop(bot_id, None)
                self.health.bots.pop(bot_id, None)
                if not task.cancelled() and task.exception() is not None:
                    # Only this bot's context is gone: it comes back after a pause, the others never stopped.
                    self._hold_until[bot_id] = now + dt.timedelta(seconds=RESTART_BACKOFF_S)
                    await self._failed(bot_id, task.exception())
                await self._let_go(bot_id)
        for bot_id in wanted.keys() - self._bots.keys():
            if self._hold_until.get(bot_id, now) > now:
                continue
            host = await self._browser()
            bot_stop = asyncio.Event()
            bot = Bot(bot_id, self._control_for(bot_id), self.feed, host, self.config, self.health, self.memory)
            self._bots[bot_id] = (asyncio.create_task(bot.run(bot_stop), name=f"bot-{bot_id}"), bot_stop)
            self.instances[bot_id] = bot
            self._started[bot_id] = now

    def _restart_reason(self, bot_id: int, asked_at: dt.datetime | None, now: dt.datetime) -> str | None:
        started = self._started[bot_id]
        if asked_at is not None and started < asked_at.replace(tzinfo=asked_at.tzinfo or dt.UTC) <= now:
            return "restart requested"
        if is_restart_due(now, str(bot_id), started):
            # The nightly restart (03:00–04:00 Moscow, spread per bot): a fresh context, a fresh page.
            return "daily restart window"
        return None

    async def _browser(self) -> BrowserHost:
        # Started with the first bot: an installation without WB accounts runs no Chromium.
        if self._host is None or not self._host.connected:
            if self._host is not None:
                await self._host.stop()
            self._host = BrowserHost(browser_options(self.settings))
            await self._host.start()
            self.health.browser_connected = lambda: self._host is not None and self._host.connected
        return self._host

    async def _note_restart(self, bot_id: int, reason: str) -> None:
        if isinstance(self.control, LocalControlPlane):
            later = next_restart(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1), str(bot_id))
            await self.control.note_restart(bot_id, reason, later)
        await self.control.log_event(bot_id, f"bot restarted: {reason}")

    async def _failed(self, bot_id: int, error: BaseException | None) -> None:
        log.error("bot %s crashed: %s", bot_id, error)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        reason = f"{type(error).__name__}: {first_line}"[:300]  # Playwright appends a call log: not for people
        now = dt.datetime.now(dt.UTC)
        crashes = [t for t in self._crashes.get(bot_id, []) if now - t < CRASH_LOOP_WINDOW] + [now]
        self._crashes[bot_id] = crashes
        try:
            await self.control.set_bot_status(bot_id, BotStatus.ERROR, error=reason)
            await self.control.log_event(bot_id, f"bot crashed: {reason}", level="ERROR")
            bot = await self.control.get_bot(bot_id)
            # One message per bot and hour: a bot that crashes again at once is the admins' business.
            await self.control.notify(Notice(bot.owner_id, NoticeKind.BOT_ERROR,
                                             f"bot_error:{bot_id}:{now:%Y%m%d%H}",
                                             {"account_id": bot_id, "phone": bot.phone, "account_label": bot.label,
                                              "status": "ERROR", "error": reason,
                                              "reason": "бот аварийно остановился, перезапускаем автоматически"},
                                             admins=True))
            if len(crashes) >= CRASH_LOOP_COUNT:
                payload = {"account_id": bot_id, "phone": bot.phone, "account_label": bot.label,
                           "restarts": len(crashes), "error": reason}
                await asyncio.to_thread(outbox.alert_admins, self.engine, NoticeKind.BOT_CRASH_LOOP, payload,
                                        f"crash_loop:{bot_id}:{now:%Y%m%d%H}")
        except Exception:  # telling people must not stop the supervisor
            log.exception("bot %s: could not record the crash", bot_id)


def read_pool(path: Path) -> dict[int, str]:
    """Account id -> SellerBot name of the bots listed in the pool file; empty while it cannot be read.

    The file is the operator's ConfigMap mounted into the pod: ``{"bots": [{"name": ..., "accountId": ...}]}``.
    The kubelet swaps it atomically (a symlink), so a read never sees half a file.
    """
    try:
        listed = json.loads(path.read_text())["bots"]
        return {int(item["accountId"]): str(item["name"]) for item in listed}
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("pool file %s cannot be read; keeping no bots until it can", path)
        return {}


class PoolSupervisor(Supervisor):
    """The bots of one packed worker pod: those of the pool file, one browser, one context per bot.

    Each bot reports to its own SellerBot (a mirrored control plane per bot); memory is the pod's cgroup
    charge, which is what its limit applies to. The browser starts at once: the pod's probes check it.
    """

    name = "pool"

    @staticmethod
    def memory() -> int:
        return pod_memory_bytes()  # the pod's limit applies to its cgroup

    def __init__(self, context: ProcessContext, pool_file: Path) -> None:
        super().__init__(context)
        self.pool_file = pool_file
        self.members: dict[int, str] = {}
        self._controls: dict[int, ControlPlane] = {}

    async def _wanted(self) -> dict[int, dt.datetime | None]:
        self.members = await asyncio.to_thread(read_pool, self.pool_file)
        runnable = await super()._wanted()
        if not self.members or not self._bots:
            self.health.last_heartbeat = time.monotonic()  # nothing to beat for yet
        return {bot_id: runnable[bot_id] for bot_id in self.members if bot_id in runnable}

    def _control_for(self, bot_id: int) -> ControlPlane:
        # In a pod (the operator sets the namespace) each bot reports to its SellerBot; elsewhere to the database.
        in_pod = bool(os.environ.get("WBSUPPLY_BOT_NAMESPACE"))
        control = cluster_control_plane(LocalControlPlane(self.engine), bot_id, self.members[bot_id], pod=in_pod)
        self._controls[bot_id] = control
        return control

    async def _let_go(self, bot_id: int) -> None:
        control = self._controls.pop(bot_id, None)
        if control is not None:
            await close_control_plane(control)

    async def run(self, stop: asyncio.Event) -> None:
        await self._browser()
        server = asyncio.create_task(serve_health(self.health, "0.0.0.0", self.settings.health_port, stop))
        try:
            await super().run(stop)
        finally:
            for bot_id in list(self._controls):
                await self._let_go(bot_id)
            stop.set()
            await asyncio.gather(server, return_exceptions=True)


def run_pool(pool_file: Path, settings: Settings) -> None:
    """``wbsupply worker --pool FILE``: the bots of a packed worker pod, until SIGTERM."""

    _until_signal(settings, lambda feed, stop: PoolSupervisor(ProcessContext(settings, feed), pool_file).run(stop))


def resolve_bot_id(bot: str, settings: Settings) -> int:
    """``--bot 12`` locally; in a pod ``--bot <SellerBot name>`` with the account id in the environment."""
    if bot.isdigit():
        return int(bot)
    if settings.wb_account_id is None:
        raise SystemExit(f"bot {bot!r} is not an account id and WBSUPPLY_WB_ACCOUNT_ID is not set")
    return settings.wb_account_id


async def serve_one_bot(bot_id: int, settings: Settings, feed: SlotFeed, stop: asyncio.Event,
                        control: ControlPlane | None = None, health_port: int | None = None,
                        bot_name: str | None = None) -> None:
    """One bot, its own browser and its ``/healthz``, until ``stop`` is set.

    Without ``control``: the database, mirrored to the bot's SellerBot CR (``bot_name``) in the cluster.
    """
    engine = engine_from_settings(settings)
    own_control = control is None
    control = control or cluster_control_plane(LocalControlPlane(engine), bot_id, bot_name or str(bot_id))
    host = BrowserHost(browser_options(settings))
    await host.start()
    health = HealthState(browser_connected=lambda: host.connected)
    port = health_port if health_port is not None else settings.health_port
    server = asyncio.create_task(serve_health(health, "0.0.0.0", port, stop))  # pod probes come from outside
    config = bot_config(settings, ensure_secret_key(settings))
    bot = Bot(bot_id, control, feed, host, config, health, pod_memory_bytes)  # the limit applies to the cgroup
    try:
        await bot.run(stop)
    except Exception as exc:  # the pod restarts us; meanwhile the seller and admin see why
        with contextlib.suppress(Exception):
            await control.set_bot_status(bot_id, BotStatus.ERROR, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        stop.set()
        await asyncio.gather(server, return_exceptions=True)
        await host.stop()
        if own_control:
            await close_control_plane(control)
        engine.dispose()


def run_worker(bot: str, settings: Settings) -> None:
    """``wbsupply worker --bot ID``: one bot per process (the cluster's worker pod)."""
    bot_id = resolve_bot_id(bot, settings)

    _until_signal(settings, lambda feed, stop: serve_one_bot(bot_id, settings, feed, stop, bot_name=bot))


def _until_signal(settings: Settings, serve: Callable[[SlotFeed, asyncio.Event], Awaitable[None]]) -> None:
    """Run ``serve`` with the slot feed of the settings until SIGTERM or SIGINT."""

    async def main(stop: asyncio.Event) -> None:
        feed = make_feed(settings)
        try:
            await serve(feed, stop)
        finally:
            await feed.close()

    run_until_signal(main)
