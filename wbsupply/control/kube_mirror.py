"""The cluster's view of the database: ``SellerBot`` / ``SupplyTask`` custom resources written from our rows.

The database stays the source of truth in both runtimes. In the cluster the API also writes the CR
*specs* (what the operator reconciles: worker Deployments, admission, quota, deadlines) and the worker
writes the CR *status* (what the operator watches: phase, heartbeat, memory, auth, bookings).

The ``build_*`` functions are pure; :class:`CustomResourceMirror` is a thin async adapter over
:class:`~wbsupply.kube.client.KubeClient`; :class:`ClusterTarget` runs it from synchronous code (the
API's routes run in a thread pool).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from kubernetes import client as k8s_client

from wbsupply.config import ControlPlaneConfig
from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.kube.client import KubeApiError, KubeClient, load_configuration, resource_path
from wbsupply.kube.names import (
    ANNOTATION_RESTART_REQUEST,
    API_VERSION,
    LABEL_BOT,
    LABEL_MANAGED_BY,
    LABEL_PART_OF,
    SELLERBOTS,
    SUPPLYTASKS,
)

T = TypeVar("T")
MANAGED_BY = "wbsupply-api"
MAX_MESSAGE = 4096  # maxLength of status.message / status.lastError in the CRDs
SA_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
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


class ControlPlaneSettings(ControlPlaneConfig):
    """``WBSUPPLY_CONTROL_PLANE`` / ``WBSUPPLY_KUBE_NAMESPACE`` / ``WBSUPPLY_KUBECONFIG`` (fields of ``Settings``)."""

    def namespace(self) -> str:
        if self.kube_namespace:
            return self.kube_namespace
        try:
            return SA_NAMESPACE_FILE.read_text().strip() or "default"
        except OSError:
            return "default"


class MirrorError(Exception):
    """The Kubernetes API refused or could not be reached; ``message_ru`` is for the seller."""

    message_ru = "Кластер Kubernetes сейчас недоступен, изменение не сохранено. Попробуйте через минуту."


# --- names -------------------------------------------------------------------------------------------


def seller_bot_name(account_id: int) -> str:
    return f"bot-{account_id}"


def supply_task_name(task_id: int) -> str:
    return f"task-{task_id}"


def session_secret_name(account_id: int) -> str:
    return f"bot-{account_id}-session"


# --- pure builders -----------------------------------------------------------------------------------


def tariff_for(plan_limit: int) -> Plan:
    """The CRD tariff for a seller's monthly limit; a custom limit maps to the largest plan not above it,
    so the operator's quota check never allows more than the seller has (the worker still counts exactly)."""
    fitting = [plan for plan in Plan if plan.monthly_bookings <= plan_limit]
    return max(fitting, key=lambda plan: plan.monthly_bookings) if fitting else Plan.START


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _metadata(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace,
            "labels": {LABEL_PART_OF: "wbsupply", LABEL_MANAGED_BY: MANAGED_BY, **labels}}


def build_seller_bot(account_id: int, owner_id: int, plan_limit: int, *, namespace: str, paused: bool,
                     supplier_id: str | None = None, restart: str | None = None) -> dict[str, Any]:
    """``restart``: a new value for the restart annotation, which makes the operator roll the worker now."""
    account_ref: dict[str, Any] = {"accountId": str(account_id)}
    if supplier_id:
        account_ref["supplierId"] = supplier_id
    metadata = _metadata(seller_bot_name(account_id), namespace, {})
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
            "tariff": tariff_for(plan_limit).value,
            "paused": paused,
        },
    }


def task_spec_body(spec: SupplyTaskSpec, bot_name: str) -> dict[str, Any]:
    """The CRD spec (camelCase) of a domain spec; sets become sorted lists so that the body is stable."""
    body: dict[str, Any] = {"sellerBotRef": {"name": bot_name}}
    for key, value in spec.model_dump(mode="json", exclude_none=True).items():
        if (key == "max_moves" and spec.improve is None) or (key == "racers" and not value):
            continue
        if value is not False:  # switches left off stay out: bodies of older tasks do not change
            body[_camel(key)] = sorted(value) if key in ("weekdays", "skip_dates") else value
    return body


def build_supply_task(task_id: int, account_id: int, spec: SupplyTaskSpec, *, namespace: str) -> dict[str, Any]:
    bot = seller_bot_name(account_id)
    return {
        "apiVersion": API_VERSION,
        "kind": "SupplyTask",
        "metadata": _metadata(supply_task_name(task_id), namespace, {LABEL_BOT: bot}),
        "spec": task_spec_body(spec, bot),
    }


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clip(text: str | None) -> str | None:
    """None removes the field in a merge patch (a cleared error or message)."""
    return text[:MAX_MESSAGE] if text else None


def bot_status_patch(*, status: BotStatus | None = None, error: str | None = None, clear_error: bool = False,
                     heartbeat: dt.datetime | None = None, memory_bytes: int | None = None, pod: str | None = None,
                     auth_state: str | None = None, auth_attempts: int | None = None,
                     bookings_this_month: int | None = None) -> dict[str, Any]:
    """A SellerBot status merge patch with only the fields given."""
    patch: dict[str, Any] = {}
    if status is not None:
        patch["phase"] = status.value
    if error is not None or clear_error:
        patch["lastError"] = _clip(error)
    if heartbeat is not None:
        patch["lastHeartbeat"] = _stamp(heartbeat)
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


# --- the adapter -------------------------------------------------------------------------------------


class CustomResourceMirror:
    """Writes our CRs into one namespace; every error surfaces as :class:`MirrorError`."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def _path(self, plural: str, name: str | None = None, subresource: str | None = None) -> str:
        return resource_path(API_VERSION, plural, self.namespace, name, subresource)

    async def _call(self, request: Awaitable[T]) -> T:
        try:
            return await request
        except (TimeoutError, KubeApiError, aiohttp.ClientError, OSError) as exc:
            raise MirrorError(str(exc) or type(exc).__name__) from exc

    async def apply_seller_bot(self, account: Any, owner: Any, *, paused: bool | None = None,
                               restart: str | None = None) -> dict[str, Any]:
        """``account``: a store WbAccount (id, status, supplier_id); ``owner``: its User (id, plan_limit).

        ``paused`` defaults to the account being STOPPED.
        """
        paused = account.status is BotStatus.STOPPED if paused is None else paused
        body = build_seller_bot(account.id, owner.id, owner.plan_limit, namespace=self.namespace, paused=paused,
                                supplier_id=getattr(account, "supplier_id", None), restart=restart)
        return await self._call(self.client.apply(body))

    async def apply_supply_task(self, task: Any) -> dict[str, Any]:
        """``task``: a store SupplyTask row (id, account_id, spec as stored)."""
        spec = SupplyTaskSpec.model_validate(task.spec)
        return await self._call(self.client.apply(build_supply_task(task.id, task.account_id, spec,
                                                                    namespace=self.namespace)))

    async def delete_supply_task(self, task_id: int) -> None:
        try:
            await self._call(self.client.delete(self._path(SUPPLYTASKS, supply_task_name(task_id))))
        except MirrorError as exc:
            if not (isinstance(exc.__cause__, KubeApiError) and exc.__cause__.status == 404):
                raise

    async def mirror_bot_status(self, bot_name: str, patch: Mapping[str, Any]) -> None:
        if patch:
            await self._call(self.client.merge_patch(self._path(SELLERBOTS, bot_name, "status"), {"status": patch}))

    async def mirror_task_status(self, task_id: int, patch: Mapping[str, Any]) -> None:
        path = self._path(SUPPLYTASKS, supply_task_name(task_id), "status")
        await self._call(self.client.merge_patch(path, {"status": patch}))

    async def close(self) -> None:
        await self.client.close()


@dataclass(frozen=True)
class ClusterTarget:
    """Where the CRs go; :meth:`run` calls the mirror from synchronous code."""

    configuration: k8s_client.Configuration
    namespace: str
    timeout: float = 10.0  # a seller waits for the answer: fail fast rather than hang a request

    @classmethod
    def from_settings(cls, settings: ControlPlaneSettings) -> ClusterTarget:
        return cls(load_configuration(settings.kubeconfig), settings.namespace())

    def open(self) -> CustomResourceMirror:
        return CustomResourceMirror(KubeClient(self.configuration), self.namespace)

    def run(self, action: Callable[[CustomResourceMirror], Awaitable[T]]) -> T:
        """A fresh client on a fresh event loop per call (writes are rare; aiohttp sessions are loop-bound)."""

        async def once() -> T:
            mirror = self.open()
            try:
                return await asyncio.wait_for(action(mirror), self.timeout)
            except TimeoutError as exc:
                raise MirrorError(f"no answer within {self.timeout}s") from exc
            finally:
                await mirror.close()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(once())
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from inside a loop: not this one
            return pool.submit(asyncio.run, once()).result()
