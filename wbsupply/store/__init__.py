"""Persistence: SQLModel tables, engines and sessions, Alembic migrations, the atomic booking quota.

Importing this package registers every table on :data:`metadata` (what Alembic compares against).
"""

from sqlmodel import SQLModel

from wbsupply.store.accounts import ApiToken, IdempotencyKey, Invitation, LoginFailure, TelegramLinkCode
from wbsupply.store.auth import AuthRequestKind, AuthRequestStatus, AuthState, WbAuthRequest
from wbsupply.store.engine import (
    begin_immediate,
    current_revision,
    engine_from_settings,
    head_revision,
    make_engine,
    session_factory,
    session_scope,
    upgrade,
)
from wbsupply.store.journal import (
    EventLog,
    NotificationChannel,
    NotificationOutbox,
    OutboxStatus,
    SlotHistory,
)
from wbsupply.store.models import (
    Booking,
    BookingState,
    MonthlyUsage,
    SupplyTask,
    SupplyTaskBase,
    TaskClaim,
    User,
    UserBase,
    WbAccount,
    WbAccountBase,
)
from wbsupply.store.monitor_accounts import MonitorAccount

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "AuthRequestKind",
    "AuthRequestStatus",
    "AuthState",
    "Booking",
    "BookingState",
    "EventLog",
    "IdempotencyKey",
    "Invitation",
    "LoginFailure",
    "MonitorAccount",
    "MonthlyUsage",
    "NotificationChannel",
    "NotificationOutbox",
    "OutboxStatus",
    "SlotHistory",
    "SupplyTask",
    "SupplyTaskBase",
    "TaskClaim",
    "TelegramLinkCode",
    "User",
    "UserBase",
    "WbAccount",
    "WbAccountBase",
    "WbAuthRequest",
    "begin_immediate",
    "current_revision",
    "engine_from_settings",
    "head_revision",
    "make_engine",
    "metadata",
    "session_factory",
    "session_scope",
    "upgrade",
]
