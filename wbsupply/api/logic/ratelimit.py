"""Login throttling: 5 failed logins per client address and e-mail in 15 minutes, then 429.

Failures are rows in the database, so every API replica sees the same count; a successful login clears
them. Keys are hashes: the table holds no addresses or e-mails.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from wbsupply.api.errors import TooManyRequests
from wbsupply.api.security import sha256
from wbsupply.store.accounts import LoginFailure
from wbsupply.store.types import utcnow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def login_key(client_ip: str, email: str) -> str:
    return sha256(f"{client_ip}|{email.strip().lower()}")


def check_allowed(session: Session, key: str, now: datetime | None = None) -> None:
    """Raise 429 while the key has too many recent failures."""
    now = now or utcnow()
    count, oldest = session.exec(
        select(func.count(), func.min(LoginFailure.at)).where(
            col(LoginFailure.key) == key, col(LoginFailure.at) > now - WINDOW
        )
    ).one()
    if count < MAX_FAILURES or oldest is None:
        return
    wait = max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
    minutes = max(1, math.ceil(wait / 60))
    raise TooManyRequests(
        f"Слишком много неудачных попыток входа. Попробуйте снова через {minutes} мин.", retry_after=wait
    )


def record_failure(session: Session, key: str) -> None:
    session.add(LoginFailure(key=key))
    # Old rows are useless: prune them here instead of running a separate janitor.
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) < utcnow() - 2 * WINDOW))
    session.commit()


def clear(session: Session, key: str) -> None:
    session.exec(delete(LoginFailure).where(col(LoginFailure.key) == key))
    session.commit()
