"""Booking one slot for one task, with honest bookkeeping, and reconciling bookings cut short by a crash.

Order of a booking (each step leaves a state a restarted bot can finish from; the step names are the crash
points of the kill tests, :data:`STEPS`):
1. ``reserved``: the seller's quota unit is held (the ``bookings`` row in state reserved is the crash marker);
2. ``booking``: task → Booking;
3. ``preorder``: the preorder to plan is known (the task's own, or created from its draft);
4. ``marked``: preorder + slot written onto the marker;
5. ``rechecked``: the date re-checked in the preorder's own calendar (``getAcceptanceCosts``);
6. ``plan_requested``: the marker says we are asking WB now (``plan_requested_at``);
7. ``after_plan``: JSON-RPC ``plan/add`` or the click-through dialog answered;
8. ``confirmed``: WB asked what it has (public supplies API, else the cabinet);
9. ``settled``: :func:`wbsupply.domain.booking.judge` decided ours / not ours and the control plane settled it in
   one transaction (quota commit or release, booking row, task phase and message, outbox, event log).

A booking is ours only if WB shows our preorder planned on exactly our slot and we asked for it; anything
else releases the quota and tells the seller why (back to watching, or failed when planned elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from wbsupply.control.base import BookingRecord, ControlPlane, Notice, TaskRecord
from wbsupply.control.bookings import Adoption, Settlement, SupplyClaimed, cabinet_supplies
from wbsupply.domain.booking import (
    STATUS_NOT_PLANNED,
    Verdict,
    WbPreorder,
    adopted_text,
    judge,
    planned_by_hand_text,
)
from wbsupply.domain.reschedule import WbMove, wb_move
from wbsupply.domain.ruformat import ru_date
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import TaskMode, TaskPhase
from wbsupply.domain.tasks import SupplyTask
from wbsupply.notify.kinds import NoticeKind
from wbsupply.store.quota import month_key as booking_month
from wbsupply.wb import cabinet_spec as spec
from wbsupply.worker.cabinet import Cabinet, RpcFailure, SessionLost
from wbsupply.worker.confirm import Confirmer, WbUnreachable

log = logging.getLogger(__name__)

# Test hook for crash-safety tests: the worker stops at the named step (one of STEPS), announces it on
# stderr and waits to be killed (SIGSTOP, then the test's kill -9). Never set in production.
CRASH_POINT_ENV = "WBSUPPLY_TEST_CRASH_POINT"
STEPS = ("reserved", "booking", "preorder", "marked", "rechecked", "plan_requested", "after_plan", "confirmed",
         "settled")
# The crash points of a move (plan/update): the marker written, WB asked, the move settled.
MOVE_STEPS = ("move_requested", "after_update", "move_settled")
# In-process tests (the randomized one) install a callable here that raises at a step to "kill" the bot there.
crash_hook: Callable[[str, int], None] | None = None
CONFIRM_ATTEMPTS = 3
UNCLEAR_RECHECK_S = 1.0  # after a lost or late answer, "not planned" is asked again once after this pause


class SlotTaken(Exception):
    """The date is no longer bookable (someone else took the last unit, or it closed)."""


class SlotTooSmall(SlotTaken):
    """The date is open but takes fewer pallets than the supply has: not for us, though nobody took it."""


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
    kind: str  # booked | taken (slot gone) | error | failed (task unworkable) | unconfirmed | quota | notified
    # | standdown (racing: another account holds the task's booking)
    message: str = ""


def slot_words(slot: Slot) -> str:
    name = slot.warehouse_name or f"склад {slot.warehouse_id}"
    price = "бесплатно" if slot.coefficient == 0 else f"коэффициент ×{slot.coefficient}"
    return f"{name}, {ru_date(slot.date)}, {slot.box_type.label}, {price}"


def _crash_point(name: str, task_id: int) -> None:
    if crash_hook is not None:
        crash_hook(name, task_id)
    if os.environ.get(CRASH_POINT_ENV) == name:
        print(f"CRASH POINT {name} reached", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # frozen until the test kills us


class Booker:
    def __init__(self, bot_id: int, control: ControlPlane, cabinet: Cabinet, confirmer: Confirmer,
                 strategies: list[PlanStrategy], plan_limit: int) -> None:
        self.bot_id, self.control, self.cabinet, self.confirmer = bot_id, control, cabinet, confirmer
        self.strategies, self.plan_limit = strategies, plan_limit
        # (task, draft, warehouse, box type) -> the preorder this task made from its draft
        self._draft_preorders: dict[tuple[int, str, int, str], int] = {}
        self._preorder_warehouse: dict[int, int] = {}
        self._drafts_seen: set[str] = set()
        self._planned: set[int] = set()  # preorders this bot saw booked: never sent to plan/add again

    # --- the cabinet's drafts and preorders --------------------------------------------------------------
    async def refresh_supplies(self) -> dict[str, object]:
        """Read the seller's drafts and preorders (planned ones marked) in the cabinet; the task form offers them."""
        listing = await self.cabinet.list_supplies()
        supplies = cabinet_supplies(listing)
        # A draft is known if the cabinet lists it, or lists a preorder made from it (WB may file the draft away).
        self._drafts_seen = {str(d.get("draftID")) for d in listing.get("drafts") or []} | {
            str(p.get("draftID")) for p in listing.get("preorders") or [] if p.get("draftID")}
        await self.control.save_cabinet_supplies(self.bot_id, supplies)
        return supplies

    async def _draft_known(self, draft_id: str) -> bool:
        """Known from the last listing, else read the cabinet's list again (a draft made a second ago counts):
        a task is failed only on a listing read after it was seen."""
        if draft_id in self._drafts_seen:
            return True
        await self.refresh_supplies()
        return draft_id in self._drafts_seen

    async def position(self, task: TaskRecord) -> SupplyTask | None:
        """The task as matching should see it, its draft or preorder checked in the cabinet first.

        A draft id WB does not have fails the task at once (no slot needed). A preorder is tied to one
        warehouse in WB's cabinet, so a preorder task can only take slots there (its warehouse list narrows
        to that one). A preorder that is gone fails the task; one already planned outside the bot is never
        sent to ``plan/add``: a task that moves its supply (``improve``) adopts it, any other fails with the
        way out. None means the task is no longer watching.
        """
        if task.phase is not TaskPhase.WATCHING:
            return task.to_domain()
        preorder_id = task.spec.preorder_id
        if preorder_id is None:
            draft_id = task.spec.draft_id
            if draft_id is not None and task.spec.mode is TaskMode.BOOK and not await self._draft_known(draft_id):
                await self._failed(task, f"Черновик поставки «{_short(draft_id)}» не найден в кабинете WB: "
                                         "выберите черновик из списка в задаче или исправьте номер")
                return None
            return task.to_domain()
        if preorder_id not in self._preorder_warehouse:
            try:
                preorder = await self.cabinet.preorder(preorder_id)
            except RpcFailure as failure:
                if failure.code != spec.RPC_ERR_NOT_FOUND:
                    raise
                await self._failed(task, f"Заказ {preorder_id} не найден в кабинете WB")
                return None
            if int(preorder.get("statusID") or 0) != STATUS_NOT_PLANNED:
                await self._planned_already(task, preorder_id)
                return None
            self._preorder_warehouse[preorder_id] = int(preorder["warehouseID"])
        domain = task.to_domain()
        narrowed = domain.spec.model_copy(update={"warehouses": [self._preorder_warehouse[preorder_id]]})
        return replace(domain, spec=narrowed)

    async def _planned_already(self, task: TaskRecord, preorder_id: int) -> None:
        """WB has the task's preorder planned already (the seller did it by hand). A task that moves its supply
        to a better slot takes it over as it is, WB's word on it decides where it is; any other task stops and
        says how to make the bot improve it. WbUnreachable leaves the task for the next refresh."""
        wb = await self.confirmer.state(preorder_id)
        if wb is None:
            await self._failed(task, f"Заказ {preorder_id} не найден в кабинете WB")
            return
        booking_task = task.spec.mode is TaskMode.BOOK
        if not (booking_task and task.spec.improve is not None and wb.movable):
            await self._failed(task, planned_by_hand_text(preorder_id, wb, offer=booking_task))
            return
        assert wb.warehouse_id is not None and wb.supply_date is not None and wb.box_type is not None  # movable
        slot = Slot(SlotKey(wb.warehouse_id, wb.supply_date, wb.box_type), round(wb.coefficient or 0), True,
                    None, wb.warehouse_name or "")
        text = adopted_text(preorder_id, wb)
        payload = {"slot": {**slot.to_dict(), "coefficient": wb.coefficient}, "supply_id": wb.supply_id,
                   "preorder_id": preorder_id}
        notice = Notice(task.owner_id, NoticeKind.BOOKED, f"adopted:{task.id}:{wb.supply_id}",
                        {"task_id": task.id, "adopted": True, **payload})
        try:
            await self.control.adopt(self.bot_id, task.id, Adoption(preorder_id, slot, wb.coefficient, wb.supply_id,
                                                                    text, notice, payload))
        except SupplyClaimed as claimed:
            await self._failed(task, f"Поставка № {claimed.supply_id} по заказу {preorder_id} уже забронирована "
                                     f"задачей № {claimed.task_id}")
            return
        self._planned.add(preorder_id)

    # --- one booking ---------------------------------------------------------------------------------
    async def handle(self, task: TaskRecord, slot: Slot) -> Outcome:
        if task.spec.mode is TaskMode.NOTIFY:
            return await self._notify_only(task, slot)
        if task.spec.preorder_id in self._planned:  # another task (made before claims) booked this preorder
            text = f"Поставка по заказу {task.spec.preorder_id} уже запланирована в кабинете WB"
            await self._failed(task, text)
            return Outcome("failed", text)
        booking = await self.control.reserve_booking(task, self.plan_limit, self.bot_id)
        if booking is not None and booking.account_id not in (None, self.bot_id):
            return await self._stand_down(task, booking, slot)
        if booking is None:
            text = "Лимит бронирований по тарифу на этот месяц исчерпан — задача остановлена"
            await self.control.move_task(task.id, TaskPhase.QUOTA_EXCEEDED, text)
            notice = Notice(task.owner_id, NoticeKind.QUOTA_EXCEEDED, f"quota:{task.id}:{booking_month()}",
                            {"task_id": task.id, "slot": slot.to_dict(), "limit": self.plan_limit,
                             "used": self.plan_limit})
            await self.control.notify(notice)
            await self.control.log_event(self.bot_id, "quota exceeded", task_id=task.id)
            return Outcome("quota", text)
        _crash_point("reserved", task.id)
        await self.control.move_task(task.id, TaskPhase.BOOKING, f"Бронируем: {slot_words(slot)}")
        _crash_point("booking", task.id)
        try:
            preorder_id = await self._preorder_for(task, slot, booking)
            _crash_point("preorder", task.id)
            await self.control.mark_booking_attempt(booking.id, preorder_id=preorder_id, slot=slot)
            booking = replace(booking, preorder_id=preorder_id, warehouse_id=slot.warehouse_id,
                              slot_date=slot.date, box_type=slot.box_type, coefficient=slot.coefficient)
            _crash_point("marked", task.id)
            await self._recheck(preorder_id, slot, task)
            _crash_point("rechecked", task.id)
            await self.control.mark_plan_requested(booking.id)
            booking = replace(booking, plan_requested=True)
            _crash_point("plan_requested", task.id)
            supply_id = await self._plan(preorder_id, slot.date)
            _crash_point("after_plan", task.id)
        except SlotTaken as taken:
            return await self._lost(booking, slot, str(taken), too_small=isinstance(taken, SlotTooSmall))
        except TaskUnworkable as unworkable:
            return await self._not_ours(booking, slot, str(unworkable), "task unworkable")
        except Exception as exc:
            # Unknown outcome (a timeout, a lost answer, a closed page, a dead session): WB decides, not our guess.
            log.warning("bot %s task %s: booking interrupted (%s)", self.bot_id, task.id, type(exc).__name__)
            await self.control.log_event(self.bot_id, f"booking interrupted: {type(exc).__name__}", level="WARNING",
                                         task_id=task.id)
            if not booking.plan_requested:  # WB was never asked to plan anything
                text = "Не удалось забронировать, ищем дальше. Бронирование не списано"
                outcome = await self._settle_lost(booking, TaskPhase.WATCHING, text, "booking failed before plan/add",
                                                  kind="error")
            else:
                outcome = await self.confirm(booking, slot, None, unclear=True)
            if isinstance(exc, SessionLost):
                raise
            return outcome
        return await self.confirm(booking, slot, supply_id)

    async def _stand_down(self, task: TaskRecord, booking: BookingRecord, slot: Slot) -> Outcome:
        """Racing: another of the seller's accounts holds the task's booking. This bot never asks WB to plan
        (two supplies for one task are impossible); it only notes it and leaves the task to the holder."""
        text = f"Задачу бронирует другой аккаунт WB (№ {booking.account_id})"
        await self.control.log_event(self.bot_id, "racing: another account books this task", task_id=task.id,
                                     payload={"slot": slot.to_dict(), "holder": booking.account_id})
        return Outcome("standdown", text)

    # --- rescheduling ------------------------------------------------------------------------------------
    async def move(self, task: TaskRecord, booking: BookingRecord, slot: Slot) -> Outcome:
        """Move a booked supply to a better slot with ``plan/update``: WB moves it or leaves it where it was
        (never cancel-then-book), and only WB showing the supply on the new slot makes it a move.

        The move marker (the target slot) is written before ``plan/update`` is sent and cleared only when WB's
        word settled the move either way; a marker a crash or a lost answer left is settled by
        :meth:`reconcile_moves`, never by sending ``plan/update`` again blindly (:data:`MOVE_STEPS`)."""
        assert booking.preorder_id is not None
        try:
            await self._recheck(booking.preorder_id, slot, task)
        except SlotTaken as taken:
            return await self._move_missed(task, booking, slot, "taken", str(taken))
        except SessionLost:
            raise
        except Exception as exc:  # WB was not asked to move anything
            return await self._move_missed(task, booking, slot, "error", f"календарь не ответил ({type(exc).__name__})")
        await self.control.mark_move_requested(booking.id, slot)
        booking = replace(booking, move_date=slot.date, move_coefficient=slot.coefficient)
        _crash_point("move_requested", task.id)
        params = {"preorderID": booking.preorder_id, "deliveryDate": slot.date.isoformat()}
        unclear = True
        try:
            await self.cabinet.rpc(spec.RPC_PLAN_UPDATE, params, captcha=True)
            unclear = False
        except RpcFailure as failure:
            if failure.code == spec.RPC_ERR_SLOT_UNAVAILABLE:
                return await self._move_missed(task, booking, slot, "taken", failure.message)
            log.warning("bot %s task %s: plan/update failed (%s)", self.bot_id, task.id, failure.code)
        except SessionLost:
            raise  # the marker stays: WB is asked once the session is back
        except Exception as exc:  # an unclear answer: WB's word below decides
            log.warning("bot %s task %s: plan/update interrupted (%s)", self.bot_id, task.id, type(exc).__name__)
        _crash_point("after_update", task.id)
        outcome = await self._settle_move(task, booking, unclear=unclear)
        _crash_point("move_settled", task.id)
        return outcome

    async def _settle_move(self, task: TaskRecord, booking: BookingRecord, *, unclear: bool = False) -> Outcome:
        """Ask WB where the supply is and bring the record in line, in one transaction: on the marker's slot →
        the move is settled (counted once); on the booked slot → the marker is cleared, "not moved"; on another
        date → moved outside the bot, the record follows WB. WB unreachable → the marker stays for later.
        ``unclear``: WB may still be working on the move, so the booked slot is asked about once more."""
        booked, target = booking.slot(), booking.move_target()
        assert booked is not None
        # A look for hand moves asks once (it comes again on its cadence); a move in flight is worth retries.
        wb = await self._ask_wb(booking, booking.supply_id, attempts=CONFIRM_ATTEMPTS if target else 1)
        verdict = WbMove.UNKNOWN if wb is False else wb_move(wb, booking.supply_id, booked.key,
                                                             target.key if target else None)
        if unclear and target is not None and verdict is WbMove.STAYED:
            await asyncio.sleep(UNCLEAR_RECHECK_S)
            wb = await self._ask_wb(booking, booking.supply_id)
            verdict = WbMove.UNKNOWN if wb is False else wb_move(wb, booking.supply_id, booked.key, target.key)
        if wb is False:
            return Outcome("unconfirmed", "WB не ответил, проверим позже")
        if verdict is WbMove.MOVED:
            assert target is not None
            return await self._moved(task, booking, target, booked)
        if verdict is WbMove.ELSEWHERE:
            assert wb is not None and wb.supply_date is not None
            return await self._moved_outside(task, booking, booked, wb)
        if target is None:
            return Outcome("checked", "")  # WB has it where the record says (or nothing to follow)
        if verdict is WbMove.STAYED:
            return await self._move_missed(task, booking, target, "error", "WB показывает поставку на прежнем слоте")
        # Not planned, gone or another supply: not a move of ours; the marker goes, the history says what WB showed.
        return await self._move_missed(task, booking, target, "error",
                                       "WB не показывает поставку запланированной на этом складе", level="WARNING")

    async def _moved(self, task: TaskRecord, booking: BookingRecord, slot: Slot, old: Slot | None) -> Outcome:
        moved_from = None if old is None else {"date": old.date.isoformat(), "coefficient": old.coefficient}
        payload = {"slot": slot.to_dict(), "supply_id": booking.supply_id, "moved_from": moved_from}
        notice = Notice(booking.user_id, NoticeKind.BOOKED, f"moved:{task.id}:{slot.date}:{slot.coefficient}",
                        {"task_id": task.id, **payload})
        record = await self.control.settle_move(self.bot_id, booking, slot, notice, payload)
        return Outcome("moved", record.message or "")

    async def _moved_outside(self, task: TaskRecord, booking: BookingRecord, booked: Slot, wb: WbPreorder) -> Outcome:
        """WB has the supply on a date the bot never asked for (the seller moved it in WB's cabinet)."""
        assert wb.supply_date is not None
        slot = Slot(SlotKey(booked.warehouse_id, wb.supply_date, booked.box_type), round(wb.coefficient or 0), True,
                    None, booked.warehouse_name)
        was = {"date": booked.date.isoformat(), "coefficient": booking.coefficient}
        payload = {"slot": slot.to_dict(), "supply_id": booking.supply_id, "wb_moved": True, "was": was}
        notice = Notice(booking.user_id, NoticeKind.BOOKED, f"wb_moved:{task.id}:{wb.supply_date}",
                        {"task_id": task.id, **payload})
        record = await self.control.follow_wb(self.bot_id, booking, slot, wb.coefficient, notice, payload)
        return Outcome("followed", record.message or "")

    async def _move_missed(self, task: TaskRecord, booking: BookingRecord, slot: Slot, kind: str, reason: str, *,
                           level: str = "INFO") -> Outcome:
        """The supply stays on its slot; the move marker goes and the task's history says why the better slot
        was not taken (one transaction)."""
        await self.control.move_missed(self.bot_id, booking, {"slot": slot.to_dict(), "reason": reason},
                                       level=level)
        return Outcome(kind, f"Перенести не удалось ({slot_words(slot)}): {reason}. Поставка осталась на своём слоте")

    async def reconcile_moves(self, *, every: bool) -> int:
        """Settle moves a previous run (or a lost answer) left in flight, and (``every``) look at where WB has
        each booked supply that the bot may move, to follow a move the seller made by hand. Returns how many
        records changed; a supply WB could not be asked about keeps its marker for the next round."""
        changed = 0
        for task, booking in await self.control.booked_supplies(self.bot_id):
            if booking.move_date is None and not every:
                continue
            try:
                outcome = await self._settle_move(task, booking)
            except SessionLost:
                raise
            except Exception as exc:  # one supply's trouble must not stop the others; the next round asks again
                log.warning("bot %s task %s: move not reconciled (%s)", self.bot_id, task.id, type(exc).__name__)
                continue
            if outcome.kind in ("moved", "followed") or (booking.move_date is not None and outcome.kind == "error"):
                changed += 1
        return changed

    async def _notify_only(self, task: TaskRecord, slot: Slot) -> Outcome:
        text = f"Найден подходящий слот: {slot_words(slot)}"
        key = f"slot:{task.id}:{slot.warehouse_id}:{slot.date}:{slot.coefficient}"
        await self.control.notify(Notice(task.owner_id, NoticeKind.SLOT_FOUND, key,
                                         {"task_id": task.id, "slot": slot.to_dict()}))
        return Outcome("notified", text)

    async def _preorder_for(self, task: TaskRecord, slot: Slot, booking: BookingRecord) -> int:
        """The task's preorder, or the one this task made from its draft for this warehouse and box type.

        Preorders made from a draft belong to the task that made them (never shared between tasks); the
        last one is kept on the task's booking row, so a restarted bot reuses it instead of making another.
        """
        if task.spec.preorder_id is not None:
            return task.spec.preorder_id
        assert task.spec.draft_id is not None  # the spec guarantees one of both
        key = (task.id, task.spec.draft_id, slot.warehouse_id, slot.box_type.value)
        if (key not in self._draft_preorders and booking.preorder_id is not None
                and booking.warehouse_id == slot.warehouse_id and booking.box_type is slot.box_type):
            self._draft_preorders[key] = booking.preorder_id
        if key not in self._draft_preorders:
            try:
                self._draft_preorders[key] = await self.cabinet.create_preorder(*key[1:])
            except RpcFailure as failure:
                if failure.code != spec.RPC_ERR_NOT_FOUND:
                    raise
                raise TaskUnworkable(
                    f"Черновик поставки «{_short(task.spec.draft_id)}» не найден в кабинете WB: "
                    "выберите черновик из списка в задаче или исправьте номер"
                ) from None
        return self._draft_preorders[key]

    async def _recheck(self, preorder_id: int, slot: Slot, task: TaskRecord) -> None:
        day = await self.cabinet.acceptance_day(preorder_id, slot.date)
        if day is None or not day.get("allowUnload") or int(day.get("coefficient", -1)) < 0:
            raise SlotTaken("дата больше недоступна")
        if int(day["coefficient"]) > task.spec.max_coefficient:
            raise SlotTaken(f"коэффициент вырос до ×{day['coefficient']}")
        pallets, left = task.spec.pallet_count, day.get("palletsLeft")
        if pallets is not None and isinstance(left, int) and left < pallets:
            raise SlotTooSmall(f"на эту дату склад примет ещё {left} палл., а в поставке {pallets}")

    async def _plan(self, preorder_id: int, day: dt.date) -> int | None:
        """Book with the first strategy that answers. After an unclear failure WB is asked before the next
        strategy is tried: a preorder WB already planned is never sent to ``plan/add`` a second time."""
        last: Exception | None = None
        for index, strategy in enumerate(self.strategies):
            if index and last is not None:
                try:
                    wb = await self.confirmer.state(preorder_id)
                except WbUnreachable:
                    raise last from None
                if wb is None or wb.planned:
                    raise last  # WB has it planned (or has no such preorder): the confirmation decides
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

    # --- settling --------------------------------------------------------------------------------------
    async def confirm(self, booking: BookingRecord, slot: Slot, supply_id: int | None, *,
                      unclear: bool = False) -> Outcome:
        """Ask WB what it has for the preorder, judge it against our slot and settle the booking either way.

        ``unclear``: plan/add got no usable answer (lost, timed out), so WB may still be working on it; "not
        planned" is asked once more after a moment before the quota is given back.
        """
        assert booking.preorder_id is not None
        wb = await self._ask_wb(booking, supply_id)
        if wb is False:
            return Outcome("unconfirmed", "WB не ответил, проверим позже")
        if unclear and (wb is None or not wb.planned):
            await asyncio.sleep(UNCLEAR_RECHECK_S)
            wb = await self._ask_wb(booking, supply_id)
            if wb is False:
                return Outcome("unconfirmed", "WB не ответил, проверим позже")
        _crash_point("confirmed", booking.task_id)
        verdict = judge(wb, slot.key, asked=booking.plan_requested, preorder_id=booking.preorder_id)
        if verdict.ours:
            assert wb is not None
            try:
                outcome = await self._booked(booking, slot, wb.supply_id or supply_id, wb)
            except SupplyClaimed as claimed:  # e.g. two tasks (made before claims) on one preorder
                reason = (f"Поставка № {claimed.supply_id} по заказу {booking.preorder_id} уже забронирована "
                          f"задачей № {claimed.task_id}")
                outcome = await self._not_ours(booking, slot, reason, "booking not ours: claimed by another task",
                                               wb=wb)
        elif verdict.verdict is Verdict.NOT_BOOKED:
            text = (f"Бронирование не состоялось ({slot_words(slot)}): WB не показывает поставку на этот слот. "
                    "Ищем дальше, бронирование не списано")
            outcome = await self._settle_lost(booking, TaskPhase.WATCHING, text, "booking not confirmed by WB",
                                              kind="taken", slot=slot, reason=verdict.reason)
        else:
            outcome = await self._not_ours(booking, slot, verdict.reason, f"booking not ours: {verdict.verdict}",
                                           wb=wb)
        _crash_point("settled", booking.task_id)
        return outcome

    async def _ask_wb(self, booking: BookingRecord, supply_id: int | None, *, attempts: int = CONFIRM_ATTEMPTS
                      ) -> WbPreorder | Literal[False] | None:
        """WB's preorder (None: WB has no such preorder); False when WB could not be asked."""
        assert booking.preorder_id is not None
        for attempt in range(attempts):
            try:
                return await self.confirmer.state(booking.preorder_id, supply_id)
            except WbUnreachable as exc:
                log.warning("bot %s: WB did not confirm booking %s yet (%s)", self.bot_id, booking.id, exc)
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.5 * (attempt + 1))
        return False

    async def _booked(self, booking: BookingRecord, slot: Slot, supply_id: int | None, wb: WbPreorder) -> Outcome:
        text = f"Забронировано: {slot_words(slot)}. Поставка № {supply_id}"
        payload = {"slot": slot.to_dict(), "supply_id": supply_id, "preorder_id": booking.preorder_id}
        notice = Notice(booking.user_id, NoticeKind.BOOKED, f"booked:{booking.task_id}",
                        {"task_id": booking.task_id, "slot": slot.to_dict(), "supply_id": supply_id})
        await self.control.settle(self.bot_id, booking, Settlement(
            TaskPhase.BOOKED, text, "booked", slot=slot, supply_id=supply_id, notices=(notice,), payload=payload))
        if booking.preorder_id is not None:
            self._planned.add(booking.preorder_id)
            self._preorder_warehouse.pop(booking.preorder_id, None)  # re-checked (planned) if a task names it
        return Outcome("booked", text)

    async def _lost(self, booking: BookingRecord, slot: Slot, reason: str, *, too_small: bool = False) -> Outcome:
        lead = "Слот не подошёл" if too_small else "Слот заняли раньше нас"
        text = f"{lead} ({slot_words(slot)}): {reason}. Ищем дальше, бронирование не списано"
        return await self._settle_lost(booking, TaskPhase.WATCHING, text, "slot taken by someone else",
                                       kind="taken", slot=slot, reason=reason)

    async def _not_ours(self, booking: BookingRecord, slot: Slot, reason: str, event: str,
                        wb: WbPreorder | None = None) -> Outcome:
        """WB's supply is not the one we booked (planned elsewhere, gone, unknown draft): the task fails."""
        text = f"{reason}. Бронирование не списано"
        notice = Notice(booking.user_id, NoticeKind.BOOKING_FAILED, f"failed:{booking.task_id}:{booking.id}",
                        {"task_id": booking.task_id, "reason": text})
        payload = {"slot": slot.to_dict(), "reason": reason}
        if wb is not None:
            payload["wb"] = {"status_id": wb.status_id, "supply_id": wb.supply_id, "warehouse_id": wb.warehouse_id,
                             "date": wb.supply_date.isoformat() if wb.supply_date else None,
                             "box_type": wb.box_type.value if wb.box_type else None}
        await self.control.settle(self.bot_id, booking, Settlement(
            TaskPhase.FAILED, text, event, notices=(notice,), level="WARNING", payload=payload))
        return Outcome("failed", text)

    async def _settle_lost(self, booking: BookingRecord, phase: TaskPhase, text: str, event: str, *, kind: str,
                           slot: Slot | None = None, reason: str = "") -> Outcome:
        notices: tuple[Notice, ...] = ()
        payload: dict[str, object] = {}
        if slot is not None:
            key = f"lost:{booking.task_id}:{slot.warehouse_id}:{slot.date}:{booking.id}:{booking_month()}"
            notices = (Notice(booking.user_id, NoticeKind.SLOT_LOST, key,
                              {"task_id": booking.task_id, "slot": slot.to_dict(), "reason": reason}),)
            payload = {"slot": slot.to_dict(), "reason": reason}
        await self.control.settle(self.bot_id, booking, Settlement(phase, text, event, notices=notices,
                                                                   payload=payload))
        return Outcome(kind, text)

    async def _failed(self, task: TaskRecord, reason: str) -> None:
        """The task cannot be booked as written (no such draft or preorder, already planned): stop, say why."""
        moved = await self.control.move_task(task.id, TaskPhase.FAILED, reason)
        await self.control.notify(Notice(moved.owner_id, NoticeKind.BOOKING_FAILED, f"failed:{task.id}:{reason[:40]}",
                                         {"task_id": task.id, "reason": reason}))
        await self.control.log_event(self.bot_id, "task failed before booking", level="WARNING", task_id=task.id,
                                     payload={"reason": reason})

    async def reconcile(self) -> int:
        """Finish bookings a previous run left in flight (crash, kill -9, lost network); returns how many.

        A marker without ``plan_requested`` means WB was never asked: release. Otherwise WB's answer, judged
        against the marker's slot, decides — so nothing is booked, counted or claimed twice.
        """
        settled = 0
        open_bookings = await self.control.open_bookings(self.bot_id)
        for booking in open_bookings:
            if booking.account_id not in (None, self.bot_id):
                continue  # a racing account holds it: its own bot finishes it
            slot = booking.slot()
            if booking.preorder_id is None or slot is None or not booking.plan_requested:
                text = "Бронирование прервалось до запроса в WB, ищем дальше. Бронирование не списано"
                await self._settle_lost(booking, TaskPhase.WATCHING, text, "interrupted booking released",
                                        kind="error")
            elif (await self.confirm(booking, slot, booking.supply_id)).kind == "unconfirmed":
                continue
            settled += 1
        in_flight = {booking.task_id for booking in open_bookings}
        for task in await self.control.active_tasks(self.bot_id):
            if task.phase is TaskPhase.BOOKING and task.id not in in_flight:
                await self._back_to_watching(task.id)
        return settled

    async def _back_to_watching(self, task_id: int) -> None:
        with contextlib.suppress(ValueError):  # the task is not in Booking (already settled)
            await self.control.move_task(task_id, TaskPhase.WATCHING, "Бронирование прервалось, ищем дальше")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
