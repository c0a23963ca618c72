"""The monthly booking quota: never exceeded, even when several bots of one seller book at once.

A reservation is the task's row in ``bookings`` (unique per task) plus one unit of ``reserved`` in the
seller's ``monthly_usage`` row; :func:`commit` turns it into one unit of ``used``, :func:`release` gives it
back. Both changes happen in one transaction, and the counter only moves through a conditional UPDATE
(``... WHERE used + reserved < limit``), so concurrent reservations serialize on the usage row:

- PostgreSQL (READ COMMITTED): a second UPDATE waits for the first one's row lock, then re-checks its WHERE
  against the committed row and matches nothing once the limit is reached;
- SQLite: every quota transaction is ``BEGIN IMMEDIATE``, so there is one writer at a time.

Reservations commit on their own, short transaction even when given a session: they must be visible to
every other bot at once. On SQLite, do not call them while that session holds uncommitted writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from wbsupply.domain.statuses import BoxType
from wbsupply.domain.tariffs import month_of
from wbsupply.store.engine import begin_immediate
from wbsupply.store.models import Booking, BookingState, MonthlyUsage
from wbsupply.store.types import utcnow

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class QuotaError(RuntimeError):
    """A reservation was used in a way its state does not allow (e.g. confirming a released one)."""


@dataclass(frozen=True)
class Reservation:
    engine: Engine
    booking_id: int
    task_id: int
    user_id: int
    month: str
    state: BookingState  # RESERVED, or CONFIRMED when the task had been booked (and counted) before
    account_id: int | None = None  # the WB account holding it; another account's bot must stand down

    @property
    def counted(self) -> bool:
        return self.state is BookingState.CONFIRMED


@dataclass(frozen=True)
class Usage:
    used: int = 0
    reserved: int = 0

    @property
    def total(self) -> int:
        return self.used + self.reserved


def month_key(moment: datetime | None = None) -> str:
    """The tariff month ('YYYY-MM') that ``moment`` (default: now) falls into, on Moscow's calendar."""
    return month_of(moment or utcnow())


def reserve(bind: Engine | Session, user_id: int, month: str, limit: int, task_id: int,
            account_id: int | None = None) -> Reservation | None:
    """Hold one booking of ``month`` for ``task_id`` by ``account_id``; None when the seller's ``limit`` is reached.

    Idempotent per task: while the task's reservation is held or confirmed, calling again returns it
    without counting again. After :func:`release` the task may reserve anew. The reservation is also the
    task's exclusive claim among racing accounts: when another account holds it, the returned reservation
    names that account (``account_id``) and the caller must stand down (never ask WB to plan).
    """
    if not MONTH_PATTERN.match(month):
        raise ValueError(f"month must look like 'YYYY-MM', got {month!r}")
    engine = _engine_of(bind)
    with begin_immediate(engine).connect() as connection, connection.begin() as transaction:
        reservation = _reserve(connection, engine, user_id, month, limit, task_id, account_id)
        if reservation is None:
            transaction.rollback()  # also drops the booking row we may have inserted
        return reservation


def commit(
    reservation: Reservation,
    *,
    warehouse_id: int | None = None,
    warehouse_name: str | None = None,
    slot_date: date | None = None,
    box_type: BoxType | None = None,
    coefficient: float | None = None,
    supply_id: int | None = None,
    preorder_id: int | None = None,
) -> Reservation:
    """The booking happened: count it as used and record the slot. Repeating it changes nothing."""
    details = {
        "warehouse_id": warehouse_id,
        "warehouse_name": warehouse_name,
        "slot_date": slot_date,
        "box_type": box_type,
        "coefficient": coefficient,
        "supply_id": supply_id,
        "preorder_id": preorder_id,
    }
    with begin_immediate(reservation.engine).begin() as connection:
        state, month = _lock_booking(connection, reservation)
        if state is BookingState.RELEASED:
            raise QuotaError(f"booking {reservation.booking_id} was released; reserve again before committing")
        if state is BookingState.RESERVED:
            connection.execute(
                update(Booking)
                .where(col(Booking.id) == reservation.booking_id)
                .values(
                    state=BookingState.CONFIRMED,
                    confirmed_at=utcnow(),
                    **{name: value for name, value in details.items() if value is not None},
                )
            )
            _move_usage(connection, reservation.user_id, month, reserved=-1, used=+1)
    return replace(reservation, state=BookingState.CONFIRMED, month=month)


def release(reservation: Reservation) -> bool:
    """The booking did not happen: give the reserved unit back. False if it was already released.

    A confirmed booking is never refunded: WB counted it, so does the tariff.
    """
    with begin_immediate(reservation.engine).begin() as connection:
        state, month = _lock_booking(connection, reservation)
        if state is BookingState.CONFIRMED:
            raise QuotaError(f"booking {reservation.booking_id} is confirmed and cannot be released")
        if state is BookingState.RELEASED:
            return False
        connection.execute(
            update(Booking)
            .where(col(Booking.id) == reservation.booking_id)
            .values(state=BookingState.RELEASED, released_at=utcnow())
        )
        _move_usage(connection, reservation.user_id, month, reserved=-1)
    return True


def usage(bind: Engine | Session, user_id: int, month: str) -> Usage:
    with _engine_of(bind).connect() as connection:
        row = connection.execute(
            select(col(MonthlyUsage.used), col(MonthlyUsage.reserved)).where(
                col(MonthlyUsage.user_id) == user_id, col(MonthlyUsage.month) == month
            )
        ).one_or_none()
    return Usage() if row is None else Usage(used=row.used, reserved=row.reserved)


# --- internals -------------------------------------------------------------------------------------------


def _reserve(
    connection: Connection, engine: Engine, user_id: int, month: str, limit: int, task_id: int,
    account_id: int | None,
) -> Reservation | None:
    now = utcnow()
    insert = _insert_for(connection)
    connection.execute(
        insert(MonthlyUsage)
        .values(user_id=user_id, month=month, used=0, reserved=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["user_id", "month"])
    )
    # Claim the task's single booking row first: a concurrent reserve() for the same task waits here
    # (unique index) and then finds the row instead of counting a second time.
    booking_id = connection.execute(
        insert(Booking)
        .values(task_id=task_id, user_id=user_id, month=month, state=BookingState.RESERVED, reserved_at=now,
                account_id=account_id)
        .on_conflict_do_nothing(index_elements=["task_id"])
        .returning(col(Booking.id))
    ).scalar_one_or_none()

    if booking_id is None:
        existing = connection.execute(
            select(col(Booking.id), col(Booking.state), col(Booking.month), col(Booking.account_id))
            .where(col(Booking.task_id) == task_id)
            .with_for_update()
        ).one()
        if existing.state is not BookingState.RELEASED:
            holder = existing.account_id if existing.account_id is not None else account_id
            return Reservation(engine, existing.id, task_id, user_id, existing.month, existing.state, holder)
        booking_id = existing.id
        if existing.account_id != account_id:
            # Another account's preorder is no use to this one (WB preorders belong to one account).
            connection.execute(update(Booking).where(col(Booking.id) == booking_id).values(
                preorder_id=None, warehouse_id=None, warehouse_name=None, slot_date=None, box_type=None,
                coefficient=None))

    took = connection.execute(
        update(MonthlyUsage)
        .where(
            col(MonthlyUsage.user_id) == user_id,
            col(MonthlyUsage.month) == month,
            col(MonthlyUsage.used) + col(MonthlyUsage.reserved) < limit,
        )
        .values(reserved=col(MonthlyUsage.reserved) + 1, updated_at=now)
    )
    if took.rowcount != 1:
        return None
    # A released booking of this task is reused: the task keeps one row, now counting in `month`.
    connection.execute(
        update(Booking)
        .where(col(Booking.id) == booking_id)
        .values(month=month, state=BookingState.RESERVED, reserved_at=now, released_at=None,
                plan_requested_at=None, supply_id=None, account_id=account_id)
    )
    return Reservation(engine, booking_id, task_id, user_id, month, BookingState.RESERVED, account_id)


def _lock_booking(connection: Connection, reservation: Reservation) -> tuple[BookingState, str]:
    row = connection.execute(
        select(col(Booking.state), col(Booking.month))
        .where(col(Booking.id) == reservation.booking_id)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise QuotaError(f"booking {reservation.booking_id} of task {reservation.task_id} no longer exists")
    return row.state, row.month


def _move_usage(connection: Connection, user_id: int, month: str, *, reserved: int, used: int = 0) -> None:
    connection.execute(
        update(MonthlyUsage)
        .where(col(MonthlyUsage.user_id) == user_id, col(MonthlyUsage.month) == month)
        .values(
            reserved=col(MonthlyUsage.reserved) + reserved,
            used=col(MonthlyUsage.used) + used,
            updated_at=utcnow(),
        )
    )


def _insert_for(connection: Connection) -> Any:
    dialects = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    try:
        return dialects[connection.dialect.name]
    except KeyError:
        raise NotImplementedError(f"quota needs PostgreSQL or SQLite, not {connection.dialect.name}") from None


def _engine_of(bind: Engine | Session) -> Engine:
    if isinstance(bind, Engine):
        return bind
    resolved = bind.get_bind()
    return resolved if isinstance(resolved, Engine) else resolved.engine
