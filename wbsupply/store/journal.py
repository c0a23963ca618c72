"""Append-mostly tables: slot history, the event log and the notification outbox.

History and log rows carry plain ids without foreign keys on purpose: they must outlive the accounts
they mention, and writing a log line must never fail because its account was just deleted.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from wbsupply.domain.statuses import BoxType
from wbsupply.store.models import User  # noqa: F401  (the outbox's foreign key needs the users table)
from wbsupply.store.types import BigIntId, EnumString, utcnow


class SlotHistory(SQLModel, table=True):
    """Every change of a slot the monitor saw (opened, closed, coefficient changed, ...)."""

    __tablename__ = "slot_history"
    __table_args__ = (
        # One slot's timeline (how long it stayed open) and "what happened lately" for the statistics.
        Index("ix_slot_history_slot", "warehouse_id", "slot_date", "box_type", "observed_at"),
        Index("ix_slot_history_observed_at", "observed_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    warehouse_id: int
    slot_date: date
    box_type: BoxType = Field(sa_type=EnumString(BoxType))
    coefficient: float  # -1 closed, 0 free, >= 1 multiplier
    allow_unload: bool
    kind: str = Field(max_length=32)  # the monitor's event kind, e.g. "opened", "closed", "changed"
    source: str | None = Field(default=None, max_length=32)  # "api" or "cabinet"
    observed_at: datetime = Field(default_factory=utcnow)


class EventLog(SQLModel, table=True):
    """Every notable event and error, for the admin panel and for the seller's own history."""

    __tablename__ = "event_log"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    level: str = Field(default="INFO", max_length=16)
    source: str = Field(max_length=64)  # component: "worker", "monitor", "api", ...
    user_id: int | None = Field(default=None, index=True)
    account_id: int | None = Field(default=None, index=True)
    task_id: int | None = None
    message: str = Field(sa_type=Text)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow, index=True)


class NotificationChannel(StrEnum):
    TELEGRAM = "telegram"
    EMAIL = "email"
    CABINET = "cabinet"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt


class NotificationOutbox(SQLModel, table=True):
    """Messages to deliver, written in the same transaction as the change they announce.

    ``dedup_key`` is unique so that a retried producer (or two replicas) cannot notify twice.
    """

    __tablename__ = "notification_outbox"
    # The sender's poll: pending messages that are due.
    __table_args__ = (Index("ix_notification_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    channel: NotificationChannel = Field(sa_type=EnumString(NotificationChannel))
    kind: str = Field(max_length=64)  # e.g. "booked", "quota_exceeded", "auth_lost"
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    dedup_key: str = Field(max_length=200, unique=True)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=EnumString(OutboxStatus))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
