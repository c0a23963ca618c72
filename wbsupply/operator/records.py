"""What the operator writes into the database: who owns a kubectl-created object, and what it observed.

The rule (README, «Kubernetes»): in the cluster the custom resources are the desired state of every bot and
task; the database is the record of who owns them and of what happened. So:

- a SellerBot or SupplyTask names its owner in ``spec.seller`` (a user id or e-mail); an object whose owner
  is unknown, or whose WB account / SellerBot belongs to another seller, is *refused*
  (:class:`Refusal`: the handler writes a ``SellerAccepted=False`` condition and an Event and does nothing
  else); an accepted kubectl object gets its database row (the WB account, the task), so the worker finds
  it and the seller sees it in the cabinet;
- desired state set on the resource (``paused``) is copied to the row;
- phases the operator sets (admission Failed / Expired / QuotaExceeded / Pending, a bot's ERROR) are written
  to the row in the same reconciliation.

Every function is synchronous (short transactions; the handlers run them in a thread) and returns the list of
changes it made, in words for the log: the resync counts those as repaired drift.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from wbsupply.domain.booking import claim_key, claims_of
from wbsupply.domain.machines import SELLER_PAUSED_MESSAGE, can_move
from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.operator.tasks import to_domain
from wbsupply.store import EventLog, SupplyTask, User, WbAccount, claims, session_scope

_BOT_NAME = re.compile(r"^bot-(\d+)$")
_TASK_NAME = re.compile(r"^task-(\d+)$")
DELETED_MESSAGE = "Задача удалена в кластере (kubectl)"
CREATED = "created from SupplyTask"  # the change that adopts a kubectl task (see admit_task)
BLOCKED_MESSAGE = "Продавец заблокирован администратором: бот остановлен"


@dataclasses.dataclass
class Refusal(Exception):
    """The object names no valid owner: ``reason`` for the condition and Event, ``message`` for humans."""

    reason: str
    message: str

    def condition(self, now: str) -> dict[str, str]:
        return {"type": "SellerAccepted", "status": "False", "reason": self.reason, "message": self.message,
                "lastTransitionTime": now}


def accepted_condition(seller: str, now: str) -> dict[str, str]:
    return {"type": "SellerAccepted", "status": "True", "reason": "SellerFound",
            "message": f"owned by seller {seller}", "lastTransitionTime": now}


def find_seller(session: Session, ref: Any) -> User | None:
    """``spec.seller``: a user id (what the API writes) or the seller's e-mail (what a human types)."""
    text = str(ref or "").strip()
    if not text:
        return None
    if text.isdigit():
        return session.get(User, int(text))
    return session.exec(select(User).where(col(User.email) == text.lower())).first()


def _seller(session: Session, spec: Mapping[str, Any]) -> User:
    ref = str(spec.get("seller") or "").strip()
    if not ref:
        raise Refusal("NoSeller", "spec.seller is empty: name the seller (user id or e-mail) who owns this object")
    user = find_seller(session, ref)
    if user is None:
        raise Refusal("UnknownSeller", f"seller {ref!r} does not exist in the wbsupply database")
    return user


def account_by_name(session: Session, name: str) -> WbAccount | None:
    """The WB account whose SellerBot is ``name``: adopted under that name, or the API's ``bot-<id>``."""
    account = session.exec(select(WbAccount).where(col(WbAccount.cr_name) == name)).first()
    if account is None and (match := _BOT_NAME.match(name)):
        account = session.get(WbAccount, int(match.group(1)))
        if account is not None and account.cr_name not in (None, name):
            return None
    return account


def task_by_name(session: Session, name: str) -> SupplyTask | None:
    task = session.exec(select(SupplyTask).where(col(SupplyTask.cr_name) == name)).first()
    if task is None and (match := _TASK_NAME.match(name)):
        task = session.get(SupplyTask, int(match.group(1)))
        if task is not None and task.cr_name not in (None, name):
            return None
    return task


def _bump_sequence(session: Session, table: str) -> None:
    """A row inserted with an explicit id: PostgreSQL's sequence must move past it (SQLite needs nothing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))"))


def _log(session: Session, message: str, *, user_id: int | None, account_id: int | None = None,
         task_id: int | None = None, level: str = "INFO") -> None:
    session.add(EventLog(level=level, source="operator", user_id=user_id, account_id=account_id, task_id=task_id,
                         message=message))


# --- SellerBot ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BotOwner:
    account_id: int
    owner_id: int
    owner_active: bool
    plan_limit: int
    changes: tuple[str, ...] = ()


def admit_bot(engine: Engine, name: str, spec: Mapping[str, Any]) -> BotOwner:
    """Check the SellerBot's owner; give a kubectl bot its WB account row; copy ``paused`` to the row."""
    with session_scope(engine) as session:
        seller = _seller(session, spec)
        raw = str((spec.get("wbAccountRef") or {}).get("accountId") or "")
        if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
            raise Refusal("InvalidAccount", f"wbAccountRef.accountId {raw!r} is not a wbsupply account id")
        changes: list[str] = []
        account = session.get(WbAccount, int(raw))
        paused = bool(spec.get("paused"))
        if account is None:
            account = WbAccount(id=int(raw), owner_id=seller.id or 0, phone="", label=name[:100],
                                cr_name=None if _BOT_NAME.match(name) else name,
                                status=BotStatus.STOPPED if paused else BotStatus.INITIALIZING)
            session.add(account)
            session.flush()
            _bump_sequence(session, "wb_accounts")
            changes.append(f"account {raw} created for seller {seller.id}")
            _log(session, f"WB account adopted from SellerBot {name} (kubectl)", user_id=seller.id,
                 account_id=account.id)
        elif account.owner_id != seller.id:
            raise Refusal("ForeignAccount", f"WB account {raw} belongs to another seller")
        elif account.cr_name is None and not _BOT_NAME.match(name):
            account.cr_name = name
            changes.append(f"account {raw} adopted by SellerBot {name}")
        elif account.cr_name not in (None, name):
            raise Refusal("AccountTaken", f"WB account {raw} is already run by SellerBot {account.cr_name}")
        # Desired state: a pause set on the resource is the seller's (or an operator's) pause. A pause the
        # API wrote because the seller is blocked is not copied: unblocking resumes what ran before.
        if paused and seller.active and account.status is not BotStatus.STOPPED:
            account.status = BotStatus.STOPPED
            changes.append(f"account {raw} paused")
        elif not paused and account.status is BotStatus.STOPPED:
            account.status = BotStatus.INITIALIZING
            changes.append(f"account {raw} resumed")
        session.add(account)
        return BotOwner(account.id or 0, seller.id or 0, seller.active, seller.plan_limit, tuple(changes))


def record_bot_phase(engine: Engine, name: str, phase: str, error: str | None = None) -> list[str]:
    """A phase the operator set on the SellerBot (paused → STOPPED, a check found ERROR) → the account row."""
    try:
        status = BotStatus(phase)
    except ValueError:
        return []
    with session_scope(engine) as session:
        account = account_by_name(session, name)
        if account is None or account.status is status:
            return []
        owner = session.get(User, account.owner_id)
        if status is BotStatus.STOPPED and owner is not None and not owner.active:
            account.last_error = BLOCKED_MESSAGE  # the pause of a block: the row keeps what ran before
            session.add(account)
            return []
        before = account.status
        account.status = status  # observed, not requested: no state-machine check
        if error:
            account.last_error = error[:4096]
        session.add(account)
        _log(session, f"bot {before.value} -> {status.value} (operator)", user_id=account.owner_id,
             account_id=account.id, level="WARNING" if status is BotStatus.ERROR else "INFO")
        return [f"account {account.id} {before.value} -> {status.value}"]


# --- SupplyTask --------------------------------------------------------------------------------------------


def _pause_row(task: SupplyTask, paused: bool) -> bool:
    if task.paused == paused or task.phase.is_final:
        return False
    if paused:
        if task.phase is not TaskPhase.PENDING and not can_move(task.phase, TaskPhase.PENDING):
            return False  # being booked: the pause waits for the next sync
        task.phase, task.message = TaskPhase.PENDING, SELLER_PAUSED_MESSAGE
    elif task.message == SELLER_PAUSED_MESSAGE:
        task.message = None
    task.paused = paused
    return True


def _plan_rank(plan_limit: int) -> int:
    try:
        return Plan.for_bookings(plan_limit).rank
    except ValueError:
        return 0


def admit_task(engine: Engine, name: str, spec: Mapping[str, Any]) -> tuple[int | None, list[str]]:
    """Check the SupplyTask's owner; give a kubectl task its row; copy ``paused`` and edits to the row.

    Returns the task id (None while its SellerBot is unknown or the spec is invalid: admission says why)
    and the changes made.
    """
    with session_scope(engine) as session:
        seller = _seller(session, spec)
        bot_name = str((spec.get("sellerBotRef") or {}).get("name") or "")
        account = account_by_name(session, bot_name)
        if account is not None and account.owner_id != seller.id:
            raise Refusal("ForeignBot", f"SellerBot {bot_name} belongs to another seller")
        task = task_by_name(session, name)
        if task is not None and task.owner_id != seller.id:
            raise Refusal("ForeignTask", f"task {task.id} belongs to another seller")
        if account is None:
            return (task.id if task else None), []
        try:
            domain = to_domain(spec)
        except ValidationError:
            return (task.id if task else None), []
        if domain.account_id != str(account.id):
            return (task.id if task else None), []  # admission fails it: the bot works for another account
        paused = bool(spec.get("paused"))
        changes: list[str] = []
        stored = domain.model_dump(mode="json")
        _refuse_claimed(session, domain, task.id if task is not None else None)
        if task is None:
            task = SupplyTask(owner_id=seller.id or 0, account_id=account.id or 0, spec=stored,
                              deadline=domain.deadline, plan_rank=_plan_rank(seller.plan_limit),
                              claim_key=claim_key(domain), paused=paused,
                              message=SELLER_PAUSED_MESSAGE if paused else None,
                              cr_name=None if _TASK_NAME.match(name) else name)
            session.add(task)
            session.flush()
            claims.take(session, task.id or 0, claims_of(domain))
            changes.append(f"task {task.id} {CREATED} {name}")
            _log(session, f"task adopted from SupplyTask {name} (kubectl)", user_id=seller.id,
                 account_id=account.id, task_id=task.id)
            return task.id, changes
        if not task.phase.is_final and SupplyTaskSpec.model_validate(task.spec) != domain:
            task.spec, task.deadline, task.claim_key = stored, domain.deadline, claim_key(domain)
            claims.take(session, task.id or 0, claims_of(domain))
            changes.append(f"task {task.id} spec")
        if _pause_row(task, paused):
            changes.append(f"task {task.id} {'paused' if paused else 'resumed'}")
            _log(session, f"{'paused' if paused else 'resumed'} in the cluster", user_id=task.owner_id,
                 account_id=task.account_id, task_id=task.id)
        session.add(task)
        return task.id, changes


def _refuse_claimed(session: Session, domain: SupplyTaskSpec, task_id: int | None) -> None:
    """One draft or preorder, one task — the cabinet's 409, as a condition: nothing is written."""
    for account_id, key in claims_of(domain):
        other = claims.holder(session, account_id, key, besides=task_id)
        if other is not None:
            raise Refusal("DraftClaimed", f"{key} of WB account {account_id} is already task {other.id}'s "
                                          "(one draft or preorder, one task): cancel that task or name another")


def record_task_phase(engine: Engine, name: str, phase: TaskPhase, message: str | None) -> list[str]:
    """A phase the operator set (admission, expiry, quota) → the task row, where the machine allows it."""
    with session_scope(engine) as session:
        task = task_by_name(session, name)
        if task is None or task.phase.is_final or (task.phase is phase and task.message == message):
            return []
        if task.phase is not phase and not can_move(task.phase, phase):
            return []
        if task.paused and phase is TaskPhase.PENDING:
            return []  # a paused task waits in Pending with the pause note
        before = task.phase
        task.phase, task.message = phase, message
        session.add(task)
        if before is not phase:
            _log(session, f"{before.value} -> {phase.value} (operator): {message or ''}", user_id=task.owner_id,
                 account_id=task.account_id, task_id=task.id)
        return [f"task {task.id} {before.value} -> {phase.value}"]


def forget_task(engine: Engine, name: str) -> list[str]:
    """The SupplyTask was deleted (kubectl, or the cabinet's cancel/delete): an open task is cancelled."""
    with session_scope(engine) as session:
        task = task_by_name(session, name)
        if task is None or task.phase.is_final or not can_move(task.phase, TaskPhase.CANCELLED):
            return []
        task.phase, task.message, task.paused = TaskPhase.CANCELLED, DELETED_MESSAGE, False
        session.add(task)
        _log(session, "cancelled: its SupplyTask was deleted", user_id=task.owner_id, account_id=task.account_id,
             task_id=task.id)
        return [f"task {task.id} cancelled"]
