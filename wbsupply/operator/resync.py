"""Periodic resync of the custom resources and the database, both ways; every repair is logged and counted.

Event handlers keep the two in step as things happen; the resync catches what they missed (the operator was
down, a write failed, someone edited a row or a resource behind the product's back). Directions follow the
rule of the README:

- ``cr->db``: desired state on the resources wins: a kubectl object without its row gets one, ``paused``
  and task edits are copied to the rows (:mod:`wbsupply.operator.records`);
- ``db->cr``: the record wins for ownership and history: a SellerBot's tariff follows its seller's plan and
  is paused while the seller is blocked; a SupplyTask's status shows the row's phase; an open task whose
  SupplyTask is missing gets it back (deleting a SupplyTask cancels the task, see ``task_deleted``).

Counted in ``wbsupply_operator_resync_repairs_total{kind,direction}`` on the operator's ``/metrics``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from sqlmodel import col, select

from wbsupply.domain.statuses import TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.kube.client import KubeApiError, resource_path
from wbsupply.kube.names import API_VERSION, SELLERBOTS, SUPPLYTASKS
from wbsupply.kube.resources import (
    bot_cr_name,
    build_supply_task,
    task_cr_name,
    task_status_patch,
)
from wbsupply.kube.stamps import stamp
from wbsupply.operator import records
from wbsupply.operator.bots import Context
from wbsupply.store import SupplyTask, WbAccount, session_scope

log = logging.getLogger(__name__)
OPEN_PHASES = [phase for phase in TaskPhase if not phase.is_final]


class ResyncMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.repairs = Counter("wbsupply_operator_resync_repairs", "Drift repaired by the operator's resync",
                               ["kind", "direction"], registry=registry)
        self.runs = Counter("wbsupply_operator_resync_runs", "Resyncs of custom resources and database",
                            ["result"], registry=registry)
        self.last_run = Gauge("wbsupply_operator_resync_last_run_timestamp_seconds",
                              "When the last resync finished", registry=registry)


_metrics: ResyncMetrics | None = None


def metrics() -> ResyncMetrics:
    global _metrics
    if _metrics is None:
        _metrics = ResyncMetrics()
    return _metrics


@dataclasses.dataclass(frozen=True)
class Repair:
    kind: str  # SellerBot | SupplyTask
    name: str
    direction: str  # cr->db | db->cr
    what: str


async def _list(ctx: Context, plural: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    namespaces: list[str | None] = list(ctx.config.namespaces) or [None]
    for namespace in namespaces:
        items += await ctx.kube.list(resource_path(API_VERSION, plural, namespace))
    return items


async def _event(ctx: Context, obj: dict[str, Any], repairs: list[Repair]) -> None:
    """A Warning Event per repair on the object, for ``kubectl describe`` (best effort)."""
    meta = obj["metadata"]
    for repair in repairs:
        now = stamp(dt.datetime.now(dt.UTC))
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta.get("uid")},
            "reason": "DriftRepaired", "message": f"{repair.direction}: {repair.what}"[:1024], "type": "Warning",
            "source": {"component": "wbsupply-operator"}, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        try:
            await ctx.kube.create(resource_path("v1", "events", meta["namespace"]), event)
        except (KubeApiError, OSError) as exc:
            log.debug("cannot post the repair Event: %s", exc)


async def _bots(ctx: Context, bots: list[dict[str, Any]]) -> list[Repair]:
    assert ctx.engine is not None
    repairs: list[Repair] = []
    for bot in bots:
        name, namespace, spec = bot["metadata"]["name"], bot["metadata"]["namespace"], bot.get("spec") or {}
        if bot["metadata"].get("deletionTimestamp"):
            continue
        try:
            owner = await asyncio.to_thread(records.admit_bot, ctx.engine, name, spec)
        except records.Refusal:
            continue  # the handler refused it and says why on the object
        found = [Repair("SellerBot", name, "cr->db", change) for change in owner.changes]
        desired: dict[str, Any] = {}
        tariff = Plan.for_limit(owner.plan_limit).value
        if spec.get("tariff") != tariff:
            desired["tariff"] = tariff
        if not owner.owner_active and not spec.get("paused"):
            desired["paused"] = True
        if desired:
            await ctx.kube.merge_patch(resource_path(API_VERSION, SELLERBOTS, namespace, name), {"spec": desired})
            found.append(Repair("SellerBot", name, "db->cr", f"spec {desired}"))
        await _event(ctx, bot, found)
        repairs += found
    return repairs


def _rows(ctx: Context) -> tuple[dict[str, SupplyTask], dict[int, WbAccount]]:
    """Open task rows by their SupplyTask name, and accounts by id (detached copies)."""
    assert ctx.engine is not None
    with session_scope(ctx.engine) as session:
        tasks = session.exec(select(SupplyTask).where(col(SupplyTask.phase).in_(OPEN_PHASES))).all()
        accounts = session.exec(select(WbAccount)).all()
        session.expunge_all()
    return {task_cr_name(task): task for task in tasks}, {account.id or 0: account for account in accounts}


def _row_by_name(ctx: Context, name: str) -> SupplyTask | None:
    assert ctx.engine is not None
    with session_scope(ctx.engine) as session:
        task = records.task_by_name(session, name)
        if task is not None:
            session.expunge(task)
        return task


async def _tasks(ctx: Context, tasks: list[dict[str, Any]], bots: list[dict[str, Any]]) -> list[Repair]:
    assert ctx.engine is not None
    repairs: list[Repair] = []
    seen: set[str] = set()
    for item in tasks:
        name, namespace, spec = item["metadata"]["name"], item["metadata"]["namespace"], item.get("spec") or {}
        seen.add(name)
        if item["metadata"].get("deletionTimestamp"):
            continue  # being deleted: task_deleted cancels its row
        try:
            _, changes = await asyncio.to_thread(records.admit_task, ctx.engine, name, spec)
        except records.Refusal:
            continue
        found = [Repair("SupplyTask", name, "cr->db", change) for change in changes]
        row = await asyncio.to_thread(_row_by_name, ctx, name)
        status = item.get("status") or {}
        if row is not None and status.get("phase") and (  # admitted: the handler writes the first phase
                status.get("phase") != row.phase.value or (status.get("message") or None) != (row.message or None)):
            patch = task_status_patch(row.phase, row.message)
            await ctx.kube.merge_patch(resource_path(API_VERSION, SUPPLYTASKS, namespace, name, "status"),
                                       {"status": patch})
            found.append(Repair("SupplyTask", name, "db->cr", f"status {status.get('phase')} -> {row.phase.value}"))
        await _event(ctx, item, found)
        repairs += found
    open_rows, accounts = await asyncio.to_thread(_rows, ctx)
    bot_namespaces = {bot["metadata"]["name"]: bot["metadata"]["namespace"] for bot in bots}
    for name, row in open_rows.items():
        account = accounts.get(row.account_id)
        bot_name = bot_cr_name(account) if account is not None else None
        if name in seen or bot_name not in bot_namespaces:
            continue  # present, or its bot is not in the cluster (not ours to run)
        body = build_supply_task(row.id or 0, row.account_id, SupplyTaskSpec.model_validate(row.spec),
                                 namespace=bot_namespaces[bot_name], name=name, bot_name=bot_name,
                                 seller=row.owner_id, paused=row.paused)
        await ctx.kube.apply(body)
        repairs.append(Repair("SupplyTask", name, "db->cr", "SupplyTask recreated"))
    return repairs


def report(repairs: list[Repair]) -> None:
    """Log and count repaired drift (the resync's, and the periodic task re-check's)."""
    counters = metrics()
    for repair in repairs:
        log.warning("resync repaired %s %s (%s): %s", repair.kind, repair.name, repair.direction, repair.what)
        counters.repairs.labels(repair.kind, repair.direction).inc()


async def resync_once(ctx: Context) -> list[Repair]:
    """One pass over every SellerBot and SupplyTask the operator watches; returns (and logs, counts) repairs."""
    if ctx.engine is None:
        return []
    bots = await _list(ctx, SELLERBOTS)
    tasks = await _list(ctx, SUPPLYTASKS)
    repairs = await _bots(ctx, bots) + await _tasks(ctx, tasks, bots)
    report(repairs)
    counters = metrics()
    counters.runs.labels("ok").inc()
    counters.last_run.set_to_current_time()
    return repairs


async def resync_forever(ctx: Context, interval: float) -> None:
    """Resync every ``interval`` seconds (the first one after one interval: handlers do the initial work)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await resync_once(ctx)
        except (KubeApiError, OSError, TimeoutError) as exc:
            metrics().runs.labels("failed").inc()
            log.warning("resync failed, next try in %s s: %s", interval, exc)
        except Exception:
            metrics().runs.labels("failed").inc()
            log.exception("resync failed")

