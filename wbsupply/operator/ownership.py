"""The operator's side of "custom resources are desired state, the database is the record" (kopf-aware glue).

Handlers call these before and after their own work: :func:`admit_bot` / :func:`admit_task` refuse objects
that name no valid owner (condition ``SellerAccepted=False`` + a warning Event) and copy desired state into
the database; :func:`record_bot_phase` / :func:`record_task_phase` write the phases the operator itself set,
in the same reconciliation. Without a database (``WBSUPPLY_DATABASE_URL`` unset, e.g. kmock tests) every
object is accepted and nothing is recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import kopf

from wbsupply.domain.statuses import TaskPhase
from wbsupply.operator import records, resync
from wbsupply.operator.bots import Context
from wbsupply.operator.checks import stamp

log = logging.getLogger(__name__)


def _announce(body: kopf.Body, changes: list[str] | tuple[str, ...], reason: str) -> None:
    for change in changes:
        kopf.info(body, reason=reason, message=change)


def _refuse(ctx: Context, body: kopf.Body, patch: kopf.Patch, refusal: records.Refusal) -> None:
    kopf.warn(body, reason=refusal.reason, message=refusal.message)
    patch.status["conditions"] = [refusal.condition(stamp(ctx.clock()))]


async def admit_bot(ctx: Context, body: kopf.Body, name: str, spec: Mapping[str, Any],
                    patch: kopf.Patch) -> records.BotOwner | bool | None:
    """False: refused (the handler stops); None: no database; else the bot's owner."""
    if ctx.engine is None:
        return None
    try:
        owner = await asyncio.to_thread(records.admit_bot, ctx.engine, name, spec)
    except records.Refusal as refusal:
        _refuse(ctx, body, patch, refusal)
        patch.status["phase"] = "ERROR"
        patch.status["lastError"] = refusal.message
        return False
    _announce(body, owner.changes, "DatabaseUpdated")
    return owner


def accepted(ctx: Context, spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """The SellerAccepted condition of an accepted object (none without a database)."""
    if ctx.engine is None:
        return []
    return [records.accepted_condition(str(spec.get("seller") or ""), stamp(ctx.clock()))]


async def record_bot_phase(ctx: Context, body: kopf.Body, name: str, phase: str | None,
                           error: str | None = None) -> None:
    if ctx.engine is None or not phase:
        return
    try:
        changes = await asyncio.to_thread(records.record_bot_phase, ctx.engine, name, phase, error)
    except Exception:  # the resync repairs what could not be written now
        log.exception("SellerBot %s: cannot record phase %s in the database", name, phase)
        return
    _announce(body, changes, "DatabaseUpdated")


async def admit_task(ctx: Context, body: kopf.Body, name: str, spec: Mapping[str, Any],
                     patch: kopf.Patch, *, periodic: bool = False) -> bool:
    """False: refused (phase Failed, condition, Event); True: go on with admission.

    ``periodic``: called by the re-check timer, not for a change of the object: whatever it has to copy
    into the database is drift (a row changed behind the resource's back), repaired, logged and counted.
    """
    if ctx.engine is None:
        return True
    try:
        _, changes = await asyncio.to_thread(records.admit_task, ctx.engine, name, spec)
    except records.Refusal as refusal:
        _refuse(ctx, body, patch, refusal)
        patch.status["phase"] = TaskPhase.FAILED.value
        patch.status["message"] = refusal.message
        return False
    _announce(body, changes, "DatabaseUpdated")
    if periodic:  # a row made now for a task whose bot came later is not drift
        resync.report([resync.Repair("SupplyTask", name, "cr->db", change) for change in changes
                       if records.CREATED not in change])
    patch.status["conditions"] = accepted(ctx, spec)
    return True


async def record_task_phase(ctx: Context, body: kopf.Body, name: str, phase: TaskPhase, message: str | None
                            ) -> None:
    if ctx.engine is None:
        return
    try:
        changes = await asyncio.to_thread(records.record_task_phase, ctx.engine, name, phase, message)
    except Exception:
        log.exception("SupplyTask %s: cannot record phase %s in the database", name, phase.value)
        return
    _announce(body, changes, "DatabaseUpdated")


async def forget_task(ctx: Context, name: str) -> None:
    if ctx.engine is not None:
        changes = await asyncio.to_thread(records.forget_task, ctx.engine, name)
        for change in changes:
            log.info("SupplyTask %s deleted: %s", name, change)
