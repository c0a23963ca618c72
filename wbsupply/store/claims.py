"""One draft or preorder, one task: which task holds a WB account's draft or preorder.

A booking task claims every (WB account, draft or preorder) it may plan a supply from — its own and each
racing account's draft (``domain.booking.claims_of``) — as ``task_claims`` rows, unique per account and key,
so two tasks never plan one supply. A claim counts while its task is active or booked (``CLAIM_PHASES``, as
the main claim's partial index on ``supply_tasks``): a cancelled, failed or expired task releases it without
anyone touching the row, and the next task to claim the key takes the row over.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from wbsupply.store.models import CLAIM_PHASES, SupplyTask, TaskClaim


def holder(session: Session, account_id: int, key: str, *, besides: int | None = None) -> SupplyTask | None:
    """The active or booked task that holds ``key`` of this account (as its own or a racer's), if any."""
    claimed = select(TaskClaim.task_id).where(col(TaskClaim.account_id) == account_id,
                                              col(TaskClaim.claim_key) == key)
    query = select(SupplyTask).where(
        col(SupplyTask.phase).in_(CLAIM_PHASES),
        sa.or_(col(SupplyTask.id).in_(claimed),  # a task made before the claims table holds its main claim
               sa.and_(col(SupplyTask.account_id) == account_id, col(SupplyTask.claim_key) == key)))
    if besides is not None:
        query = query.where(col(SupplyTask.id) != besides)
    return session.exec(query.order_by(col(SupplyTask.id)).limit(1)).first()


def take(session: Session, task_id: int, claims: Sequence[tuple[int, str]]) -> None:
    """Give the task exactly ``claims`` (creation or an edit). A row an ended task left is taken over; a row
    a live task holds makes the flush fail with IntegrityError (also when a concurrent transaction took it
    first): the caller checks ``holder`` first and answers with its number."""
    claims = sorted(set(claims))  # one order for every writer: two tasks claiming the same pair never deadlock
    session.execute(sa.delete(TaskClaim).where(col(TaskClaim.task_id) == task_id)
                    .execution_options(synchronize_session=False))
    live = sa.exists().where(col(SupplyTask.id) == col(TaskClaim.task_id), col(SupplyTask.phase).in_(CLAIM_PHASES))
    for account_id, key in claims:
        session.execute(sa.delete(TaskClaim).where(col(TaskClaim.account_id) == account_id,
                                                   col(TaskClaim.claim_key) == key, ~live)
                        .execution_options(synchronize_session=False))
    session.add_all(TaskClaim(account_id=account_id, claim_key=key, task_id=task_id) for account_id, key in claims)
    session.flush()


def claimed_by(session: Session, account_id: int) -> dict[str, int]:
    """Every draft or preorder of this account an active or booked task holds: key → that task's id."""
    rows = session.exec(
        select(TaskClaim.claim_key, TaskClaim.task_id).join(SupplyTask, col(SupplyTask.id) == col(TaskClaim.task_id))
        .where(col(TaskClaim.account_id) == account_id, col(SupplyTask.phase).in_(CLAIM_PHASES))).all()
    main = session.exec(
        select(SupplyTask.claim_key, SupplyTask.id).where(
            col(SupplyTask.account_id) == account_id, col(SupplyTask.claim_key).is_not(None),
            col(SupplyTask.phase).in_(CLAIM_PHASES))).all()
    return {str(key): task_id for key, task_id in [*rows, *main] if key is not None and task_id is not None}
