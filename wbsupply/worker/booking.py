"""Booking one slot for one task, with honest bookkeeping, and reconciling bookings cut short by a crash.

Order of a booking (each step leaves a state a restarted bot can finish from):
1. reserve the seller's quota (the ``bookings`` row in state reserved is the crash marker);
2. task → Booking, write preorder + slot onto the marker;
3. re-check the date in the preorder's own calendar (``getAcceptanceCosts``);
4. plan it — JSON-RPC ``plan/add`` or the click-through dialog (same interface);
5. confirm with WB (public supplies API, else the cabinet) → commit quota, task Booked; or release quota,
   task back to Watching (slot taken by someone else: no charge, said in the task message and event log).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import sys
from dataclasses import dataclass, replace
from typing import Protocol

from wbsupply.control.base import BookingRecord, ControlPlane, Notice, TaskRecord
from wbsupply.domain.ruformat import ru_date
from wbsupply.domain.slots import Slot
from wbsupply.domain.statuses import TaskMode, TaskPhase
from wbsupply.domain.tasks import SupplyTask
from wbsupply.notify.kinds import NoticeKind
from wbsupply.store.quota import month_key as booking_month
from wbsupply.wb import cabinet_spec as spec
from wbsupply.worker.cabinet import Cabinet, RpcFailure, SessionLost
from wbsupply.worker.confirm import STATUS_NOT_PLANNED, Confirmer, WbUnreachable

log = logging.getLogger(__name__)

# Test hook for crash-safety tests: the worker stops right after WB accepted plan/add, before any
# bookkeeping, announces it on stderr and waits to be killed. Never set in production.
CRASH_POINT_ENV = "WBSUPPLY_TEST_CRASH_POINT"
CONFIRM_ATTEMPTS = 3


class SlotTaken(Exception):
    """The date is no longer bookable (someone else took the last unit, or it closed)."""


class TaskUnworkable(Exception):
    """The task points at something WB does not have (e.g. a draft id that does not exist): only the seller
    can fix it, so retrying on every slot would only hide it."""


class PlanStrategy(Protocol):
    name: str

    async def plan(self, cabinet: Cabinet, preorder_id: int, day: dt.date) -> int | None:
        """Book ``day``; returns the supply id when WB tells it. Raises SlotTaken, RpcFailure, SessionLost."""


class RpcPlan:
    """The page's JSON-RPC ``plan/add`` with the captcha token its own script computes."""

    name = "rpc"

    async def plan(self, cabinet: Cabinet, preorder_id: int, day: dt.date) -> int | None:
        try:
            result = await cabinet.rpc(spec.RPC_PLAN_ADD, {"preorderID": preorder_id, "deliveryDate": day.isoformat()},
                                       captcha=True)
        except RpcFailure as failure:
            if failure.code == spec.RPC_ERR_SLOT_UNAVAILABLE:
                raise SlotTaken(failure.message) from failure
            raise
        supply_id = (result or {}).get("supplyID")
        return int(supply_id) if supply_id else None


class UiPlan:
    """Click-through: «Запланировать поставку» → date → «Выбрать» → «Запланировать» (fallback)."""

    name = "ui"

    async def plan(self, cabinet: Cabinet, preorder_id: int, day: dt.date) -> int | None:
        try:
            return await cabinet.plan_via_dialog(preorder_id, day)
        except RpcFailure as failure:
            if failure.code == spec.RPC_ERR_SLOT_UNAVAILABLE:
                raise SlotTaken(failure.message) from failure
            raise


STRATEGIES: dict[str, type[RpcPlan] | type[UiPlan]] = {"rpc": RpcPlan, "ui": UiPlan}


@dataclass(frozen=True)
class Outcome:
    kind: str  # booked | taken | quota | notified | failed | unconfirmed
    message: str = ""


def slot_words(slot: Slot) -> str:
    name = slot.warehouse_name or f"склад {slot.warehouse_id}"
    price = "бесплатно" if slot.coefficient == 0 else f"коэффициент ×{slot.coefficient}"
    return f"{name}, {ru_date(slot.date)}, {slot.box_type.label}, {price}"


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_POINT_ENV) == name:
        print(f"CRASH POINT {name} reached", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # frozen until the test kills us


class Booker:
    def __init__(self, bot_id: int, control: ControlPlane, cabinet: Cabinet, confirmer: Confirmer,
                 strategies: list[PlanStrategy], plan_limit: int) -> None:
        self.bot_id, self.control, self.cabinet, self.confirmer = bot_id, control, cabinet, confirmer
        self.strategies, self.plan_limit = strategies, plan_limit
        self._draft_preorders: dict[tuple[str, int, str], int] = {}
        self._preorder_warehouse: dict[int, int] = {}

    async def position(self, task: TaskRecord) -> SupplyTask | None:
        """The task as matching should see it, its preorder checked in the cabinet once.

        A preorder is tied to one warehouse in WB's cabinet, so a preorder task can only take slots there
        (its warehouse list narrows to that one). A preorder that is gone or already planned outside the
        bot fails the task instead of booking something else; None means the task is no longer workable.
        """
        preorder_id = task.spec.preorder_id
        if preorder_id is None or task.phase is not TaskPhase.WATCHING:
            return task.to_domain()
        if preorder_id not in self._preorder_warehouse:
            try:
                preorder = await self.cabinet.preorder(preorder_id)
            except RpcFailure as failure:
                if failure.code != spec.RPC_ERR_NOT_FOUND:
                    raise
                await self._failed(task.id, f"Заказ {preorder_id} не найден в кабинете WB")
                return None
            if int(preorder.get("statusID") or 0) != STATUS_NOT_PLANNED:
                text = f"Поставка по заказу {preorder_id} уже запланирована в кабинете WB"
                await self._failed(task.id, text)
                return None
            self._preorder_warehouse[preorder_id] = int(preorder["warehouseID"])
        domain = task.to_domain()
        narrowed = domain.spec.model_copy(update={"warehouses": [self._preorder_warehouse[preorder_id]]})
        return replace(domain, spec=narrowed)

    async def handle(self, task: TaskRecord, slot: Slot) -> Outcome:
        if task.spec.mode is TaskMode.NOTIFY:
            return await self._notify_only(task, slot)
        booking = await self.control.reserve_booking(task, self.plan_limit)
        if booking is None:
            text = "Лимит бронирований по тарифу на этот месяц исчерпан — задача остановлена"
            await self.control.move_task(task.id, TaskPhase.QUOTA_EXCEEDED, text)
            notice = Notice(task.owner_id, NoticeKind.QUOTA_EXCEEDED, f"quota:{task.id}:{booking_month()}",
                            {"task_id": task.id, "slot": slot.to_dict(), "limit": self.plan_limit,
                             "used": self.plan_limit})
            await self.control.notify(notice)
            await self.control.log_event(self.bot_id, "quota exceeded", task_id=task.id)
            return Outcome("quota", text)
        await self.control.move_task(task.id, TaskPhase.BOOKING, f"Бронируем: {slot_words(slot)}")
        try:
            preorder_id = await self._preorder_for(task, slot)
            await self.control.mark_booking_attempt(booking.id, preorder_id=preorder_id, slot=slot)
            booking = replace(booking, preorder_id=preorder_id)
            await self._recheck(preorder_id, slot, task)
            supply_id = await self._plan(preorder_id, slot.date)
        except SlotTaken as taken:
            return await self._lost(task, booking, slot, str(taken))
        except TaskUnworkable as unworkable:
            await self.control.release_booking(booking)
            await self._failed(task.id, str(unworkable))
            return Outcome("failed", str(unworkable))
        except Exception as exc:
            # Unknown outcome (a timeout, a closed page, a dead session): WB decides, not our guess.
            log.warning("bot %s task %s: booking interrupted (%s)", self.bot_id, task.id, type(exc).__name__)
            await self.control.log_event(self.bot_id, f"booking interrupted: {type(exc).__name__}", level="WARNING",
                                         task_id=task.id)
            if booking.preorder_id is None:  # WB was never asked to plan anything
                await self.control.release_booking(booking)
                await self.control.move_task(task.id, TaskPhase.WATCHING, "Не удалось забронировать, ищем дальше")
                outcome = Outcome("failed", "Не удалось забронировать, ищем дальше")
            else:
                outcome = await self.settle(booking, task, slot, None)
            if isinstance(exc, SessionLost):
                raise
            return outcome
        _crash_point("after_plan")
        return await self.settle(booking, task, slot, supply_id)

    async def _notify_only(self, task: TaskRecord, slot: Slot) -> Outcome:
        text = f"Найден подходящий слот: {slot_words(slot)}"
        key = f"slot:{task.id}:{slot.warehouse_id}:{slot.date}:{slot.coefficient}"
        await self.control.notify(Notice(task.owner_id, NoticeKind.SLOT_FOUND, key,
                                         {"task_id": task.id, "slot": slot.to_dict()}))
        return Outcome("notified", text)

    async def _preorder_for(self, task: TaskRecord, slot: Slot) -> int:
        if task.spec.preorder_id is not None:
            return task.spec.preorder_id
        assert task.spec.draft_id is not None  # the spec guarantees one of both
        key = (task.spec.draft_id, slot.warehouse_id, slot.box_type.value)
        if key not in self._draft_preorders:
            try:
                self._draft_preorders[key] = await self.cabinet.create_preorder(*key)
            except RpcFailure as failure:
                if failure.code != spec.RPC_ERR_NOT_FOUND:
                    raise
                raise TaskUnworkable(
                    f"Черновик поставки {task.spec.draft_id} не найден в кабинете WB: проверьте его номер в задаче"
                ) from None
        return self._draft_preorders[key]

    async def _recheck(self, preorder_id: int, slot: Slot, task: TaskRecord) -> None:
        day = await self.cabinet.acceptance_day(preorder_id, slot.date)
        if day is None or not day.get("allowUnload") or int(day.get("coefficient", -1)) < 0:
            raise SlotTaken("дата больше недоступна")
        if int(day["coefficient"]) > task.spec.max_coefficient:
            raise SlotTaken(f"коэффициент вырос до ×{day['coefficient']}")

    async def _plan(self, preorder_id: int, day: dt.date) -> int | None:
        last: Exception | None = None
        for strategy in self.strategies:
            try:
                return await strategy.plan(self.cabinet, preorder_id, day)
            except SlotTaken:
                raise
            except RpcFailure as failure:
                if failure.code == spec.RPC_ERR_REFUSED:
                    raise  # e.g. already planned: the confirmation below tells what WB has
                last = failure
                log.warning("bot %s: %s strategy failed (%s), trying the next", self.bot_id, strategy.name,
                            failure.code)
        assert last is not None
        raise last

    async def _failed(self, task_id: int, reason: str) -> None:
        """The task cannot be booked as written (no such preorder, already planned, ...): stop and say why."""
        moved = await self.control.move_task(task_id, TaskPhase.FAILED, reason)
        await self.control.notify(Notice(moved.owner_id, NoticeKind.BOOKING_FAILED, f"failed:{task_id}",
                                         {"task_id": task_id, "reason": reason}))

    async def _lost(self, task: TaskRecord, booking: BookingRecord, slot: Slot, reason: str) -> Outcome:
        await self.control.release_booking(booking)
        text = f"Слот заняли раньше нас ({slot_words(slot)}): {reason}. Ищем дальше, бронирование не списано"
        await self.control.move_task(task.id, TaskPhase.WATCHING, text)
        key = f"lost:{task.id}:{slot.warehouse_id}:{slot.date}:{booking.id}"
        await self.control.notify(Notice(task.owner_id, NoticeKind.SLOT_LOST, key,
                                         {"task_id": task.id, "slot": slot.to_dict(), "reason": reason}))
        await self.control.log_event(self.bot_id, "slot taken by someone else", task_id=task.id,
                                     payload={"slot": slot.to_dict(), "reason": reason})
        return Outcome("taken", text)

    async def settle(self, booking: BookingRecord, task: TaskRecord | None, slot: Slot,
                     supply_id: int | None) -> Outcome:
        """Ask WB whether the preorder is planned and finish the bookkeeping either way."""
        assert booking.preorder_id is not None
        for attempt in range(CONFIRM_ATTEMPTS):
            try:
                state = await self.confirmer.state(booking.preorder_id, supply_id)
                break
            except WbUnreachable as exc:
                log.warning("bot %s: WB did not confirm booking %s yet (%s)", self.bot_id, booking.id, exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            return Outcome("unconfirmed", "WB не ответил, проверим позже")
        task_id = booking.task_id
        if not state.planned:
            await self.control.release_booking(booking)
            text = "Бронирование не состоялось, ищем дальше, бронирование не списано"
            await self.control.move_task(task_id, TaskPhase.WATCHING, text)
            await self.control.log_event(self.bot_id, "booking not confirmed by WB", task_id=task_id)
            return Outcome("taken", text)
        booked = await self.control.confirm_booking(booking, supply_id=state.supply_id or supply_id, slot=slot)
        text = f"Забронировано: {slot_words(slot)}. Поставка № {state.supply_id or supply_id}"
        await self.control.move_task(task_id, TaskPhase.BOOKED, text)
        await self.control.notify(Notice(booked.owner_id, NoticeKind.BOOKED, f"booked:{task_id}",
                                         {"task_id": task_id, "slot": slot.to_dict(),
                                          "supply_id": state.supply_id or supply_id}))
        await self.control.log_event(self.bot_id, "booked", task_id=task_id,
                                     payload={"slot": slot.to_dict(), "supply_id": state.supply_id or supply_id})
        return Outcome("booked", text)


    async def reconcile(self) -> int:
        """Finish bookings a previous run left in flight (crash, kill -9, lost network); returns how many.

        No marker preorder means WB was never asked: release. Otherwise WB's answer decides — planned
        becomes a confirmed booking, not planned a released one — so nothing is booked or counted twice.
        """
        settled = 0
        open_bookings = await self.control.open_bookings(self.bot_id)
        for booking in open_bookings:
            slot = booking.slot()
            if booking.preorder_id is None or slot is None:
                await self.control.release_booking(booking)
                await self._back_to_watching(booking.task_id)
            elif (await self.settle(booking, None, slot, booking.supply_id)).kind == "unconfirmed":
                continue
            await self.control.log_event(self.bot_id, "interrupted booking reconciled with WB", task_id=booking.task_id)
            settled += 1
        in_flight = {booking.task_id for booking in open_bookings}
        for task in await self.control.active_tasks(self.bot_id):
            if task.phase is TaskPhase.BOOKING and task.id not in in_flight:
                await self._back_to_watching(task.id)
        return settled

    async def _back_to_watching(self, task_id: int) -> None:
        with contextlib.suppress(ValueError):  # the task is not in Booking (already settled)
            await self.control.move_task(task_id, TaskPhase.WATCHING, "Бронирование прервалось, ищем дальше")
