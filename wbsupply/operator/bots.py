"""SellerBot reconciliation: plain async functions called by the thin kopf handlers."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Any

import kopf
from sqlalchemy import Engine

from wbsupply.domain.schedule import is_restart_due
from wbsupply.domain.statuses import BotStatus
from wbsupply.kube.client import KubeClient, resource_path
from wbsupply.kube.names import ANNOTATION_RESTARTED_AT, worker_name
from wbsupply.kube.stamps import parse_stamp, stamp
from wbsupply.operator import packing
from wbsupply.operator.builders import build_children, build_restart_patch, build_session_secret
from wbsupply.operator.checks import Finding
from wbsupply.operator.notifications import NotificationHook, build_bot_notification, log_notification
from wbsupply.operator.settings import OperatorConfig


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass
class Context:
    """What every handler needs; passed to kopf as ``memo`` (shallow-copied per object, so shared)."""

    config: OperatorConfig
    kube: KubeClient
    clock: Callable[[], datetime.datetime] = utcnow
    notify: NotificationHook = log_notification
    engine: Engine | None = None  # the cluster's database: ownership and observed phases (operator.records)
    placement: packing.PlacementState = dataclasses.field(default_factory=packing.PlacementState)


async def apply_worker(ctx: Context, body: kopf.Body, name: str, namespace: str, spec: Mapping[str, Any]) -> str:
    """Place the bot (``packing``) and, if it has a pod of its own, create or update its ServiceAccount, Role,
    RoleBinding and Deployment, owned by the bot. Returns the name of its worker Deployment ("" while paused).

    Owner references let the garbage collector delete all four with the SellerBot, so no finalizer is
    needed. The session Secret is deliberately not adopted: it belongs to the WB account (the API
    creates and deletes it) and must survive re-creating the bot.
    """
    await ctx.kube.create_if_missing(build_session_secret(name, namespace, spec))
    deployment = (await packing.reconcile(ctx.kube, ctx.config, namespace, ctx.placement)).get(name, "")
    if deployment == worker_name(name):  # dedicated: a pod of its own
        children = build_children(name, namespace, spec, ctx.config)
        kopf.adopt(children, owner=body)
        for child in children:
            await ctx.kube.apply(child)
    return deployment


def worker_applied_condition(now: datetime.datetime) -> dict[str, str]:
    return {
        "type": "WorkerApplied",
        "status": "True",
        "reason": "Reconciled",
        "message": "Deployment, ServiceAccount, Role and RoleBinding are up to date",
        "lastTransitionTime": stamp(now),
    }


def initial_phase(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str | None:
    """Phase to set after (re)applying the worker; None keeps what the worker reported."""
    if spec.get("paused"):
        return BotStatus.STOPPED.value
    if status.get("phase") in (None, BotStatus.STOPPED.value):
        return BotStatus.INITIALIZING.value
    return None


def restart_due(
    name: str, spec: Mapping[str, Any], status: Mapping[str, Any], created: str | None, now: datetime.datetime
) -> bool:
    """The daily restart of the domain schedule; a bot never restarted counts from its creation."""
    if spec.get("paused") or not (spec.get("restartWindow") or {}).get("enabled", True):
        return False
    if packing.pool_number(status.get("deployment") or "") is not None:
        return False  # a shared pod is not rolled: its worker restarts each bot's context in the bot's own moment
    last = parse_stamp(status.get("lastRestart")) or parse_stamp(created)
    return last is not None and is_restart_due(now, name, last)


async def rolled_in_window(ctx: Context, name: str, namespace: str, now: datetime.datetime) -> str | None:
    """The stamp of the bot's own worker roll if it already happened in this daily window, else None.

    Guards against rolling twice when the timer runs on a body whose status does not show the last restart yet.
    """
    deployment = await ctx.kube.get(resource_path("apps/v1", "deployments", namespace, worker_name(name)))
    template = ((deployment or {}).get("spec") or {}).get("template") or {}
    rolled = parse_stamp(((template.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_RESTARTED_AT))
    if rolled is None or is_restart_due(now, name, rolled):
        return None
    return stamp(rolled)


async def restart_worker(ctx: Context, name: str, namespace: str, now: datetime.datetime,
                         deployment: str | None = None) -> str:
    """Roll the bot's worker pod (in a shared pod: all its bots) by changing its template annotation; returns
    the stamp for status.lastRestart."""
    path = resource_path("apps/v1", "deployments", namespace, deployment or worker_name(name))
    await ctx.kube.merge_patch(path, build_restart_patch(now))
    return stamp(now)


async def report(
    ctx: Context,
    findings: list[Finding],
    *,
    body: kopf.Body,
    patch: kopf.Patch,
    name: str,
    namespace: str,
    spec: Mapping[str, Any],
) -> None:
    """Findings of the periodic checks -> Events on the SellerBot, status fields, seller notifications."""
    for finding in findings:
        post = kopf.warn if finding.severity == "warning" else kopf.info
        post(body, reason=finding.reason, message=finding.message)
        patch.status.update(finding.status)
        if finding.notify is not None:
            notification = build_bot_notification(namespace, name, spec, finding.notify, finding.message, ctx.clock())
            if notification is not None:
                await ctx.notify(notification)
