"""The cluster's view of the database: ``SellerBot`` / ``SupplyTask`` custom resources written from our rows.

In the cluster the CRs are the desired state and the database the record (README, «Kubernetes»): the API
writes the CR *specs* (what the operator reconciles: worker Deployments, admission, quota, deadlines) and
the worker writes the CR *status* (what the operator watches: phase, heartbeat, memory, auth, bookings).

The ``build_*`` functions are pure (:mod:`wbsupply.kube.resources`); :class:`CustomResourceMirror` is a
thin async adapter over :class:`~wbsupply.kube.client.KubeClient`; :class:`ClusterTarget` runs it from
synchronous code (the API's routes run in a thread pool).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from kubernetes import client as k8s_client

from wbsupply.config import ControlPlaneConfig
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.kube.client import KubeApiError, KubeClient, load_configuration, resource_path
from wbsupply.kube.names import API_VERSION, SELLERBOTS, SUPPLYTASKS
from wbsupply.kube.resources import (  # re-exported: the builders used to live here
    AUTH_STATES,
    MANAGED_BY,
    MAX_MESSAGE,
    bot_cr_name,
    bot_paused,
    bot_status_patch,
    build_seller_bot,
    build_supply_task,
    seller_bot_name,
    session_secret_name,
    supply_task_name,
    task_cr_name,
    task_spec_body,
    task_status_patch,
)

T = TypeVar("T")
SA_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


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
        paused = bot_paused(account, owner) if paused is None else paused
        body = build_seller_bot(account.id, owner.id, owner.plan_limit, namespace=self.namespace, paused=paused,
                                supplier_id=getattr(account, "supplier_id", None), restart=restart,
                                name=bot_cr_name(account))
        return await self._call(self.client.apply(body))

    async def apply_supply_task(self, task: Any, *, bot_name: str | None = None) -> dict[str, Any]:
        """``task``: a store SupplyTask row (id, account_id, owner_id, spec as stored, paused, cr_name);
        ``bot_name``: its account's SellerBot when that is not ``bot-<account id>``."""
        spec = SupplyTaskSpec.model_validate(task.spec)
        body = build_supply_task(task.id, task.account_id, spec, namespace=self.namespace, name=task_cr_name(task),
                                 bot_name=bot_name, seller=getattr(task, "owner_id", None),
                                 paused=bool(getattr(task, "paused", False)))
        return await self._call(self.client.apply(body))

    async def delete_supply_task(self, task_id: int, *, name: str | None = None) -> None:
        """Delete the task's SupplyTask (cancelled or deleted); gone already is fine."""
        try:
            await self._call(self.client.delete(self._path(SUPPLYTASKS, name or supply_task_name(task_id))))
        except MirrorError as exc:
            if not (isinstance(exc.__cause__, KubeApiError) and exc.__cause__.status == 404):
                raise

    async def mirror_bot_status(self, bot_name: str, patch: Mapping[str, Any]) -> None:
        if patch:
            await self._call(self.client.merge_patch(self._path(SELLERBOTS, bot_name, "status"), {"status": patch}))

    async def mirror_task_status(self, task_id: int, patch: Mapping[str, Any], *, name: str | None = None) -> None:
        path = self._path(SUPPLYTASKS, name or supply_task_name(task_id), "status")
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


__all__ = [
    "AUTH_STATES",
    "MANAGED_BY",
    "MAX_MESSAGE",
    "ClusterTarget",
    "ControlPlaneSettings",
    "CustomResourceMirror",
    "MirrorError",
    "bot_cr_name",
    "bot_paused",
    "bot_status_patch",
    "build_seller_bot",
    "build_supply_task",
    "seller_bot_name",
    "session_secret_name",
    "supply_task_name",
    "task_cr_name",
    "task_spec_body",
    "task_status_patch",
]
