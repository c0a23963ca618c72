"""Thin kopf handlers for SellerBot and SupplyTask; the work is in ``bots``, ``tasks``, ``checks``, ``builders``.

Handlers are registered by ``register`` into a given registry (not at import time) so that the timers'
intervals come from ``OperatorConfig`` and each test runs a fresh operator.

Finalizers: none. Every object the operator creates is owned by its SellerBot (the garbage collector
deletes it), the session Secret must outlive the bot, and SupplyTasks keep their booking history after
their bot is gone. With no ``on.delete`` handlers kopf adds no finalizer either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from wbsupply.domain.statuses import TaskPhase
from wbsupply.kube.names import ANNOTATION_RESTART_REQUEST, GROUP, SELLERBOTS, SUPPLYTASKS, VERSION
from wbsupply.operator import bots, checks, ownership, packing, tasks
from wbsupply.operator.settings import OperatorConfig
from wbsupply.operator.sizing import memory_limit

Context = bots.Context


def login(memo: Context, **_: Any) -> kopf.ConnectionInfo:
    """kopf's own watches use the same credentials as our client (kubeconfig or the service account)."""
    return kopf.ConnectionInfo(**memo.kube.connection_info())


# --- SellerBot ---------------------------------------------------------------------------------------------


async def bot_apply(
    body: kopf.Body,
    name: str,
    namespace: str,
    spec: kopf.Spec,
    status: kopf.Status,
    patch: kopf.Patch,
    memo: Context,
    **_: Any,
) -> None:
    if await ownership.admit_bot(memo, body, name, spec, patch) is False:
        return  # no valid owner: no worker (condition SellerAccepted=False says why)
    patch.status["deployment"] = await bots.apply_worker(memo, body, name, namespace, spec)
    patch.status["conditions"] = [bots.worker_applied_condition(memo.clock()), *ownership.accepted(memo, spec)]
    phase = bots.initial_phase(spec, status)
    if phase is not None:
        patch.status["phase"] = phase
        if phase != status.get("phase"):
            kopf.info(body, reason="Paused" if spec.get("paused") else "Started", message=f"phase {phase}")
        await ownership.record_bot_phase(memo, body, name, phase)


async def bot_restart_requested(
    body: kopf.Body,
    name: str,
    namespace: str,
    spec: kopf.Spec,
    status: kopf.Status,
    new: Any,
    patch: kopf.Patch,
    memo: Context,
    **_: Any,
) -> None:
    if not new or new == status.get("lastRestartRequest") or spec.get("paused"):
        return
    deployment = status.get("deployment")
    patch.status["lastRestart"] = await bots.restart_worker(memo, name, namespace, memo.clock(), deployment)
    patch.status["lastRestartRequest"] = new
    kopf.info(body, reason="RestartRequested", message=f"worker restarted on request {new}")


async def bot_restart_window(
    body: kopf.Body,
    name: str,
    namespace: str,
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    patch: kopf.Patch,
    memo: Context,
    **_: Any,
) -> None:
    now = memo.clock()
    if bots.restart_due(name, spec, status, meta.get("creationTimestamp"), now):
        rolled = await bots.rolled_in_window(memo, name, namespace, now)
        if rolled is not None:  # our status lagged behind (a busy API server): the pod was rolled already
            patch.status["lastRestart"] = rolled
            return
        patch.status["lastRestart"] = await bots.restart_worker(memo, name, namespace, now)
        kopf.info(body, reason="DailyRestart", message="worker restarted in its daily window")


async def bot_gone(namespace: str, memo: Context, **_: Any) -> None:
    """A SellerBot was deleted: its place in a shared pod is freed (no one else moves)."""
    await packing.reconcile(memo.kube, memo.config, namespace, memo.placement)


def bot_deleted(type: str, **_: Any) -> bool:
    return type == "DELETED"


def status_findings(memo: Context, spec: kopf.Spec, status: kopf.Status) -> list[checks.Finding]:
    return checks.check_status(spec, status, memo.clock(), memo.config.heartbeat_timeout)


def memory_findings(memo: Context, spec: kopf.Spec, status: kopf.Status) -> list[checks.Finding]:
    return checks.check_memory(memory_limit(spec, memo.config), status, memo.config.memory_warning_ratio)


def auth_findings(memo: Context, spec: kopf.Spec, status: kopf.Status) -> list[checks.Finding]:
    return checks.check_auth(status)


async def bot_check(
    body: kopf.Body,
    name: str,
    namespace: str,
    spec: kopf.Spec,
    status: kopf.Status,
    patch: kopf.Patch,
    memo: Context,
    param: Callable[[Context, kopf.Spec, kopf.Status], list[checks.Finding]],
    **_: Any,
) -> None:
    """One of the periodic checks (``param``): status every 5 min, memory every 30, auth every hour."""
    findings = param(memo, spec, status)
    await bots.report(memo, findings, body=body, patch=patch, name=name, namespace=namespace, spec=spec)
    for finding in findings:
        if "phase" in finding.status:
            await ownership.record_bot_phase(memo, body, name, finding.status["phase"], finding.status.get("lastError"))


def bot_index(name: str, namespace: str, spec: kopf.Spec, status: kopf.Status, **_: Any) -> Any:
    """SellerBots by (namespace, name), for SupplyTask admission without API reads."""
    try:
        return {(namespace, name): tasks.BotInfo.from_sellerbot(spec, status)}
    except (KeyError, ValueError):
        return None  # an invalid bot (the CRD schema should prevent it) assigns no tasks


# --- SupplyTask --------------------------------------------------------------------------------------------


async def task_admit(
    body: kopf.Body,
    name: str,
    namespace: str,
    spec: kopf.Spec,
    status: kopf.Status,
    patch: kopf.Patch,
    bot_index: kopf.Index[tuple[str, str], tasks.BotInfo],
    memo: Context,
    param: Any = None,
    **_: Any,
) -> None:
    """Admission on create/resume/spec change; ``param`` True: the periodic re-check (drift is counted)."""
    if body.metadata.get("deletionTimestamp"):
        return  # being deleted: nothing to admit (and no row to make for it again)
    if not (status.get("phase") and TaskPhase(status["phase"]).is_final) and not await ownership.admit_task(
            memo, body, name, spec, patch, periodic=param is True):
        return  # no valid owner: Failed with SellerAccepted=False
    bot_name = (spec.get("sellerBotRef") or {}).get("name", "")
    bot = next(iter(bot_index.get((namespace, bot_name), [])), None)
    admission = tasks.admit(spec, status.get("phase"), bot, memo.clock())
    if admission.labels and any(body.metadata.labels.get(k) != v for k, v in admission.labels.items()):
        patch.metadata.setdefault("labels", {}).update(admission.labels)
    if admission.phase is None:
        return
    patch.status.update(admission.status_patch())
    post = kopf.warn if admission.phase.value in {"Failed", "QuotaExceeded"} else kopf.info
    post(body, reason=f"Task{admission.phase.value}", message=admission.message)
    await ownership.record_task_phase(memo, body, name, admission.phase, admission.message)


async def task_deleted(name: str, memo: Context, **_: Any) -> None:
    """kubectl delete (or the cabinet's cancel/delete): an open task is cancelled in the database."""
    await ownership.forget_task(memo, name)


def task_open(status: kopf.Status, **_: Any) -> bool:
    """Booked, failed, expired and cancelled tasks need no more periodic checks."""
    phase = status.get("phase")
    return not phase or not TaskPhase(phase).is_final


# --- registration ------------------------------------------------------------------------------------------


def _fn(handler: Any) -> Any:
    """kopf's handler protocols type ``namespace`` as optional; both our resources are namespaced."""
    return handler


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> kopf.OperatorRegistry:
    bot = (GROUP, VERSION, SELLERBOTS)
    task = (GROUP, VERSION, SUPPLYTASKS)
    on = kopf.on

    kopf.on.login(registry=registry)(_fn(login))
    kopf.index(*bot, registry=registry, id="bot_index")(_fn(bot_index))

    for hook in (
        on.create(*bot, registry=registry),
        on.resume(*bot, registry=registry),
        on.update(*bot, field="spec", registry=registry),
    ):
        hook(_fn(bot_apply))
    kopf.on.event(*bot, when=bot_deleted, registry=registry)(_fn(bot_gone))
    restart_field = ("metadata", "annotations", ANNOTATION_RESTART_REQUEST)
    on.field(*bot, field=restart_field, registry=registry)(_fn(bot_restart_requested))
    restart = kopf.timer(*bot, interval=config.restart_check_interval, registry=registry)
    restart(_fn(bot_restart_window))
    check_intervals = {
        status_findings: config.status_interval,
        memory_findings: config.memory_interval,
        auth_findings: config.auth_interval,
    }
    for findings, interval in check_intervals.items():
        timer = kopf.timer(*bot, id=findings.__name__, param=findings, interval=interval, registry=registry)
        timer(_fn(bot_check))

    for hook in (
        on.create(*task, registry=registry),
        on.resume(*task, registry=registry),
        on.update(*task, field="spec", registry=registry),
    ):
        hook(_fn(task_admit))
    # Deadlines and quota change with time, not with the object: re-check periodically.
    recheck = kopf.timer(
        *task, id="task_recheck", interval=config.task_check_interval, when=task_open, registry=registry,
        param=True,
    )
    recheck(_fn(task_admit))
    # optional: no finalizer, so a deletion is never blocked by the operator; the resync covers a missed one.
    on.delete(*task, optional=True, registry=registry)(_fn(task_deleted))
    return registry
