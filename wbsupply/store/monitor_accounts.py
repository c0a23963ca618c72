"""Monitor accounts: WB cabinet logins the operator connects for the monitor's cabinet report source.

A monitor account is a :class:`~wbsupply.store.models.WbAccount` owned by an admin (so its bot logs in
through the same phone → code → supplier relay as a seller's, keeps the encrypted browser session fresh and
re-authorizes up to three times) plus this row, which says that the monitor may read the coefficient report
through it and how many requests a minute it may spend there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Text
from sqlmodel import Field, Session, SQLModel, col, select

from wbsupply.domain.statuses import BotStatus
from wbsupply.store.engine import begin_immediate, session_scope
from wbsupply.store.models import WbAccount
from wbsupply.store.types import utcnow

DEFAULT_REQUESTS_PER_MINUTE = 5  # one report every 12 s: WB's public API allows 6, a person clicks slower


class MonitorAccount(SQLModel, table=True):
    __tablename__ = "monitor_accounts"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="wb_accounts.id", ondelete="CASCADE", unique=True)
    enabled: bool = True
    requests_per_minute: int = Field(default=DEFAULT_REQUESTS_PER_MINUTE, ge=1, le=30)
    last_poll_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class MonitorAccountView:
    """What the monitor and the admin panel need of one monitor account (no secrets but the sealed blob)."""

    id: int
    account_id: int
    phone: str
    label: str
    enabled: bool
    requests_per_minute: int
    bot_status: str
    auth_state: str
    session_blob: bytes | None
    session_saved_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None

    @property
    def usable(self) -> bool:
        return self.enabled and self.session_blob is not None and self.bot_status == BotStatus.ACTIVE.value


def add_monitor_account(engine: Engine, owner_id: int, phone: str, label: str = "мониторинг",
                        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE) -> int:
    """A new WB account of ``owner_id`` (an admin) marked for the monitor; returns the WB account id."""
    with session_scope(begin_immediate(engine)) as session:
        account = WbAccount(owner_id=owner_id, phone=phone, label=label)
        session.add(account)
        session.flush()
        assert account.id is not None
        session.add(MonitorAccount(account_id=account.id, requests_per_minute=requests_per_minute))
        return account.id


def monitor_accounts(bind: Engine | Session) -> list[MonitorAccountView]:
    def read(session: Session) -> list[MonitorAccountView]:
        rows = session.exec(select(MonitorAccount, WbAccount).join(
            WbAccount, col(WbAccount.id) == col(MonitorAccount.account_id)).order_by(col(MonitorAccount.id))).all()
        return [MonitorAccountView(m.id or 0, a.id or 0, a.phone, a.label, m.enabled, m.requests_per_minute,
                                   a.status.value, a.auth_state, a.session_blob, a.session_saved_at,
                                   m.last_ok_at, m.last_error) for m, a in rows]

    if isinstance(bind, Session):
        return read(bind)
    with session_scope(bind) as session:
        return read(session)


def record_poll(engine: Engine, account_id: int, ok: bool, error: str | None = None) -> None:
    with session_scope(begin_immediate(engine)) as session:
        row = session.exec(select(MonitorAccount).where(MonitorAccount.account_id == account_id)).first()
        if row is None:
            return
        row.last_poll_at = utcnow()
        if ok:
            row.last_ok_at, row.last_error = row.last_poll_at, None
        else:
            row.last_error = (error or "")[:500]
