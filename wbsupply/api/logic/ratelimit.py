"""Login throttling that slows an attacker down without locking the owner out.

Three counters of failed logins over a 15-minute window, each a row per failure keyed by a hash:

- one e-mail from one address: the first 5 failures are free, then each try waits 1, 2, 4 … seconds (at most
  5 minutes) after the previous failure. The owner who mistyped waits seconds, then signs in; a guesser gets a
  few dozen tries an hour. Nobody else's failures count here, so an attacker elsewhere never locks the owner out.
- one address, any e-mails: 100 failures, then 429 until the window moves on (credential stuffing);
- one password, any e-mails and addresses: 20 failures, then 429 for that password (password spraying). The
  password is keyed with the service's secret (HMAC), so the table holds nothing crackable.

Failures are rows in the database, so every API replica sees the same counts; a successful login clears the
e-mail's own counter. Callers run these in short transactions of their own: never while a password hash is
being verified (argon2 takes a good fraction of a second, and SQLite has one writer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from wbsupply.api.errors import TooManyRequests
from wbsupply.api.security import keyed_hash, sha256
from wbsupply.store.accounts import LoginFailure
from wbsupply.store.types import utcnow

FREE_FAILURES = 5
MAX_BACKOFF = timedelta(minutes=5)
MAX_ADDRESS_FAILURES = 100
MAX_PASSWORD_FAILURES = 20
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginKeys:
    pair: str  # e-mail from this address
    address: str
    password: str

    @property
    def all(self) -> tuple[str, str, str]:
        return self.pair, self.address, self.password


def login_keys(client_ip: str, email: str, password: str, secret: str) -> LoginKeys:
    return LoginKeys(
        pair=sha256(f"{client_ip}|{email.strip().lower()}"),
        address=sha256(f"ip|{client_ip}"),
        password=keyed_hash(secret, f"password|{password}"),
    )


def _wait_message(wait: int) -> str:
    if wait < 60:
        return f"Слишком много неудачных попыток входа. Попробуйте снова через {wait} с."
    return f"Слишком много неудачных попыток входа. Попробуйте снова через {math.ceil(wait / 60)} мин."


def check_allowed(session: Session, keys: LoginKeys, now: datetime | None = None) -> None:
    """Raise 429 while any of the counters says wait. One read; takes no write lock."""
    now = now or utcnow()
    rows = session.exec(
        select(LoginFailure.key, func.count(), func.min(LoginFailure.at), func.max(LoginFailure.at))
        .where(col(LoginFailure.key).in_(keys.all), col(LoginFailure.at) > now - WINDOW)
        .group_by(col(LoginFailure.key))
    ).all()
    waits = [0.0]
    for key, count, oldest, newest in rows:
        if key == keys.pair and count >= FREE_FAILURES:
            backoff = min(timedelta(seconds=2 ** min(count - FREE_FAILURES, 20)), MAX_BACKOFF)
            waits.append((_aware(newest) + backoff - now).total_seconds())
        elif (key == keys.address and count >= MAX_ADDRESS_FAILURES) or (
            key == keys.password and count >= MAX_PASSWORD_FAILURES
        ):
            waits.append((_aware(oldest) + WINDOW - now).total_seconds())
    wait = max(waits)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(_wait_message(seconds), retry_after=seconds)


def _aware(moment: datetime) -> datetime:
    # SQLModel's UTCDateTime returns aware values from both databases; a bare aggregate may come back naive.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_failure(session: Session, keys: LoginKeys) -> None:
    for key in keys.all:
        session.add(LoginFailure(key=key))
    # Old rows are useless: prune them here instead of running a separate janitor.
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) < utcnow() - 2 * WINDOW))
    session.commit()


def clear(session: Session, keys: LoginKeys) -> None:
    session.exec(delete(LoginFailure).where(col(LoginFailure.key) == keys.pair))
    session.commit()
