"""The WB authorization relay between the web cabinet and a seller's bot.

The seller types a phone, a code, a captcha answer or picks a legal entity in our cabinet; the API stores
each as a ``wb_auth_requests`` row, the bot takes it (pending → taken), performs the step on WB's login page
and finishes it (done | failed) with a Russian ``message`` for the seller. Where the login stands is kept on
the account (``WbAccount.auth_state`` + ``auth_prompt``), so the cabinet can show the right form.
Request values (phones, codes, captcha answers) are never logged; codes are blanked once used.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from wbsupply.store.models import WbAccount  # noqa: F401  (the foreign key needs the wb_accounts table)
from wbsupply.store.types import EnumString, utcnow


class AuthRequestKind(StrEnum):
    PHONE = "phone"  # value: the phone (+7XXXXXXXXXX) to log in with
    CODE = "code"  # value: the code WB sent by SMS/push
    CAPTCHA = "captcha"  # value: the characters of the captcha picture
    SUPPLIER = "supplier"  # value: the chosen supplier (legal entity) id
    RECONNECT = "reconnect"  # no value: start a fresh login with the account's phone


class AuthRequestStatus(StrEnum):
    PENDING = "pending"
    TAKEN = "taken"
    DONE = "done"
    FAILED = "failed"


class AuthState(StrEnum):
    """Where the WB login of an account stands (what the cabinet asks the seller next)."""

    IDLE = "idle"  # nothing asked yet
    NEED_PHONE = "need_phone"
    CODE_SENT = "code_sent"
    NEED_CAPTCHA = "need_captcha"  # auth_prompt: {"captcha": "<text of the picture>"}
    NEED_SUPPLIER = "need_supplier"  # auth_prompt: {"suppliers": [{"id", "name"}]}
    AUTHORIZED = "authorized"
    BLOCKED = "blocked"  # auth_prompt: {"hours": N}


class WbAuthRequest(SQLModel, table=True):
    __tablename__ = "wb_auth_requests"
    # The bot's poll: the oldest pending request of its account.
    __table_args__ = (Index("ix_wb_auth_requests_account_status", "account_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="wb_accounts.id", ondelete="CASCADE")
    kind: AuthRequestKind = Field(sa_type=EnumString(AuthRequestKind))
    value: str | None = Field(default=None, sa_type=Text)
    status: AuthRequestStatus = Field(default=AuthRequestStatus.PENDING, sa_type=EnumString(AuthRequestStatus))
    message: str | None = Field(default=None, sa_type=Text)  # Russian, shown to the seller
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, sa_column_kwargs={"onupdate": utcnow})
