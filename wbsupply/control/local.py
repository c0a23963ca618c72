"""The control plane on the database (embedded runtime; also usable by any worker that reaches the DB).

``LocalControlPlane`` implements :class:`wbsupply.control.base.ControlPlane`; its methods run the short,
blocking SQLAlchemy transactions in a worker thread so that the bot's event loop never waits on SQLite.

The web cabinet's side of the WB login relay is two plain functions, importable from here:
``submit_auth_step(bind, account_id, kind, value)`` and ``auth_status(bind, account_id)``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from wbsupply.control import bookings as settling
from wbsupply.control.base import AuthStep, BookingRecord, BotRecord, Notice, TaskRecord
from wbsupply.control.bookings import Adoption, Settlement
from wbsupply.domain.machines import move
from wbsupply.domain.slots import Slot
from wbsupply.domain.statuses import ACTIVE_PHASES, BotStatus, TaskPhase
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.notify import outbox
from wbsupply.store import quota
from wbsupply.store.auth import AuthRequestStatus, WbAuthRequest
from wbsupply.store.auth_relay import (  # the cabinet's side of the relay, importable from here too
    AuthInputError,
    AuthRequestView,
    AuthStatusView,
    NotFoundError,
    auth_status,
    normalize_phone,
    set_api_token,
    submit_auth_step,
)
from wbsupply.store.engine import begin_immediate, session_scope
from wbsupply.store.journal import EventLog
from wbsupply.store.models import Booking, BookingState, SupplyTask, User, WbAccount
from wbsupply.store.types import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")



def task_record(row: SupplyTask) -> TaskRecord:
    assert row.id is not None
    return TaskRecord(
        id=row.id, owner_id=row.owner_id, spec=SupplyTaskSpec.model_validate(row.spec), phase=row.phase,
        created_at=row.created_at, plan_rank=row.plan_rank, message=row.message, paused=row.paused,
        cr_name=row.cr_name,
    )


def booking_record(row: Booking) -> BookingRecord:
    assert row.id is not None
    return BookingRecord(
        id=row.id, task_id=row.task_id, user_id=row.user_id, month=row.month, state=row.state.value,
        preorder_id=row.preorder_id, warehouse_id=row.warehouse_id, warehouse_name=row.warehouse_name,
        slot_date=row.slot_date, box_type=row.box_type, coefficient=row.coefficient, supply_id=row.supply_id,
        plan_requested=row.plan_requested_at is not None, account_id=row.account_id,
        move_date=row.move_date if row.move_requested_at is not None else None, move_coefficient=row.move_coefficient,
    )


def _reservation(engine: Engine, booking: BookingRecord) -> quota.Reservation:
    return quota.Reservation(engine, booking.id, booking.task_id, booking.user_id, booking.month,
                             BookingState(booking.state))


class LocalControlPlane:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Read-then-write units take SQLite's write lock up front (see store.engine.begin_immediate).
        self.writer = begin_immediate(engine)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    def _account(self, session: Session, bot_id: int) -> WbAccount:
        account = session.get(WbAccount, bot_id)
        if account is None:
            raise NotFoundError(f"WB account {bot_id} does not exist")
        return account

    # --- the bot -------------------------------------------------------------------------------------
    async def get_bot(self, bot_id: int) -> BotRecord:
        def run() -> BotRecord:
            with session_scope(self.engine) as session:
                account = self._account(session, bot_id)
                owner = session.get(User, account.owner_id)
                return BotRecord(
                    id=bot_id, owner_id=account.owner_id, phone=account.phone, status=account.status,
                    supplier_id=account.supplier_id, auth_attempts=account.auth_attempts,
                    auth_state=account.auth_state, session_blob=account.session_blob,
                    api_token_blob=account.api_token_blob, plan_limit=owner.plan_limit if owner else 0,
                    label=account.label,
                )

        return await self._run(run)

    async def set_bot_status(self, bot_id: int, status: BotStatus, *, error: str | None = None) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                account = self._account(session, bot_id)
                if account.status is not status:
                    account.status = move(account.status, status)
                account.last_error = error

        await self._run(run)

    async def note_restart(self, bot_id: int, reason: str, next_at: dt.datetime | None) -> None:
        """Embedded supervisor only (the operator keeps these on the SellerBot in the cluster)."""

        def run() -> None:
            with session_scope(self.writer) as session:
                account = self._account(session, bot_id)
                account.restart_count += 1
                account.last_restart_at = utcnow()
                account.last_restart_reason = reason[:200]
                account.next_restart_at = next_at

        await self._run(run)

    async def heartbeat(self, bot_id: int, *, memory_bytes: int | None) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                account = self._account(session, bot_id)
                account.last_heartbeat_at = utcnow()
                if memory_bytes is not None:
                    account.memory_bytes = memory_bytes

        await self._run(run)

    async def save_session(self, bot_id: int, blob: bytes | None) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                account = self._account(session, bot_id)
                account.session_blob = blob
                account.session_saved_at = utcnow() if blob is not None else None

        await self._run(run)

    async def set_auth(
        self, bot_id: int, state: str, prompt: dict[str, Any] | None = None, *, attempts: int | None = None,
        supplier_id: str | None = None,
    ) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                account = self._account(session, bot_id)
                account.auth_state = state
                account.auth_prompt = dict(prompt or {})
                account.last_auth_check_at = utcnow()
                if attempts is not None:
                    account.auth_attempts = attempts
                if supplier_id is not None:
                    account.supplier_id = supplier_id

        await self._run(run)

    async def next_auth_step(self, bot_id: int) -> AuthStep | None:
        def run() -> AuthStep | None:
            with session_scope(self.writer) as session:
                request = session.exec(
                    select(WbAuthRequest)
                    .where(WbAuthRequest.account_id == bot_id, WbAuthRequest.status == AuthRequestStatus.PENDING)
                    .order_by(col(WbAuthRequest.id))
                    .limit(1)
                ).first()
                if request is None or request.id is None:
                    return None
                request.status = AuthRequestStatus.TAKEN
                return AuthStep(request.id, request.kind.value, request.value)

        return await self._run(run)

    async def finish_auth_step(self, step_id: int, ok: bool, message: str) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                request = session.get(WbAuthRequest, step_id)
                if request is None:
                    return
                request.status = AuthRequestStatus.DONE if ok else AuthRequestStatus.FAILED
                request.message = message
                request.value = None  # codes and phones are not kept once used

        await self._run(run)

    # --- tasks ---------------------------------------------------------------------------------------
    async def active_tasks(self, bot_id: int) -> list[TaskRecord]:
        def run() -> list[TaskRecord]:
            with session_scope(self.engine) as session:
                return [record for record, _ in self._visible_tasks(session, bot_id, tuple(sorted(ACTIVE_PHASES)))]

        return await self._run(run)

    async def move_task(self, task_id: int, phase: TaskPhase, message: str | None = None) -> TaskRecord:
        def run() -> TaskRecord:
            with session_scope(self.writer) as session:
                row = session.get(SupplyTask, task_id, with_for_update=True)
                if row is None:
                    raise NotFoundError(f"task {task_id} does not exist")
                if row.phase is not phase:
                    row.phase = move(row.phase, phase)
                if phase is TaskPhase.BOOKING:
                    row.attempts += 1
                if message is not None:
                    row.message = message
                return task_record(row)

        return await self._run(run)

    # --- bookings ------------------------------------------------------------------------------------
    def _visible_tasks(self, session: Session, bot_id: int, phases: tuple[TaskPhase, ...]
                       ) -> list[tuple[TaskRecord, SupplyTask]]:
        """The account's tasks in ``phases``: its own, and its seller's tasks it races for (spec as it books)."""
        account = self._account(session, bot_id)
        rows = session.exec(
            select(SupplyTask).where(
                SupplyTask.owner_id == account.owner_id, col(SupplyTask.phase).in_(phases)
            ).order_by(col(SupplyTask.id))
        ).all()
        mine = str(bot_id)
        found = []
        for row in rows:
            if row.account_id == bot_id or mine in (row.spec.get("racers") or {}):
                record = task_record(row)
                found.append((replace(record, spec=record.spec.for_account(mine)), row))
        return found

    async def reserve_booking(self, task: TaskRecord, limit: int, account_id: int | None = None
                              ) -> BookingRecord | None:
        def run() -> BookingRecord | None:
            reservation = quota.reserve(self.engine, task.owner_id, quota.month_key(), limit, task.id, account_id)
            if reservation is None:
                return None
            with session_scope(self.engine) as session:
                row = session.get(Booking, reservation.booking_id)
                assert row is not None
                return booking_record(row)

        return await self._run(run)

    async def mark_booking_attempt(self, booking_id: int, *, preorder_id: int, slot: Slot) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                row = session.get(Booking, booking_id)
                if row is None:
                    raise NotFoundError(f"booking {booking_id} does not exist")
                row.preorder_id = preorder_id
                row.warehouse_id = slot.warehouse_id
                row.warehouse_name = slot.warehouse_name or None
                row.slot_date = slot.date
                row.box_type = slot.box_type
                row.coefficient = slot.coefficient

        await self._run(run)

    async def confirm_booking(self, booking: BookingRecord, *, supply_id: int | None, slot: Slot,
                              coefficient: float | None = None) -> TaskRecord:
        def run() -> TaskRecord:
            paid = slot.coefficient if coefficient is None else coefficient
            quota.commit(
                _reservation(self.engine, booking), warehouse_id=slot.warehouse_id,
                warehouse_name=slot.warehouse_name or None, slot_date=slot.date, box_type=slot.box_type,
                coefficient=paid, supply_id=supply_id, preorder_id=booking.preorder_id,
            )
            with session_scope(self.writer) as session:
                row = session.get(SupplyTask, booking.task_id, with_for_update=True)
                if row is None:
                    raise NotFoundError(f"task {booking.task_id} does not exist")
                if row.phase is not TaskPhase.BOOKED:
                    row.phase = move(row.phase, TaskPhase.BOOKED)
                row.booked_warehouse_id = slot.warehouse_id
                row.booked_warehouse_name = slot.warehouse_name or None
                row.booked_date = slot.date
                row.booked_box_type = slot.box_type
                row.booked_coefficient = paid
                row.booked_at = utcnow()
                return task_record(row)

        return await self._run(run)

    async def release_booking(self, booking: BookingRecord) -> None:
        await self._run(quota.release, _reservation(self.engine, booking))

    async def mark_plan_requested(self, booking_id: int) -> None:
        await self._run(settling.mark_plan_requested, self.engine, booking_id)

    async def settle(self, bot_id: int, booking: BookingRecord, settlement: Settlement) -> TaskRecord:
        return await self._run(settling.settle, self.engine, bot_id, booking.id, settlement)

    async def settle_move(self, bot_id: int, booking: BookingRecord, slot: Slot, notice: Notice,
                          payload: dict[str, Any]) -> TaskRecord:
        return await self._run(settling.settle_move, self.engine, bot_id, booking.id, slot, notice, payload)

    async def mark_move_requested(self, booking_id: int, slot: Slot) -> None:
        await self._run(settling.mark_move_requested, self.engine, booking_id, slot)

    async def move_missed(self, bot_id: int, booking: BookingRecord, payload: dict[str, Any], *,
                          level: str = "INFO") -> None:
        await self._run(functools.partial(settling.move_missed, level=level), self.engine, bot_id, booking.id,
                        payload)

    async def follow_wb(self, bot_id: int, booking: BookingRecord, slot: Slot, coefficient: float | None,
                        notice: Notice, payload: dict[str, Any]) -> TaskRecord:
        return await self._run(settling.follow_wb, self.engine, bot_id, booking.id, slot, coefficient, notice,
                               payload)

    async def booked_supplies(self, bot_id: int) -> list[tuple[TaskRecord, BookingRecord]]:
        return await self._run(settling.booked_supplies, self.engine, bot_id)

    async def adopt(self, bot_id: int, task_id: int, adoption: Adoption) -> TaskRecord:
        return await self._run(settling.adopt, self.engine, bot_id, task_id, adoption)

    async def improvable(self, bot_id: int) -> list[tuple[TaskRecord, BookingRecord, int]]:
        return await self._run(settling.improvable, self.engine, bot_id)

    async def save_cabinet_supplies(self, bot_id: int, supplies: dict[str, Any]) -> None:
        await self._run(settling.save_cabinet_supplies, self.engine, bot_id, supplies)

    async def quota_left(self, user_id: int, limit: int) -> int:
        used = await self._run(quota.usage, self.engine, user_id, quota.month_key())
        return max(0, limit - used.total)

    async def open_bookings(self, bot_id: int) -> list[BookingRecord]:
        def run() -> list[BookingRecord]:
            with session_scope(self.engine) as session:
                tasks = {row.id: row for _, row in self._visible_tasks(session, bot_id, tuple(TaskPhase))}
                rows = session.exec(
                    select(Booking).where(col(Booking.task_id).in_(list(tasks)), Booking.state == BookingState.RESERVED)
                ).all()
                # A row from before racing belongs to its task's account.
                return [replace(booking_record(row), account_id=row.account_id or tasks[row.task_id].account_id)
                        for row in rows]

        return await self._run(run)

    # --- journal -------------------------------------------------------------------------------------
    async def log_event(self, bot_id: int, message: str, *, level: str = "INFO", task_id: int | None = None,
                        payload: dict[str, Any] | None = None) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                account = session.get(WbAccount, bot_id)
                session.add(EventLog(
                    level=level, source="worker", user_id=account.owner_id if account else None,
                    account_id=bot_id, task_id=task_id, message=message, payload=dict(payload or {}),
                ))

        try:
            await self._run(run)
        except Exception:  # a journal line must never break a booking
            log.exception("bot %s: could not write an event log row", bot_id)

    async def notify(self, notice: Notice) -> None:
        def run() -> None:
            with session_scope(self.writer) as session:
                outbox.enqueue_notice(session, notice)

        await self._run(run)


__all__ = [
    "AuthInputError",
    "AuthRequestView",
    "AuthStatusView",
    "LocalControlPlane",
    "NotFoundError",
    "auth_status",
    "normalize_phone",
    "set_api_token",
    "submit_auth_step",
]
