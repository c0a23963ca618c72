"""Idempotency keys of task creation: a client that lost the answer to its POST retries with the same
``Idempotency-Key`` and gets the task it already created instead of a duplicate.

The key is claimed (a row, unique per user) before the task is created, so two retries racing each other
cannot both create: the second sees the claim and is told to retry (409) until the first has finished.
Keys are stored hashed and forgotten after a day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wbsupply.api.errors import Conflict
from wbsupply.api.security import sha256
from wbsupply.store import SupplyTask, User
from wbsupply.store.accounts import IdempotencyKey
from wbsupply.store.types import utcnow

KEY_TTL = timedelta(hours=24)
IN_PROGRESS = "Запрос с этим Idempotency-Key ещё выполняется: повторите его через несколько секунд"


def once(session: Session, user: User, key: str, create: Callable[[], SupplyTask]) -> tuple[SupplyTask, bool]:
    """The task created under ``key`` (and True: a replay), or a new one from ``create()`` (and False)."""
    digest = sha256(f"{user.id}|{key}")
    for _ in range(2):
        replayed = _replay(session, user, digest)
        if replayed is not None:
            return replayed, True
        claim = IdempotencyKey(user_id=user.id or 0, key=digest)
        session.add(claim)
        try:
            session.commit()
            break
        except IntegrityError:  # a concurrent retry claimed it first
            session.rollback()
    else:
        raise Conflict(IN_PROGRESS)
    try:
        task = create()
    except BaseException:
        session.rollback()
        session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.id) == claim.id))
        session.commit()
        raise
    claim.task_id = task.id
    session.add(claim)
    session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < utcnow() - KEY_TTL))
    session.commit()
    return task, False


def _replay(session: Session, user: User, digest: str) -> SupplyTask | None:
    claim = session.exec(select(IdempotencyKey).where(
        col(IdempotencyKey.user_id) == user.id, col(IdempotencyKey.key) == digest,
        col(IdempotencyKey.created_at) >= utcnow() - KEY_TTL)).first()
    if claim is None:
        return None
    if claim.task_id is None:
        raise Conflict(IN_PROGRESS)
    task = session.get(SupplyTask, claim.task_id)
    if task is None:
        raise Conflict(IN_PROGRESS)
    return task
