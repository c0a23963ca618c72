"""Tables of the cabinet's accounts: invitations, API tokens, Telegram link codes, failed logins.

Secrets handed to people (invitation links, API tokens) are stored as SHA-256 hashes only: a leaked
database does not let anyone sign up or call the API. Telegram link codes are short-lived and typed by
hand into the bot, so they are stored as they are (the notifier looks them up by value).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from wbsupply.domain.statuses import Role
from wbsupply.store.models import SupplyTask, User  # noqa: F401  (foreign keys below need these tables)
from wbsupply.store.types import BigIntId, EnumString, utcnow


class Invitation(SQLModel, table=True):
    """A one-time sign-up link created by an admin."""

    __tablename__ = "invitations"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    email: str | None = Field(default=None, max_length=320)  # if set, only this address may sign up
    role: Role = Field(default=Role.SELLER, sa_type=EnumString(Role))
    plan_limit: int = 5
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    used_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class ApiToken(SQLModel, table=True):
    """A bearer token of an API client, owned by one user."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None  # None only for tokens issued before expiry existed


class TelegramLinkCode(SQLModel, table=True):
    """A code the seller sends to our Telegram bot; the notifier binds the chat to ``user_id`` and marks it used."""

    __tablename__ = "telegram_link_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    code: str = Field(max_length=32, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """One failed login, keyed by client address and e-mail; shared by every API replica."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntId)
    key: str = Field(max_length=64)  # sha256 of "ip|email": no addresses at rest
    at: datetime = Field(default_factory=utcnow)


class IdempotencyKey(SQLModel, table=True):
    """A client's Idempotency-Key of a creating request and what it created: a retried POST gets the same answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    key: str = Field(max_length=64)  # sha256 of the client's key
    task_id: int | None = Field(default=None, foreign_key="supply_tasks.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
