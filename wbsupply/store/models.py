"""SQLModel tables of the service.

Class families as in the FastAPI template: ``XBase`` holds the fields a client may see or send (the API
derives its Create/Update/Public schemas from it), ``X(XBase, table=True)`` adds what only the server sets.
Every id is an integer, every timestamp an aware UTC datetime, every enum column stores the enum's value.
Journals (slot history, event log, notification outbox) live in :mod:`wbsupply.store.journal`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from wbsupply.domain.statuses import BotStatus, BoxType, Role, TaskPhase
from wbsupply.store.types import EnumString, utcnow

# Deterministic constraint names: Alembic needs them to alter or drop constraints later, and SQLite's
# batch migrations can only recreate constraints that have names.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_UPDATED = {"onupdate": utcnow}


class BookingState(StrEnum):
    """A booking is first a quota reservation, then a confirmed booking or a released reservation."""

    RESERVED = "reserved"
    CONFIRMED = "confirmed"
    RELEASED = "released"


# --- users -----------------------------------------------------------------------------------------------


class UserBase(SQLModel):
    email: str = Field(max_length=320, unique=True, index=True)  # stored lower-cased by the API
    role: Role = Field(default=Role.SELLER, sa_type=EnumString(Role))
    active: bool = True
    plan_limit: int = Field(default=5, ge=0)  # bookings per month allowed by the seller's tariff
    telegram_chat_id: int | None = Field(default=None, sa_type=BigInteger)  # chat ids exceed 32 bits
    notification_prefs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("plan_limit >= 0", name="plan_limit_nonnegative"),)

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)  # argon2id PHC string, never the password
    created_at: datetime = Field(default_factory=utcnow)
    # Carried by every session cookie: signing out or changing the password bumps it, ending every cookie.
    session_version: int = 0


# --- WB accounts (one SellerBot each) --------------------------------------------------------------------


class WbAccountBase(SQLModel):
    phone: str = Field(max_length=20, index=True)  # +7XXXXXXXXXX
    label: str = Field(default="", max_length=100)
    supplier_id: str | None = Field(default=None, max_length=64)  # chosen legal entity (x-supplier-id)


class WbAccount(WbAccountBase, table=True):
    __tablename__ = "wb_accounts"

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    status: BotStatus = Field(default=BotStatus.INITIALIZING, sa_type=EnumString(BotStatus), index=True)
    auth_attempts: int = 0  # automatic re-authorizations since the last success (max 3)
    # Encrypted by the caller; the store never sees the cookies in clear.
    session_blob: bytes | None = Field(default=None, sa_type=LargeBinary)
    # Set by an admin who checked that the phone is this seller's while another seller has it connected too.
    phone_approved_at: datetime | None = None
    session_saved_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    memory_bytes: int | None = Field(default=None, sa_type=BigInteger)
    last_heartbeat_at: datetime | None = None
    last_auth_check_at: datetime | None = None
    restart_count: int = 0
    last_restart_at: datetime | None = None
    last_restart_reason: str | None = Field(default=None, max_length=200)
    next_restart_at: datetime | None = None  # the slot in the nightly window assigned to this bot
    # WB login relayed from the cabinet (see wbsupply.store.auth): an AuthState value and what to show.
    auth_state: str = Field(default="idle", max_length=32)
    auth_prompt: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # The seller's WB API token (supplies scope), encrypted like session_blob: confirms bookings via WB's API.
    api_token_blob: bytes | None = Field(default=None, sa_type=LargeBinary)
    # The seller's drafts and preorders (planned ones marked) as the bot last read them in the cabinet (the task form
    # offers them): {"drafts": [...], "preorders": [...]}, see wbsupply.control.bookings.cabinet_supplies.
    cabinet_supplies: dict[str, Any] = Field(default_factory=dict, sa_type=JSON,
                                             sa_column_kwargs={"server_default": text("'{}'")})
    cabinet_supplies_at: datetime | None = None
    # Name of the SellerBot of a bot created with kubectl (None: the API's ``bot-<id>``).
    cr_name: str | None = Field(default=None, max_length=253, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, sa_column_kwargs=_UPDATED)


# --- supply tasks ----------------------------------------------------------------------------------------


class SupplyTaskBase(SQLModel):
    spec: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the domain's task spec, serialized
    deadline: datetime | None = None


# Phases in which a task holds its draft or preorder: a second task on it is refused (see claim_key).
CLAIM_PHASES = (TaskPhase.PENDING, TaskPhase.WATCHING, TaskPhase.BOOKING, TaskPhase.QUOTA_EXCEEDED, TaskPhase.BOOKED)
CLAIM_PHASES_SQL = "phase IN ('Pending', 'Watching', 'Booking', 'QuotaExceeded', 'Booked')"
_CLAIM_WHERE = text(f"claim_key IS NOT NULL AND {CLAIM_PHASES_SQL}")


class SupplyTask(SupplyTaskBase, table=True):
    __tablename__ = "supply_tasks"
    # The worker's question is "my account's tasks in these phases".
    __table_args__ = (
        Index("ix_supply_tasks_account_phase", "account_id", "phase"),
        # One draft or preorder, one task (while the task is active or booked): never one supply, two tasks.
        Index("uq_supply_tasks_claim", "account_id", "claim_key", unique=True, sqlite_where=_CLAIM_WHERE,
              postgresql_where=_CLAIM_WHERE),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    account_id: int = Field(foreign_key="wb_accounts.id", ondelete="CASCADE")
    phase: TaskPhase = Field(default=TaskPhase.PENDING, sa_type=EnumString(TaskPhase))
    plan_rank: int = 0  # the owner's tariff as a number, larger = bigger plan; one of the priority keys
    message: str | None = Field(default=None, sa_type=Text)  # last human-readable status line
    attempts: int = 0
    # Paused by the seller (cabinet, Telegram, kubectl): the bot leaves the task alone; it waits in Pending.
    paused: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    # Name of the SupplyTask of a task created with kubectl (None: the API's ``task-<id>``).
    cr_name: str | None = Field(default=None, max_length=253, unique=True)
    claim_key: str | None = Field(default=None, max_length=120)  # "draft:<id>" | "preorder:<id>"
    booked_warehouse_id: int | None = None
    booked_warehouse_name: str | None = Field(default=None, max_length=200)
    booked_date: date | None = None
    booked_box_type: BoxType | None = Field(default=None, sa_type=EnumString(BoxType))
    booked_coefficient: float | None = None
    booked_at: datetime | None = None
    moves: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # reschedules of the booked supply
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, sa_column_kwargs=_UPDATED)


class TaskClaim(SQLModel, table=True):
    """A draft or preorder of one WB account that a booking task plans from: its own, and each racing
    account's draft. At most one row per (account, draft/preorder); the row counts while its task is in
    ``CLAIM_PHASES_SQL`` (an ended task's row is taken over by the next task, see :mod:`wbsupply.store.claims`)."""

    __tablename__ = "task_claims"

    account_id: int = Field(foreign_key="wb_accounts.id", ondelete="CASCADE", primary_key=True)
    claim_key: str = Field(max_length=120, primary_key=True)  # "draft:<id>" | "preorder:<id>"
    task_id: int = Field(foreign_key="supply_tasks.id", ondelete="CASCADE", index=True)


# --- bookings and the quota ledger -----------------------------------------------------------------------


class Booking(SQLModel, table=True):
    """One per task, enforced by the database: a task can never be booked (or counted) twice.

    The row is created as the quota reservation (see :mod:`wbsupply.store.quota`); the slot fields are
    filled when the cabinet confirms the booking.
    """

    __tablename__ = "bookings"
    __table_args__ = (UniqueConstraint("task_id"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="supply_tasks.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    month: str = Field(max_length=7)  # the 'YYYY-MM' usage row this booking counts in
    state: BookingState = Field(default=BookingState.RESERVED, sa_type=EnumString(BookingState))
    warehouse_id: int | None = None
    warehouse_name: str | None = Field(default=None, max_length=200)
    slot_date: date | None = None
    box_type: BoxType | None = Field(default=None, sa_type=EnumString(BoxType))
    coefficient: float | None = None
    supply_id: int | None = Field(default=None, sa_type=BigInteger)
    preorder_id: int | None = Field(default=None, sa_type=BigInteger)
    # The WB account whose bot holds this booking (racing tasks: the winner; NULL on rows made before racing,
    # which belong to the task's account). Only this account's bot may plan, confirm or move it.
    account_id: int | None = Field(default=None, foreign_key="wb_accounts.id", ondelete="SET NULL")
    # Set just before plan/add is sent: WB's planned preorder is ours only if we asked (domain.booking.judge).
    plan_requested_at: datetime | None = None
    # Set when a task took over a supply the seller had planned by hand, to move it to a better slot: WB's
    # supply, confirmed, but never counted against the tariff (the bot did not book it; see control.bookings.adopt).
    adopted_at: datetime | None = None
    # The move marker: set just before plan/update asks WB to move the confirmed supply to ``move_date`` (same
    # warehouse and box type), cleared in the transaction that settles the move either way. A marker left by a
    # crash or a lost answer is reconciled with WB before the supply is moved again (control.bookings).
    move_date: date | None = None
    move_coefficient: float | None = None
    move_requested_at: datetime | None = None
    reserved_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None
    released_at: datetime | None = None


class MonthlyUsage(SQLModel, table=True):
    """Bookings used and in flight per seller and month; ``used + reserved`` never exceeds the plan."""

    __tablename__ = "monthly_usage"
    __table_args__ = (
        UniqueConstraint("user_id", "month"),
        CheckConstraint("used >= 0", name="used_nonnegative"),
        CheckConstraint("reserved >= 0", name="reserved_nonnegative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    month: str = Field(max_length=7)
    used: int = 0
    reserved: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column_kwargs=_UPDATED)
