"""Where tasks and bots go: the control plane.

Embedded runtime: the ``supply_tasks`` / ``wb_accounts`` rows are the control-plane objects (the local
supervisor reads them). Cluster (``WBSUPPLY_CONTROL_PLANE=kubernetes``): the custom resources are the
desired state of every bot and task, the rows the record of who owns them and of what happened; each
change of desired state made here is written to the ``SupplyTask`` / ``SellerBot`` the operator reconciles
(the operator writes back what it and the workers observe, see :mod:`wbsupply.operator.records`).
Order and failure policy: the row is committed first (a new task needs its id for the CR name), then the
CR is written; if the Kubernetes API refuses or cannot be reached, the row is put back as it was (a new one
is deleted) and the seller gets a 503 with a Russian message — never a row without its CR or a CR the
database does not know. Cancel and delete remove the SupplyTask first. Each change writes one CR request,
so it lands or it does not.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlmodel import Session, select

from wbsupply.api.errors import ApiError
from wbsupply.api.logic.users import plan_of
from wbsupply.control.kube_mirror import (
    ClusterTarget,
    ControlPlaneSettings,
    CustomResourceMirror,
    MirrorError,
    bot_cr_name,
    task_cr_name,
    task_status_patch,
)
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.store import SupplyTask, User, WbAccount
from wbsupply.store import claims as task_claims

log = logging.getLogger(__name__)
TASK_FIELDS = ("account_id", "spec", "deadline", "phase", "message", "claim_key", "paused")
BOT_FIELDS = ("status", "supplier_id", "next_restart_at", "last_restart_reason")
_UNSET: Any = object()
_cluster: ClusterTarget | None = _UNSET


class ClusterUnavailable(ApiError):
    status_code = 503


def cluster() -> ClusterTarget | None:
    """The cluster to mirror to, from the environment on first use; None in the embedded runtime."""
    global _cluster
    if _cluster is _UNSET:
        settings = ControlPlaneSettings()
        _cluster = ClusterTarget.from_settings(settings) if settings.control_plane == "kubernetes" else None
    return _cluster


def use_cluster(target: ClusterTarget | None) -> None:
    """Set the cluster explicitly (tests; None: embedded)."""
    global _cluster
    _cluster = target


def _write(action: Callable[[CustomResourceMirror], Awaitable[Any]]) -> None:
    target = cluster()
    if target is None:
        return
    try:
        target.run(action)
    except MirrorError as exc:
        log.warning("Kubernetes write failed, the database change is rolled back: %s", exc)
        raise ClusterUnavailable(MirrorError.message_ru) from exc


def snapshot(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields a change may touch, to put back if the cluster refuses the change."""
    return {name: getattr(row, name) for name in fields}


def _restore(session: Session, row: Any, before: Mapping[str, Any]) -> None:
    for name, value in before.items():
        setattr(row, name, value)
    session.add(row)
    session.commit()


def _undo_create(session: Session, row: Any) -> None:
    session.delete(row)
    session.commit()


def submit_task(session: Session, owner: User, account: WbAccount, spec: SupplyTaskSpec,
                *, claim: str | None = None, claims: Sequence[tuple[int, str]] = ()) -> SupplyTask:
    plan = plan_of(owner)
    task = SupplyTask(
        owner_id=owner.id or 0,
        account_id=account.id or 0,
        spec=spec.model_dump(mode="json"),
        deadline=spec.deadline,
        plan_rank=plan.rank if plan else 0,
        claim_key=claim,
    )
    session.add(task)
    session.flush()
    task_claims.take(session, task.id or 0, claims)  # with the row: never a task without its claims
    session.commit()
    bot_name = bot_cr_name(account)
    try:
        _write(lambda mirror: mirror.apply_supply_task(task, bot_name=bot_name))
    except ClusterUnavailable:
        _undo_create(session, task)
        raise
    return task


def publish_task(session: Session, task: SupplyTask, before: Mapping[str, Any]) -> None:
    """After an edit / pause / resume / cancel was committed: the CR's spec or status follows the row."""
    if cluster() is None:
        return
    spec_changed = any(before[name] != getattr(task, name) for name in ("account_id", "spec", "deadline", "paused"))
    status_changed = any(before[name] != getattr(task, name) for name in ("phase", "message"))
    account = session.get(WbAccount, task.account_id)
    bot_name = bot_cr_name(account) if account is not None else None
    try:
        if spec_changed:  # an edit or a pause (a fixed failed task also restarts: its status follows below)
            _write(lambda mirror: mirror.apply_supply_task(task, bot_name=bot_name))
        if status_changed:
            patch = task_status_patch(task.phase, task.message)
            _write(lambda mirror: mirror.mirror_task_status(task.id or 0, patch, name=task_cr_name(task)))
    except ClusterUnavailable:
        _restore(session, task, before)
        raise


def withdraw_task(task: SupplyTask) -> None:
    """Before a task is cancelled or deleted: its SupplyTask is deleted (a refusal changes nothing)."""
    name = task_cr_name(task)
    _write(lambda mirror: mirror.delete_supply_task(task.id or 0, name=name))


def publish_seller(session: Session, owner: User) -> None:
    """After the seller's plan or blocking changed: every SellerBot of the seller follows (tariff, paused).

    Best effort per bot: the change of the seller is committed and the periodic resync repairs a bot the
    cluster refused now; the failures are logged, not raised (an admin's click must not half-fail).
    """
    if cluster() is None:
        return
    accounts = session.exec(select(WbAccount).where(WbAccount.owner_id == owner.id)).all()
    for account in accounts:
        try:
            _write(lambda mirror, account=account: mirror.apply_seller_bot(account, owner))  # type: ignore[misc]
        except ClusterUnavailable:
            log.warning("SellerBot of account %s not updated; the resync will repair it", account.id)


def pause_bot(session: Session, account: WbAccount) -> None:
    """Before a disconnect, which rewrites the account and its tasks in one commit: the SellerBot is paused
    first, so a refusal leaves everything as it was (the rare failed commit after it heals on reconnect)."""
    owner = session.get(User, account.owner_id)
    if owner is not None:
        _write(lambda mirror: mirror.apply_seller_bot(account, owner, paused=True))


def publish_bot(session: Session, account: WbAccount, before: Mapping[str, Any] | None = None,
                *, restart: str | None = None) -> None:
    """The account's SellerBot after a committed change (``before`` None: the account was just created).

    ``restart``: a new value of the SellerBot's restart annotation (the operator restarts the worker).
    """
    if cluster() is None:
        return
    owner = session.get(User, account.owner_id)
    if owner is None:
        return

    async def apply(mirror: CustomResourceMirror) -> None:
        await mirror.apply_seller_bot(account, owner, restart=restart)

    try:
        _write(apply)
    except ClusterUnavailable:
        if before is None:
            _undo_create(session, account)
        else:
            _restore(session, account, before)
        raise
