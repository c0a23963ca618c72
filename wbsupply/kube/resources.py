"""The custom resources as plain dicts: names, SellerBot / SupplyTask bodies, status merge patches.

Pure functions shared by ``control`` (the API and the worker write our rows as resources) and ``operator``
(its resync puts back what drifted); no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.kube.names import ANNOTATION_RESTART_REQUEST, API_VERSION, LABEL_BOT, LABEL_MANAGED_BY, LABEL_PART_OF
from wbsupply.kube.stamps import stamp

MANAGED_BY = "wbsupply-api"
MAX_MESSAGE = 4096  # maxLength of status.message / status.lastError in the CRDs
# Store AuthState (what the cabinet asks next) -> the CRD's authState enum (what the operator checks).
AUTH_STATES = {
    "idle": "Unknown",
    "need_phone": "Expired",  # the session is gone: a new login starts with the phone
    "code_sent": "CodeRequested",
    "need_captcha": "CodeRequested",
    "need_supplier": "CodeRequested",
    "authorized": "Authorized",
    "blocked": "Blocked",
}



# --- names -------------------------------------------------------------------------------------------


def seller_bot_name(account_id: int) -> str:
    return f"bot-{account_id}"


def supply_task_name(task_id: int) -> str:
    return f"task-{task_id}"


def session_secret_name(account_id: int) -> str:
    return f"bot-{account_id}-session"


def bot_cr_name(account: Any) -> str:
    """The SellerBot of a store WbAccount: the kubectl-given name it was adopted under, else ``bot-<id>``."""
    return getattr(account, "cr_name", None) or seller_bot_name(account.id)


def task_cr_name(task: Any) -> str:
    """The SupplyTask of a store SupplyTask row: the kubectl-given name, else ``task-<id>``."""
    return getattr(task, "cr_name", None) or supply_task_name(task.id)


# --- pure builders -----------------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _metadata(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace,
            "labels": {LABEL_PART_OF: "wbsupply", LABEL_MANAGED_BY: MANAGED_BY, **labels}}


def build_seller_bot(account_id: int, owner_id: int, plan_limit: int, *, namespace: str, paused: bool,
                     supplier_id: str | None = None, restart: str | None = None, name: str | None = None
                     ) -> dict[str, Any]:
    """``restart``: a new value for the restart annotation, which makes the operator roll the worker now;
    ``name``: the SellerBot's name when it is not ``bot-<id>`` (a bot created with kubectl)."""
    account_ref: dict[str, Any] = {"accountId": str(account_id)}
    if supplier_id:
        account_ref["supplierId"] = supplier_id
    metadata = _metadata(name or seller_bot_name(account_id), namespace, {})
    if restart:
        metadata["annotations"] = {ANNOTATION_RESTART_REQUEST: restart}
    return {
        "apiVersion": API_VERSION,
        "kind": "SellerBot",
        "metadata": metadata,
        "spec": {
            "seller": str(owner_id),
            "wbAccountRef": account_ref,
            "sessionSecretRef": {"name": session_secret_name(account_id)},
            "tariff": Plan.for_limit(plan_limit).value,
            "paused": paused,
        },
    }


def bot_paused(account: Any, owner: Any) -> bool:
    """A bot runs unless its account is stopped or its seller is blocked (``User.active`` false)."""
    return account.status is BotStatus.STOPPED or not getattr(owner, "active", True)


def task_spec_body(spec: SupplyTaskSpec, bot_name: str) -> dict[str, Any]:
    """The CRD spec (camelCase) of a domain spec; sets become sorted lists so that the body is stable."""
    body: dict[str, Any] = {"sellerBotRef": {"name": bot_name}}
    for key, value in spec.model_dump(mode="json", exclude_none=True).items():
        if (key == "max_moves" and spec.improve is None) or (key == "racers" and not value):
            continue
        if value is not False:  # switches left off stay out: bodies of older tasks do not change
            body[_camel(key)] = sorted(value) if key in ("weekdays", "skip_dates") else value
    return body


def build_supply_task(task_id: int, account_id: int, spec: SupplyTaskSpec, *, namespace: str,
                      name: str | None = None, bot_name: str | None = None, seller: int | str | None = None,
                      paused: bool = False) -> dict[str, Any]:
    """``seller``: the owner (user id) named in the spec; ``paused``: the seller paused the task."""
    bot = bot_name or seller_bot_name(account_id)
    body = task_spec_body(spec, bot)
    if seller is not None:
        body["seller"] = str(seller)
    body["paused"] = paused
    return {
        "apiVersion": API_VERSION,
        "kind": "SupplyTask",
        "metadata": _metadata(name or supply_task_name(task_id), namespace, {LABEL_BOT: bot}),
        "spec": body,
    }


def _clip(text: str | None) -> str | None:
    """None removes the field in a merge patch (a cleared error or message)."""
    return text[:MAX_MESSAGE] if text else None


def bot_status_patch(*, status: BotStatus | None = None, error: str | None = None, clear_error: bool = False,
                     heartbeat: dt.datetime | None = None, memory_bytes: int | None = None, pod: str | None = None,
                     auth_state: str | None = None, auth_attempts: int | None = None,
                     bookings_this_month: int | None = None, last_booking: dt.datetime | None = None
                     ) -> dict[str, Any]:
    """A SellerBot status merge patch with only the fields given."""
    patch: dict[str, Any] = {}
    if status is not None:
        patch["phase"] = status.value
    if error is not None or clear_error:
        patch["lastError"] = _clip(error)
    if heartbeat is not None:
        patch["lastHeartbeat"] = stamp(heartbeat)
    if memory_bytes is not None:
        patch["memoryBytes"] = max(0, memory_bytes)
    if pod:
        patch["pod"] = pod
    if auth_state is not None:
        patch["authState"] = AUTH_STATES.get(auth_state, "Unknown")
    if auth_attempts is not None:
        patch["authAttempts"] = max(0, auth_attempts)
    if bookings_this_month is not None:
        patch["bookingsThisMonth"] = max(0, bookings_this_month)
    if last_booking is not None:
        patch["lastBookingAt"] = stamp(last_booking)
    return patch


def task_status_patch(phase: TaskPhase, message: str | None, *, booked: Mapping[str, Any] | None = None,
                      supply_id: int | str | None = None) -> dict[str, Any]:
    """A SupplyTask status merge patch; ``booked``: warehouseId, warehouseName, date, boxType, coefficient."""
    patch: dict[str, Any] = {"phase": phase.value, "message": _clip(message)}
    if booked is not None:
        patch["bookedSlot"] = {key: value for key, value in booked.items() if value is not None}
    if supply_id is not None:
        patch["supplyID"] = str(supply_id)
    return patch
