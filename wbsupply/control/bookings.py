"""Settling a booking in one database transaction, and the cabinet's drafts list the bot keeps for the form.

:func:`settle` is the only way a booking ends. "Booked" and "lost" are each **one** transaction: the quota
unit (commit or release), the booking row, the task's phase and message, the outbox rows of the seller's
notices and the event log line. A worker killed at any moment leaves either all of it or none of it; in the
second case the RESERVED booking row is still the crash marker that ``reconcile`` finishes from.

The worker reaches these functions only through its control plane
(:meth:`wbsupply.control.local.LocalControlPlane.settle`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, or_, update
from sqlmodel import Session, col, select

from wbsupply.control.base import BookingRecord, Notice, TaskRecord
from wbsupply.domain.booking import STATUS_NOT_PLANNED, STATUS_PLANNED
from wbsupply.domain.machines import move
from wbsupply.domain.slots import Slot
from wbsupply.domain.statuses import TaskPhase
from wbsupply.notify import outbox
from wbsupply.store.engine import begin_immediate, session_scope
from wbsupply.store.journal import EventLog
from wbsupply.store.models import Booking, BookingState, MonthlyUsage, SupplyTask, WbAccount
from wbsupply.store.quota import QuotaError, month_key
from wbsupply.store.types import utcnow


class SupplyClaimed(Exception):
    """WB's supply is already a confirmed booking of another task: one supply is never counted twice."""

    def __init__(self, task_id: int, supply_id: int | None) -> None:
        super().__init__(f"supply {supply_id} is already booked by task {task_id}")
        self.task_id, self.supply_id = task_id, supply_id


@dataclass(frozen=True)
class Settlement:
    """How one booking ended: booked (``phase`` BOOKED) or lost (WATCHING / FAILED), and what to tell."""

    phase: TaskPhase
    message: str
    event: str
    slot: Slot | None = None  # booked: the slot WB planned
    supply_id: int | None = None
    notices: tuple[Notice, ...] = ()
    level: str = "INFO"
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def booked(self) -> bool:
        return self.phase is TaskPhase.BOOKED


def settle(engine: Engine, bot_id: int, booking_id: int, settlement: Settlement) -> TaskRecord:
    """Finish a booking in one transaction (idempotent: settling the same way twice changes nothing).

    Raises :class:`SupplyClaimed` (nothing written) when the supply is already another task's booking."""
    from wbsupply.control.local import task_record  # the record helpers live with the local plane

    with session_scope(begin_immediate(engine)) as session:
        booking = session.get(Booking, booking_id, with_for_update=True)
        if booking is None:
            raise QuotaError(f"booking {booking_id} does not exist")
        task = session.get(SupplyTask, booking.task_id, with_for_update=True)
        assert task is not None  # the booking row cascades with its task
        already = booking.state is (BookingState.CONFIRMED if settlement.booked else BookingState.RELEASED)
        if settlement.booked and not already:
            _refuse_a_second_claim(session, booking, settlement.supply_id)
        if not already:
            _settle_quota(session, booking, settlement)
        _move_task(task, settlement)
        if not already:
            for notice in settlement.notices:
                outbox.enqueue_notice(session, notice)
            account = session.get(WbAccount, bot_id)
            session.add(EventLog(level=settlement.level, source="worker",
                                 user_id=account.owner_id if account else task.owner_id, account_id=bot_id,
                                 task_id=task.id, message=settlement.event, payload=dict(settlement.payload)))
        session.flush()
        return task_record(task)


def settle_move(engine: Engine, bot_id: int, booking_id: int, slot: Slot, notice: Notice,
                payload: dict[str, Any]) -> TaskRecord:
    """A reschedule WB confirmed, in one transaction: the confirmed booking row and the task show the new slot,
    the task's move counter grows, the move marker is cleared, the seller's notice and the event log line. The
    quota is untouched: a moved supply is still the one booking it was counted as. Idempotent (the same move
    twice changes nothing, so a move settled before a crash is never counted again).
    """
    from wbsupply.control.local import task_record

    with session_scope(begin_immediate(engine)) as session:
        booking = _locked_confirmed(session, booking_id, "move")
        task = session.get(SupplyTask, booking.task_id, with_for_update=True)
        assert task is not None
        _clear_move_marker(booking)
        session.add(booking)
        if booking.slot_date == slot.date and booking.warehouse_id == slot.warehouse_id:
            session.flush()
            return task_record(task)
        booking.slot_date, booking.coefficient = slot.date, slot.coefficient
        task.booked_date, task.booked_coefficient = slot.date, slot.coefficient
        task.moves += 1
        task.message = f"Поставка перенесена на {slot.date.isoformat()} (перенос {task.moves} из " \
                       f"{task_record(task).spec.max_moves})"
        session.add_all([booking, task])
        outbox.enqueue_notice(session, notice)
        session.add(EventLog(source="worker", user_id=task.owner_id, account_id=bot_id, task_id=task.id,
                             message="supply moved", payload=dict(payload)))
        session.flush()
        return task_record(task)


def _locked_confirmed(session: Session, booking_id: int, doing: str) -> Booking:
    """The confirmed booking a move works on, locked for the transaction (QuotaError for any other)."""
    booking = session.get(Booking, booking_id, with_for_update=True)
    if booking is None or booking.state is not BookingState.CONFIRMED:
        raise QuotaError(f"booking {booking_id} is not a confirmed booking: nothing to {doing}")
    return booking


def mark_move_requested(engine: Engine, booking_id: int, slot: Slot) -> None:
    """The move marker, written just before ``plan/update`` is sent: WB may have the supply on ``slot`` from now
    on. Only a settled move (:func:`settle_move`, :func:`move_missed`, :func:`follow_wb`) clears it."""
    with session_scope(begin_immediate(engine)) as session:
        booking = _locked_confirmed(session, booking_id, "move")
        booking.move_date, booking.move_coefficient, booking.move_requested_at = slot.date, slot.coefficient, utcnow()
        session.add(booking)


def move_missed(engine: Engine, bot_id: int, booking_id: int, payload: dict[str, Any], *,
                level: str = "INFO") -> None:
    """WB left the supply where it was: the move marker is cleared with the "supply not moved" line of the
    task's history, in one transaction."""
    with session_scope(begin_immediate(engine)) as session:
        booking = session.get(Booking, booking_id, with_for_update=True)
        if booking is None:
            raise QuotaError(f"booking {booking_id} does not exist")
        _clear_move_marker(booking)
        session.add(booking)
        account = session.get(WbAccount, bot_id)
        session.add(EventLog(level=level, source="worker", user_id=account.owner_id if account else booking.user_id,
                             account_id=bot_id, task_id=booking.task_id, message="supply not moved",
                             payload=dict(payload)))


def follow_wb(engine: Engine, bot_id: int, booking_id: int, slot: Slot, coefficient: float | None, notice: Notice,
              payload: dict[str, Any]) -> TaskRecord:
    """WB shows the supply on another date than the record (the seller moved it in WB's cabinet): the booking
    row and the task take WB's date, the move marker is cleared, the seller is told and the event log says so,
    in one transaction. Not a move of the bot: the move counter stays. Idempotent."""
    from wbsupply.control.local import task_record

    with session_scope(begin_immediate(engine)) as session:
        booking = _locked_confirmed(session, booking_id, "follow")
        task = session.get(SupplyTask, booking.task_id, with_for_update=True)
        assert task is not None
        _clear_move_marker(booking)
        session.add(booking)
        if booking.slot_date == slot.date:
            session.flush()
            return task_record(task)
        booking.slot_date, booking.coefficient = slot.date, coefficient
        task.booked_date, task.booked_coefficient = slot.date, coefficient
        task.message = f"WB показывает поставку на {slot.date.isoformat()}: её перенесли в кабинете WB"
        session.add_all([booking, task])
        outbox.enqueue_notice(session, notice)
        session.add(EventLog(level="WARNING", source="worker", user_id=task.owner_id, account_id=bot_id,
                             task_id=task.id, message="supply moved outside the bot", payload=dict(payload)))
        session.flush()
        return task_record(task)


def booked_supplies(engine: Engine, bot_id: int) -> list[tuple[TaskRecord, BookingRecord]]:
    """The bot's confirmed bookings WB is asked about again: every one with a move in flight (whatever its
    task's phase), and those of Booked tasks that move their supply (``improve``), to see moves made by hand."""
    from wbsupply.control.local import booking_record, task_record

    with session_scope(engine) as session:
        rows = session.exec(
            select(SupplyTask, Booking)
            .join(Booking, col(Booking.task_id) == col(SupplyTask.id))
            .where(func.coalesce(col(Booking.account_id), col(SupplyTask.account_id)) == bot_id,
                   col(Booking.state) == BookingState.CONFIRMED, col(Booking.preorder_id).is_not(None),
                   or_(col(Booking.move_requested_at).is_not(None), col(SupplyTask.phase) == TaskPhase.BOOKED))
            .order_by(col(Booking.id))
        ).all()
        found = []
        for task, booking in rows:
            record = task_record(task)
            if booking.move_requested_at is not None or record.spec.improve is not None:
                found.append((record, booking_record(booking)))
        return found


def _clear_move_marker(booking: Booking) -> None:
    booking.move_date, booking.move_coefficient, booking.move_requested_at = None, None, None


@dataclass(frozen=True)
class Adoption:
    """A supply the seller planned by hand that a task takes over to move it to a better slot (``improve``)."""

    preorder_id: int
    slot: Slot  # where WB has the supply now
    coefficient: float | None  # what WB charges for it (None: WB did not say)
    supply_id: int | None
    message: str
    notice: Notice
    payload: dict[str, Any] = field(default_factory=dict)


def adopt(engine: Engine, bot_id: int, task_id: int, adoption: Adoption) -> TaskRecord:
    """The task takes over WB's planned supply in ONE transaction: a confirmed booking row marked adopted (never
    counted against the tariff: the seller booked it, not the bot), the task Booked on WB's slot, the seller's
    notice and the event log line. Only a task still watching is adopted (one the seller paused meanwhile keeps
    its phase); adopting the same supply again changes nothing.

    Raises :class:`SupplyClaimed` (nothing written) when the supply is already another task's booking.
    """
    from wbsupply.control.local import task_record

    with session_scope(begin_immediate(engine)) as session:
        task = session.get(SupplyTask, task_id, with_for_update=True)
        if task is None:
            raise QuotaError(f"task {task_id} does not exist")
        booking = session.exec(select(Booking).where(col(Booking.task_id) == task_id).with_for_update()).first()
        if booking is not None and booking.state is not BookingState.RELEASED:
            if booking.adopted_at is not None and booking.preorder_id == adoption.preorder_id:
                return task_record(task)  # adopted already
            raise QuotaError(f"task {task_id} holds booking {booking.id} ({booking.state.value}): nothing to adopt")
        if task.phase is not TaskPhase.WATCHING:
            return task_record(task)
        same = col(Booking.preorder_id) == adoption.preorder_id
        if adoption.supply_id is not None:
            same = or_(same, col(Booking.supply_id) == adoption.supply_id)
        other = session.exec(select(Booking).where(same, col(Booking.state) == BookingState.CONFIRMED,
                                                   col(Booking.task_id) != task_id)).first()
        if other is not None:
            raise SupplyClaimed(other.task_id, other.supply_id)
        now, slot = utcnow(), adoption.slot
        if booking is None:
            booking = Booking(task_id=task_id, user_id=task.owner_id, month=month_key(), reserved_at=now)
        # No monthly_usage change: an adopted supply is not a booking of the tariff (see README, tariff rule).
        booking.state, booking.confirmed_at, booking.adopted_at, booking.released_at = (
            BookingState.CONFIRMED, now, now, None)
        booking.plan_requested_at, booking.account_id = None, bot_id
        booking.preorder_id, booking.supply_id = adoption.preorder_id, adoption.supply_id
        booking.warehouse_id, booking.slot_date, booking.box_type = slot.warehouse_id, slot.date, slot.box_type
        booking.warehouse_name, booking.coefficient = slot.warehouse_name or None, adoption.coefficient
        task.phase = move(move(task.phase, TaskPhase.BOOKING), TaskPhase.BOOKED)
        task.message = adoption.message
        task.booked_warehouse_id, task.booked_date, task.booked_box_type = slot.warehouse_id, slot.date, slot.box_type
        task.booked_warehouse_name, task.booked_coefficient = slot.warehouse_name or None, adoption.coefficient
        task.booked_at = now
        session.add_all([booking, task])
        outbox.enqueue_notice(session, adoption.notice)
        session.add(EventLog(source="worker", user_id=task.owner_id, account_id=bot_id, task_id=task.id,
                             message="planned supply adopted", payload=dict(adoption.payload)))
        session.flush()
        return task_record(task)


def improvable(engine: Engine, bot_id: int) -> list[tuple[TaskRecord, BookingRecord, int]]:
    """Booked tasks of the bot that keep looking for a better slot and still have moves left, with their
    confirmed booking and the moves made."""
    from wbsupply.control.local import booking_record, task_record

    with session_scope(engine) as session:
        rows = session.exec(
            select(SupplyTask, Booking)
            .join(Booking, col(Booking.task_id) == col(SupplyTask.id))
            # The account that booked the supply moves it (a racing task's winner, not always the task's own).
            .where(func.coalesce(col(Booking.account_id), col(SupplyTask.account_id)) == bot_id,
                   col(SupplyTask.phase) == TaskPhase.BOOKED,
                   col(Booking.state) == BookingState.CONFIRMED)
        ).all()
        found = []
        for task, booking in rows:
            record = task_record(task)
            if record.spec.improve is not None and task.moves < record.spec.max_moves:
                found.append((record, booking_record(booking), task.moves))
        return found


def _refuse_a_second_claim(session: Session, booking: Booking, supply_id: int | None) -> None:
    same = col(Booking.preorder_id) == booking.preorder_id
    if supply_id is not None:
        same = or_(same, col(Booking.supply_id) == supply_id)
    other = session.exec(select(Booking).where(
        same, col(Booking.state) == BookingState.CONFIRMED, col(Booking.id) != booking.id)).first()
    if other is not None:
        raise SupplyClaimed(other.task_id, other.supply_id)


def _settle_quota(session: Session, booking: Booking, settlement: Settlement) -> None:
    now = utcnow()
    if booking.state is not BookingState.RESERVED:
        raise QuotaError(f"booking {booking.id} is {booking.state.value}, it cannot be settled as "
                         f"{'booked' if settlement.booked else 'lost'}")
    if settlement.booked:
        slot = settlement.slot
        assert slot is not None
        booking.state, booking.confirmed_at = BookingState.CONFIRMED, now
        booking.warehouse_id, booking.slot_date, booking.box_type = slot.warehouse_id, slot.date, slot.box_type
        booking.warehouse_name = slot.warehouse_name or booking.warehouse_name
        booking.coefficient = slot.coefficient
        booking.supply_id = settlement.supply_id or booking.supply_id
        used, reserved = 1, -1
    else:
        booking.state, booking.released_at = BookingState.RELEASED, now
        used, reserved = 0, -1
    session.add(booking)
    session.execute(
        update(MonthlyUsage)
        .where(col(MonthlyUsage.user_id) == booking.user_id, col(MonthlyUsage.month) == booking.month)
        .values(used=col(MonthlyUsage.used) + used, reserved=col(MonthlyUsage.reserved) + reserved, updated_at=now)
    )


def _move_task(task: SupplyTask, settlement: Settlement) -> None:
    """Booked: the task shows it, whatever it showed (WB has the supply). Lost: only a task still in Booking
    moves; one the seller paused or cancelled meanwhile, or that expired, keeps its phase and message."""
    target = settlement.phase
    if not settlement.booked:
        if task.phase is TaskPhase.BOOKING:
            task.phase = move(task.phase, target)
            task.message = settlement.message
        elif task.phase is target:
            task.message = settlement.message
        return
    if task.phase is not target:
        if task.phase in (TaskPhase.WATCHING, TaskPhase.PENDING):
            task.phase = move(task.phase, TaskPhase.BOOKING) if task.phase is TaskPhase.WATCHING else task.phase
        task.phase = move(task.phase, target) if task.phase is TaskPhase.BOOKING else target
    task.message = settlement.message
    slot = settlement.slot
    assert slot is not None
    task.booked_warehouse_id, task.booked_date, task.booked_box_type = slot.warehouse_id, slot.date, slot.box_type
    task.booked_warehouse_name = slot.warehouse_name or None
    task.booked_coefficient = slot.coefficient
    task.booked_at = task.booked_at or utcnow()


def mark_plan_requested(engine: Engine, booking_id: int) -> None:
    """Written just before ``plan/add`` is sent: from now on WB's planned preorder may be ours."""
    with session_scope(begin_immediate(engine)) as session:
        booking = session.get(Booking, booking_id)
        if booking is None:
            raise QuotaError(f"booking {booking_id} does not exist")
        booking.plan_requested_at = utcnow()


# --- the seller's cabinet drafts and preorders ------------------------------------------------------------


def cabinet_supplies(listing: dict[str, Any]) -> dict[str, Any]:
    """The cabinet's ``supply/listSupplies`` answer reduced to what the task form offers: drafts (id, goods
    count, date) and preorders (id, draft, warehouse, box type, goods, date) that are not planned yet, or
    planned and still movable (``planned``, with WB's supply and date: a task may take it over to improve it)."""
    drafts = [
        {"id": str(d.get("draftID")), "quantity": int(d.get("quantity") or 0),
         "goods": len(d.get("goods") or []), "created_at": d.get("createdAt")}
        for d in listing.get("drafts") or [] if d.get("draftID")
    ]
    preorders = [
        {"id": int(p["preorderID"]), "draft_id": p.get("draftID"), "warehouse_id": p.get("warehouseID"),
         "warehouse_name": p.get("warehouseName"), "box_type": p.get("boxType"),
         "quantity": int(p.get("quantity") or 0), "created_at": p.get("createdAt"),
         "planned": int(p.get("statusID") or 0) == STATUS_PLANNED, "supply_id": p.get("supplyID"),
         "supply_date": p.get("supplyDate")}
        for p in listing.get("preorders") or []
        if p.get("preorderID") and int(p.get("statusID") or 0) in (STATUS_NOT_PLANNED, STATUS_PLANNED)
    ]
    return {"drafts": drafts, "preorders": preorders}


def save_cabinet_supplies(engine: Engine, bot_id: int, supplies: dict[str, Any]) -> None:
    with session_scope(begin_immediate(engine)) as session:
        account = session.get(WbAccount, bot_id)
        if account is None:
            return
        account.cabinet_supplies = supplies
        account.cabinet_supplies_at = utcnow()
