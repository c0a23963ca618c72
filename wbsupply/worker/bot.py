"""One seller bot: keeps its WB cabinet session, watches slot events and books its tasks one at a time.

Everything that touches the bot's page runs in one loop (``run``), so the page is never used by two
coroutines at once; the feed reader (:class:`~wbsupply.worker.slots.OpenSlots`) only updates the map of
open slots and wakes the loop, which keeps the path from a slot event to ``plan/add`` short.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from playwright.async_api import BrowserContext, Response

from wbsupply.control.base import BotRecord, ControlPlane, Notice, TaskRecord
from wbsupply.crypto import api_token_box, session_box
from wbsupply.domain.machines import ReauthBudget, on_session_lost
from wbsupply.domain.matching import TaskIndex
from wbsupply.domain.reschedule import best_move
from wbsupply.domain.schedule import AUTH_CHECK_INTERVAL, MEMORY_CHECK_INTERVAL, moscow_today
from wbsupply.domain.slots import Slot
from wbsupply.domain.statuses import BotStatus, TaskMode, TaskPhase
from wbsupply.domain.tasks import SupplyTask
from wbsupply.feed.base import SlotFeed
from wbsupply.notify.kinds import NoticeKind
from wbsupply.store.auth import AuthRequestKind, AuthState
from wbsupply.wb import cabinet_spec as spec
from wbsupply.wb.api_client import WbApiClient
from wbsupply.worker.auth import perform_step
from wbsupply.worker.booking import STRATEGIES, Booker, PlanStrategy
from wbsupply.worker.browser import BrowserHost, clear_cache, export_state, import_state
from wbsupply.worker.cabinet import Cabinet, SessionLost
from wbsupply.worker.calendar_check import CalendarCheck
from wbsupply.worker.confirm import ApiConfirmer, CabinetConfirmer, Confirmer, FirstAnswer
from wbsupply.worker.health import HealthState
from wbsupply.worker.slots import OpenSlots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotConfig:
    cabinet_url: str
    secret: str  # the service secret; keys for sessions and API tokens derive from it
    supplies_api_url: str | None = None  # WB public API for confirmations (needs the account's token)
    strategies: tuple[str, ...] = ("rpc", "ui")  # booking strategies in order of preference
    idle_wake_s: float = 1.0  # how often the loop looks at auth requests and timers without events
    tasks_refresh_s: float = 2.0
    heartbeat_s: float = 10.0
    # full reload of the cabinet; a login redirect is noticed every turn
    session_check_s: float = AUTH_CHECK_INTERVAL.total_seconds()
    cache_clear_s: float = 1800.0  # HTTP cache cleared and Chromium's memory trimmed (also right after login)
    trim_memory: bool = True
    memory_check_s: float = MEMORY_CHECK_INTERVAL.total_seconds()
    reconcile_s: float = 60.0  # bookings (and moves) WB did not confirm at once are asked about again
    # where WB has each booked supply the bot moves (``improve``): a move the seller made by hand is followed
    moves_check_s: float = 900.0
    quota_check_s: float = 60.0  # tasks stopped at the limit resume when the quota frees
    rpc_timeout_s: float = 20.0  # a cabinet call unanswered by then is an unknown outcome (WB is asked)
    supplies_refresh_s: float = 60.0  # the seller's cabinet drafts/preorders re-read for the task form
    calendar_check_s: float = 6.0  # the bot's own read of one of its preorders' calendars (calendar_check)


@dataclass
class _Timers:
    due: dict[str, float] = field(default_factory=dict)

    def ready(self, name: str, every: float) -> bool:
        now = time.monotonic()
        if now >= self.due.get(name, 0.0):
            self.due[name] = now + every
            return True
        return False


class Bot:
    def __init__(self, bot_id: int, control: ControlPlane, feed: SlotFeed, host: BrowserHost, config: BotConfig,
                 health: HealthState | None = None, memory: Any = None) -> None:
        self.id, self.control, self.feed, self.host, self.config = bot_id, control, feed, host, config
        self.health = health or HealthState()
        self.memory = memory  # callable -> bytes, shared by bots of one process
        self.box = session_box(config.secret)
        self.tasks: dict[int, TaskRecord] = {}
        self.index = TaskIndex()
        self.wake = asyncio.Event()
        self.open = OpenSlots(feed, self.wake, f"bot {bot_id}")
        self.calendar = CalendarCheck(self.open, config.calendar_check_s, f"bot {bot_id}")
        self.timers = _Timers()
        self.context: BrowserContext | None = None
        self.cabinet: Cabinet | None = None
        self.record: BotRecord | None = None
        self.authorized = False
        self._save_session = False
        self._api: WbApiClient | None = None
        self.current_task: int | None = None
        self._booker_cache: Booker | None = None
        self._notified: set[tuple[str, Slot]] = set()  # notify-only tasks: one message per task and slot
        self._reposition = False  # a task's preorder could not be checked: rebuild the index next refresh

    # --- lifecycle -----------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        reader = asyncio.create_task(self.open.follow(stop), name=f"bot-{self.id}-feed")
        try:
            await self._start()
            while not stop.is_set():
                await self._turn()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(self.wake, stop), self.config.idle_wake_s)
                self.wake.clear()
        finally:
            reader.cancel()
            await self._close()

    async def _start(self) -> None:
        self.record = await self.control.get_bot(self.id)
        await self.control.set_bot_status(self.id, BotStatus.INITIALIZING)
        await self._open_context(import_state(self.record.session_blob, self.box))
        await self.open.load_calendar()
        assert self.cabinet is not None
        if self.record.session_blob and (await self.cabinet.open_supplies()).step == "done":
            await self._authorized(self.record.supplier_id)
        else:
            await self._need_login("Подключите аккаунт WB: введите код из СМС")
        if self.authorized:
            settled = await self._booker().reconcile()
            if settled:
                log.info("bot %s: reconciled %d booking(s) left in flight", self.id, settled)
            await self._reconcile_moves(every=self.timers.ready("moves", self.config.moves_check_s))

    async def _open_context(self, state: dict[str, Any] | None) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):
                await self.context.close()
        self.context = await self.host.new_context(state)
        page = await self.context.new_page()
        page.on("response", self._on_response)
        self.cabinet = Cabinet(page, self.config.cabinet_url, self.config.rpc_timeout_s)
        self._booker_cache = None

    def _on_response(self, response: Response) -> None:
        # The page refreshed its tokens (rotating the refresh cookie): the saved state must follow.
        if spec.REFRESH_PATH in response.url and response.ok:
            self._save_session = True
            self.wake.set()

    async def _close(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):
                if self.authorized:
                    await self.control.save_session(self.id, await export_state(self.context, self.box))
                await self.context.close()
        if self._api is not None:
            await self._api.aclose()

    # --- one turn of the loop ------------------------------------------------------------------------
    async def _turn(self) -> None:
        try:
            await self._auth_requests()
            if self._save_session and self.authorized and self.context is not None:
                self._save_session = False
                await self.control.save_session(self.id, await export_state(self.context, self.box))
            if self.timers.ready("tasks", self.config.tasks_refresh_s):
                await self._refresh_tasks()
            if self.authorized:
                assert self.cabinet is not None
                if self.cabinet.on_login_page() or (
                    self.timers.ready("session", self.config.session_check_s) and not await self._session_alive()
                ):
                    raise SessionLost("the cabinet shows the login form")
                if self.timers.ready("reconcile", self.config.reconcile_s):
                    await self._booker().reconcile()
                    await self._reconcile_moves(every=self.timers.ready("moves", self.config.moves_check_s))
                if self.timers.ready("supplies", self.config.supplies_refresh_s):
                    await self._refresh_supplies()
                if self.calendar.due():
                    await self.calendar.check(self.cabinet, self.tasks.values())
                await self._book_what_fits()
                if self.timers.ready("cache", self.config.cache_clear_s):
                    await clear_cache(self.cabinet.page, trim=self.config.trim_memory)
            if self.timers.ready("heartbeat", self.config.heartbeat_s):
                await self._heartbeat()
        except SessionLost as lost:
            await self._session_lost(str(lost))

    async def _reconcile_moves(self, *, every: bool) -> None:
        """Moves left in flight are settled from WB's word (on every reconcile round); ``every`` booked supply
        the bot moves is looked at on the slower cadence, so a move made by hand in WB's cabinet is followed."""
        changed = await self._booker().reconcile_moves(every=every)
        if changed:
            log.info("bot %s: reconciled %d booked supply(ies) with WB", self.id, changed)

    async def _session_alive(self) -> bool:
        assert self.cabinet is not None
        return (await self.cabinet.open_supplies()).step == "done"

    async def _heartbeat(self) -> None:
        memory = None
        if self.memory is not None and self.timers.ready("memory", self.config.memory_check_s):
            memory = await asyncio.to_thread(self.memory)
            self.health.memory_bytes = memory
        await self.control.heartbeat(self.id, memory_bytes=memory)
        self.health.last_heartbeat = time.monotonic()
        self.health.bots[self.id] = {
            "status": (BotStatus.ACTIVE if self.authorized else BotStatus.WAITING_AUTH).value,
            "auth": "authorized" if self.authorized else "waiting", "current_task": self.current_task,
        }

    # --- authorization -------------------------------------------------------------------------------
    async def _auth_requests(self) -> None:
        step = await self.control.next_auth_step(self.id)
        if step is None or self.cabinet is None:
            return
        self.record = await self.control.get_bot(self.id)
        if self.authorized:
            if step.kind not in (AuthRequestKind.PHONE, AuthRequestKind.RECONNECT):
                await self.control.finish_auth_step(step.id, False, "Аккаунт WB уже подключён")
                return
            self.authorized = False  # the seller reconnects on purpose: start from a clean context
            await self._open_context(None)
        try:
            result = await perform_step(self.cabinet, step, self.record)
        except Exception as exc:
            log.warning("bot %s: auth step failed (%s)", self.id, type(exc).__name__)
            await self.control.finish_auth_step(step.id, False, "Кабинет WB не ответил, попробуйте ещё раз")
            return
        await self.control.finish_auth_step(step.id, result.ok, result.message)
        if step.kind == AuthRequestKind.RECONNECT.value and result.state is AuthState.CODE_SENT:
            # Asked from Telegram («Подключить заново»): the code is awaited there, so say so there.
            await self.control.notify(Notice(self.record.owner_id, NoticeKind.AUTH_CODE_NEEDED,
                                             f"auth_code:{self.id}:{step.id}",
                                             {"account_id": self.id, "phone": self.record.phone,
                                              "account_label": self.record.label}))
        if result.authorized:
            await self._authorized(result.supplier_id)
        else:
            await self.control.set_auth(self.id, result.state.value, result.prompt)
            await self.control.log_event(self.id, f"auth step {step.kind}: {result.state.value}",
                                         level="INFO" if result.ok else "WARNING")

    async def _authorized(self, supplier_id: str | None) -> None:
        assert self.context is not None
        self.authorized = True
        await self.control.save_session(self.id, await export_state(self.context, self.box))
        await self.control.set_auth(self.id, AuthState.AUTHORIZED.value, {}, attempts=0, supplier_id=supplier_id)
        await self.control.set_bot_status(self.id, BotStatus.ACTIVE, error=None)
        await self.control.log_event(self.id, "authorized in the WB cabinet")
        self.record = await self.control.get_bot(self.id)
        self._booker_cache = None
        self.tasks = {}  # rebuild the index with preorders checked in this session
        self.timers.due.pop("tasks", None)
        self.timers.due.pop("cache", None)  # trim right after the login pages are gone
        await self._refresh_tasks()

    async def _need_login(self, why: str) -> None:
        self.authorized = False
        await self.control.set_auth(self.id, AuthState.NEED_PHONE.value, {})
        await self.control.set_bot_status(self.id, BotStatus.WAITING_AUTH, error=why)

    async def _session_lost(self, why: str) -> None:
        """Up to 3 automatic re-authorizations from the saved state, then wait for the seller."""
        log.info("bot %s: WB session lost (%s)", self.id, why)
        await self.control.log_event(self.id, f"WB session lost: {why}", level="WARNING")
        self.record = await self.control.get_bot(self.id)
        budget = ReauthBudget(self.record.auth_attempts)
        while True:
            decision = on_session_lost(budget)
            if not decision.reauthorize:
                break
            budget = decision.budget
            await self.control.set_auth(self.id, AuthState.AUTHORIZED.value, {}, attempts=budget.attempts)
            await self._open_context(import_state(self.record.session_blob, self.box))
            assert self.cabinet is not None
            with contextlib.suppress(Exception):
                if (await self.cabinet.open_supplies()).step == "done":
                    await self._authorized(self.record.supplier_id)
                    await self.control.log_event(self.id, f"re-authorized automatically (attempt {budget.attempts})")
                    return
            await self.control.log_event(self.id, f"automatic re-authorization {budget.attempts} failed",
                                         level="WARNING")
        await self._pause_for_seller()

    async def _pause_for_seller(self) -> None:
        assert self.record is not None
        text = "Сессия WB завершилась, автоматически восстановить её не удалось. Подключите аккаунт WB заново"
        await self._need_login(text)
        for task in await self.control.active_tasks(self.id):
            if task.phase is TaskPhase.WATCHING and str(self.id) not in task.spec.racers:  # racers' bots go on
                await self.control.move_task(task.id, TaskPhase.PENDING, "Бот ждёт повторного подключения WB")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M")
        notice = Notice(self.record.owner_id, NoticeKind.AUTH_LOST, f"auth_lost:{self.id}:{stamp}",
                        {"account_id": self.id, "phone": self.record.phone,
                         "account_label": self.record.label}, admins=True)
        await self.control.notify(notice)
        await self.control.log_event(self.id, "bot paused: WB authorization needed", level="ERROR")

    # --- tasks and slots -----------------------------------------------------------------------------
    async def _refresh_tasks(self) -> None:
        now = dt.datetime.now(dt.UTC)
        fresh: dict[int, TaskRecord] = {}
        for task in await self.control.active_tasks(self.id):
            if task.phase is not TaskPhase.BOOKING and task.spec.is_expired(now):
                await self.control.move_task(task.id, TaskPhase.EXPIRED, "Срок задачи истёк, слот не найден")
                await self.control.notify(Notice(task.owner_id, NoticeKind.TASK_EXPIRED, f"expired:{task.id}",
                                                 {"task_id": task.id}))
                continue
            if task.paused:
                continue
            moved = None
            if task.phase is TaskPhase.PENDING and self.authorized:
                moved = await self.control.move_task(task.id, TaskPhase.WATCHING, "Ищем слот")
            elif task.phase is TaskPhase.QUOTA_EXCEEDED and await self._quota_freed(task):
                moved = await self.control.move_task(task.id, TaskPhase.WATCHING, "Лимит тарифа пополнен, ищем слот")
            if moved is not None:  # the spec stays as this account books it (a racer books its own draft)
                task = replace(moved, spec=task.spec)
            fresh[task.id] = task
        if fresh != self.tasks or self._reposition:
            self._reposition = False
            self.tasks = fresh
            self.index = TaskIndex(await self._positioned(fresh))
            self.wake.set()

    async def _positioned(self, tasks: dict[int, TaskRecord]) -> list[SupplyTask]:
        if not self.authorized:
            return [task.to_domain() for task in tasks.values()]
        positioned = []
        for task in list(tasks.values()):
            try:
                domain = await self._booker().position(task)
            except SessionLost:
                raise
            except Exception as exc:  # the cabinet did not answer: leave the task out until the next refresh
                log.warning("bot %s: preorder of task %s not checked (%s)", self.id, task.id, type(exc).__name__)
                self._reposition = True
                continue
            if domain is None:
                del tasks[task.id]
            else:
                positioned.append(domain)
        return positioned

    async def _quota_freed(self, task: TaskRecord) -> bool:
        """A new month or a bigger plan: checked once a minute, not on every refresh."""
        if self.record is None or not self.timers.ready(f"quota:{task.id}", self.config.quota_check_s):
            return False
        self.record = await self.control.get_bot(self.id)
        return await self.control.quota_left(task.owner_id, self.record.plan_limit) > 0

    async def _refresh_supplies(self) -> None:
        try:
            await self._booker().refresh_supplies()
        except SessionLost:
            raise
        except Exception as exc:  # the form keeps the last list; the next turn tries again
            log.warning("bot %s: cabinet supplies not listed (%s)", self.id, type(exc).__name__)

    async def _book_what_fits(self) -> None:
        """Book the most important fitting (task, slot), one at a time, until nothing fits.

        A slot someone else took is forgotten; a slot one task failed on (its draft is unknown, its supply
        was planned elsewhere, an error before plan/add) stays offered, so the next fitting task tries it at
        once — only that task does not try that slot again in this pass.
        """
        today = moscow_today(dt.datetime.now(dt.UTC))
        await self._notify_what_fits(today)
        await self._improve_what_fits(today)
        tried: set[tuple[str, Slot]] = set()
        while self.open.slots and self.tasks:
            candidate = next((c for c in self.index.candidates(self.open.slots, today)
                              if (c.task.id, c.slot) not in self._notified and (c.task.id, c.slot) not in tried),
                             None)
            if candidate is None:
                return
            task = self.tasks[int(candidate.task.id)]
            if task.spec.mode is TaskMode.NOTIFY:
                self._remember_notified(candidate.task.id, candidate.slot)
            self.current_task = task.id
            try:
                outcome = await self._booker().handle(task, candidate.slot)
            finally:
                self.current_task = None
            if outcome.kind == "taken":
                self.open.forget(candidate.slot.key)
            else:
                tried.add((candidate.task.id, candidate.slot))
            await self._refresh_tasks()

    async def _improve_what_fits(self, today: dt.date) -> None:
        """Booked tasks that keep looking: move each supply to the best better open slot, one at a time."""
        if not self.open.slots:
            return
        for task, booking, moves in await self.control.improvable(self.id):
            booked = booking.slot()
            if booked is None or booking.move_date is not None:
                continue  # a move in flight is settled from WB's word first (reconcile), never sent again blindly
            # WB moves a supply only within its warehouse (a preorder's, or an adopted one, may be off the list).
            spec = task.spec.model_copy(update={"warehouses": [booked.warehouse_id]})
            target = best_move(spec, booked, list(self.open.slots.values()), today, moves)
            if target is None:
                continue
            self.current_task = task.id
            try:
                outcome = await self._booker().move(task, booking, target)
            finally:
                self.current_task = None
            if outcome.kind == "taken":
                self.open.forget(target.key)

    async def _notify_what_fits(self, today: dt.date) -> None:
        """Notify-only tasks: one alert for every fitting open slot, not only for each task's best one (the
        seller books by hand and may prefer a later date); a slot whose price changed is a new alert."""
        for task_id, task in list(self.tasks.items()):
            domain = self.index.get(str(task_id))
            if domain is None or domain.phase is not TaskPhase.WATCHING or domain.spec.mode is not TaskMode.NOTIFY:
                continue
            for slot in sorted(self.open.slots.values()):
                if (domain.id, slot) not in self._notified and domain.accepts(slot, today):
                    self._remember_notified(domain.id, slot)
                    await self._booker().handle(task, slot)

    def _remember_notified(self, task_id: str, slot: Slot) -> None:
        if len(self._notified) > 10_000:
            self._notified.clear()
        self._notified.add((task_id, slot))

    def _booker(self) -> Booker:
        assert self.cabinet is not None and self.record is not None
        if self._booker_cache is None:
            strategies: list[PlanStrategy] = [STRATEGIES[name]() for name in self.config.strategies]
            self._booker_cache = Booker(self.id, self.control, self.cabinet, self._confirmer(), strategies,
                                        self.record.plan_limit)
        self._booker_cache.plan_limit = self.record.plan_limit
        return self._booker_cache

    def _confirmer(self) -> Confirmer:
        assert self.cabinet is not None and self.record is not None
        if self.record.api_token_blob and self.config.supplies_api_url:
            with contextlib.suppress(ValueError):
                token = api_token_box(self.config.secret).decrypt(self.record.api_token_blob).decode()
                if self._api is None:
                    self._api = WbApiClient(self.config.supplies_api_url)
                return FirstAnswer(ApiConfirmer(self._api, token), CabinetConfirmer(self.cabinet))
        return CabinetConfirmer(self.cabinet)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
