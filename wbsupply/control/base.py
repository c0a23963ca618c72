"""What a worker bot needs from the control plane, whatever stores the bots and tasks.

Two implementations: :mod:`wbsupply.control.local` (database rows, embedded runtime and any deployment with
a database) and the Kubernetes one (``SellerBot`` / ``SupplyTask`` custom resources). Records are plain
frozen dataclasses so that the bot never holds a database session or a CR dict.

Rules every implementation keeps:
- ``move_task`` and ``set_bot_status`` apply the domain state machines and raise ``IllegalTransition``;
- booking bookkeeping goes through the quota ledger (``reserve_booking`` → ``confirm_booking`` |
  ``release_booking``), atomic and never above the seller's limit; a reserved booking is the crash marker
  a restarted bot reconciles from (``open_bookings``);
- ``notify`` is idempotent by ``dedup_key``; ``log_event`` never fails the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BotStatus, BoxType, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTask, SupplyTaskSpec
from wbsupply.notify.kinds import Notice as Notice  # what notify() takes; defined with its kinds

if TYPE_CHECKING:
    from wbsupply.control.bookings import Adoption, Settlement


@dataclass(frozen=True)
class BotRecord:
    id: int
    owner_id: int
    phone: str
    status: BotStatus
    supplier_id: str | None = None
    auth_attempts: int = 0
    auth_state: str = "idle"
    session_blob: bytes | None = None  # encrypted storage state (wbsupply.crypto.session_box)
    api_token_blob: bytes | None = None  # encrypted WB API token (wbsupply.crypto.api_token_box)
    plan_limit: int = 5  # the owner's bookings per month
    label: str = ""  # the seller's name for the account, for messages


@dataclass(frozen=True)
class TaskRecord:
    id: int
    owner_id: int
    spec: SupplyTaskSpec
    phase: TaskPhase
    created_at: dt.datetime
    plan_rank: int = 0
    message: str | None = None
    paused: bool = False  # paused by the seller (cabinet, Telegram or kubectl): the bot leaves it alone
    cr_name: str | None = None  # its SupplyTask when created with kubectl (else task-<id>)

    def to_domain(self) -> SupplyTask:
        """The domain task (priority keys included) that matching works with; ids become strings."""
        return SupplyTask(str(self.id), self.spec, self.created_at, _plan_of_rank(self.plan_rank), self.phase)


def _plan_of_rank(rank: int) -> Plan:
    for plan in Plan:
        if plan.rank == rank:
            return plan
    return Plan.START


@dataclass(frozen=True)
class BookingRecord:
    """A task's booking row: RESERVED while a booking is in flight (or was cut short by a crash)."""

    id: int
    task_id: int
    user_id: int
    month: str
    state: str  # store.BookingState value: reserved | confirmed | released
    preorder_id: int | None = None
    warehouse_id: int | None = None
    warehouse_name: str | None = None
    slot_date: dt.date | None = None
    box_type: BoxType | None = None
    coefficient: float | None = None
    supply_id: int | None = None
    plan_requested: bool = False  # plan/add was (about to be) sent for this attempt
    account_id: int | None = None  # the WB account holding it (racing tasks: only its bot books)
    move_date: dt.date | None = None  # the move marker: plan/update was (about to be) sent for this date
    move_coefficient: float | None = None

    def slot(self) -> Slot | None:
        """The slot this booking was attempted for (written before WB was asked), if any."""
        if self.warehouse_id is None or self.slot_date is None or self.box_type is None:
            return None
        key = SlotKey(self.warehouse_id, self.slot_date, self.box_type)
        return Slot(key, int(self.coefficient or 0), True, None, self.warehouse_name or "")

    def move_target(self) -> Slot | None:
        """The slot a move in flight asked WB for (the move marker), if any: same warehouse and box type."""
        slot = self.slot()
        if slot is None or self.move_date is None:
            return None
        return Slot(SlotKey(slot.warehouse_id, self.move_date, slot.box_type), int(self.move_coefficient or 0), True,
                    None, slot.warehouse_name)


@dataclass(frozen=True)
class AuthStep:
    """One step of the WB login the seller asked for in the cabinet (kind: store.AuthRequestKind value)."""

    id: int
    kind: str
    value: str | None = field(default=None, repr=False)  # phones and codes stay out of reprs and logs


class ControlPlane(Protocol):
    # --- the bot ---
    async def get_bot(self, bot_id: int) -> BotRecord: ...

    async def set_bot_status(self, bot_id: int, status: BotStatus, *, error: str | None = None) -> None:
        """Move along the bot state machine (same status: no-op); ``error`` sets or clears last_error."""

    async def heartbeat(self, bot_id: int, *, memory_bytes: int | None) -> None: ...

    async def save_session(self, bot_id: int, blob: bytes | None) -> None:
        """Store the encrypted browser storage state (None forgets it)."""

    async def set_auth(
        self, bot_id: int, state: str, prompt: dict[str, Any] | None = None, *, attempts: int | None = None,
        supplier_id: str | None = None,
    ) -> None:
        """Where the WB login stands (store.AuthState value), what to show the seller, the re-auth counter."""

    async def next_auth_step(self, bot_id: int) -> AuthStep | None:
        """Take the oldest pending auth request of the bot (it becomes ``taken``), if any."""

    async def finish_auth_step(self, step_id: int, ok: bool, message: str) -> None:
        """Mark a taken request done/failed with a Russian message for the seller; the value is wiped."""

    # --- tasks ---
    async def active_tasks(self, bot_id: int) -> list[TaskRecord]:
        """The bot's tasks that are not final (Pending, Watching, Booking, QuotaExceeded), its racing ones
        included (their spec as this account books it: :meth:`SupplyTaskSpec.for_account`)."""

    async def move_task(self, task_id: int, phase: TaskPhase, message: str | None = None) -> TaskRecord:
        """Apply a task transition (``IllegalTransition`` if the machine forbids it)."""

    # --- bookings ---
    async def reserve_booking(self, task: TaskRecord, limit: int, account_id: int | None = None
                              ) -> BookingRecord | None:
        """Hold one booking of this month for ``task`` by ``account_id``; None when the seller's limit is reached.
        A booking held by another account (racing) comes back with that ``account_id``: stand down."""

    async def mark_booking_attempt(self, booking_id: int, *, preorder_id: int, slot: Slot) -> None:
        """Write what is about to be booked onto the reserved row, before the cabinet is asked."""

    async def confirm_booking(self, booking: BookingRecord, *, supply_id: int | None, slot: Slot,
                              coefficient: float | None = None) -> TaskRecord:
        """Count the booking and move the task to Booked (idempotent)."""

    async def release_booking(self, booking: BookingRecord) -> None:
        """The booking did not happen: give the quota unit back (idempotent)."""

    async def mark_plan_requested(self, booking_id: int) -> None:
        """Written just before ``plan/add`` is sent: a planned preorder is ours only if we asked."""

    async def settle(self, bot_id: int, booking: BookingRecord, settlement: Settlement) -> TaskRecord:
        """Finish a booking (booked or lost) in ONE transaction: quota, booking row, task phase and message,
        outbox rows, event log (see :mod:`wbsupply.control.bookings`); idempotent."""

    async def settle_move(self, bot_id: int, booking: BookingRecord, slot: Slot, notice: Notice,
                          payload: dict[str, Any]) -> TaskRecord:
        """A reschedule WB confirmed, in one transaction (see :func:`wbsupply.control.bookings.settle_move`)."""

    async def mark_move_requested(self, booking_id: int, slot: Slot) -> None:
        """The move marker, written just before ``plan/update`` is sent (see :mod:`wbsupply.control.bookings`)."""

    async def move_missed(self, bot_id: int, booking: BookingRecord, payload: dict[str, Any], *,
                          level: str = "INFO") -> None:
        """WB left the supply where it was: clear the move marker with a "supply not moved" line, one transaction."""

    async def follow_wb(self, bot_id: int, booking: BookingRecord, slot: Slot, coefficient: float | None,
                        notice: Notice, payload: dict[str, Any]) -> TaskRecord:
        """WB shows the supply on another date (moved by hand): the record takes it, one transaction."""

    async def booked_supplies(self, bot_id: int) -> list[tuple[TaskRecord, BookingRecord]]:
        """Confirmed bookings WB is asked about again: moves in flight, and Booked tasks that improve."""

    async def adopt(self, bot_id: int, task_id: int, adoption: Adoption) -> TaskRecord:
        """A watching task takes over the supply the seller planned by hand, in one transaction, never counted
        against the tariff (see :func:`wbsupply.control.bookings.adopt`); raises ``SupplyClaimed``."""

    async def improvable(self, bot_id: int) -> list[tuple[TaskRecord, BookingRecord, int]]:
        """Booked tasks still looking for a better slot: (task, its confirmed booking, moves made)."""

    async def save_cabinet_supplies(self, bot_id: int, supplies: dict[str, Any]) -> None:
        """The seller's drafts and preorders (planned ones marked) as the bot read them in the cabinet."""

    async def quota_left(self, user_id: int, limit: int) -> int:
        """Bookings the seller may still make this month (reserved ones count as used)."""

    async def open_bookings(self, bot_id: int) -> list[BookingRecord]:
        """RESERVED bookings of the bot's tasks (racing ones included, whichever account holds them): in
        flight, or cut short by a crash."""

    # --- journal ---
    async def log_event(self, bot_id: int, message: str, *, level: str = "INFO", task_id: int | None = None,
                        payload: dict[str, Any] | None = None) -> None: ...

    async def notify(self, notice: Notice) -> None: ...
