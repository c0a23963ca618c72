"""A small async Kubernetes client that speaks plain dicts.

The operator builds its child objects as dicts (see ``wbsupply.operator.builders``) and only needs
get / list / create / merge-patch. The official ``kubernetes`` package is used for what it does well —
reading kubeconfig or the in-cluster service account — while the requests go through aiohttp (already
a dependency of kopf), so handlers stay async and run unchanged against kmock's emulator in tests.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

# Kind -> (plural, namespaced) for the kinds wbsupply reads or writes.
KINDS: dict[str, tuple[str, bool]] = {
    "Deployment": ("deployments", True),
    "ServiceAccount": ("serviceaccounts", True),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
    "Secret": ("secrets", True),
    "ConfigMap": ("configmaps", True),
    "Event": ("events", True),
    "SellerBot": ("sellerbots", True),
    "SupplyTask": ("supplytasks", True),
    "ClusterKopfPeering": ("clusterkopfpeerings", False),
}


class KubeApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class KubeConflictError(KubeApiError):
    """409: the object already exists (create) or was changed meanwhile (update)."""


def resource_path(
    api_version: str, plural: str, namespace: str | None, name: str | None = None, subresource: str | None = None
) -> str:
    """``/api/v1/namespaces/ns/pods/name`` or ``/apis/group/version/...``."""
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    parts = [base]
    if namespace:
        parts.append(f"namespaces/{namespace}")
    parts.append(plural)
    if name:
        parts.append(name)
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def object_path(obj: Mapping[str, Any], *, collection: bool = False) -> str:
    plural, namespaced = KINDS[obj["kind"]]
    meta = obj["metadata"]
    namespace = meta.get("namespace") if namespaced else None
    return resource_path(obj["apiVersion"], plural, namespace, None if collection else meta["name"])


def load_configuration(kubeconfig: str | None = None) -> k8s_client.Configuration:
    """In-cluster service account if present, else kubeconfig (``$KUBECONFIG`` or the given file)."""
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except k8s_config.ConfigException:
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return configuration


class KubeClient:
    def __init__(self, configuration: k8s_client.Configuration) -> None:
        self._configuration = configuration
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_environment(cls, kubeconfig: str | None = None) -> KubeClient:
        return cls(load_configuration(kubeconfig))

    @property
    def server(self) -> str:
        return str(self._configuration.host).rstrip("/")

    def connection_info(self) -> dict[str, Any]:
        """Server and credentials in the shape of ``kopf.ConnectionInfo``, so kopf and we log in alike."""
        cfg = self._configuration
        token = (self._headers().get("authorization") or "").removeprefix("Bearer ").strip() or None
        return {
            "server": self.server,
            "ca_path": cfg.ssl_ca_cert,
            "insecure": not cfg.verify_ssl,
            "scheme": "Bearer" if token else None,
            "token": token,
            "certificate_path": cfg.cert_file,
            "private_key_path": cfg.key_file,
        }

    def _ssl(self) -> ssl.SSLContext | bool:
        cfg = self._configuration
        if not self.server.startswith("https"):
            return False
        if not cfg.verify_ssl:
            return False
        context = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
        if cfg.cert_file:
            context.load_cert_chain(cfg.cert_file, cfg.key_file)
        return context

    def _headers(self) -> dict[str, str]:
        # auth_settings() re-reads rotating in-cluster tokens through the configuration's refresh hook.
        headers = {"Accept": "application/json"}
        for auth in self._configuration.auth_settings().values():
            setting: dict[str, Any] = dict(auth)  # type: ignore[call-overload]
            if setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl()), timeout=aiohttp.ClientTimeout(total=30)
            )
        async with self._session.request(
            method, self.server + path, headers=self._headers() | kwargs.pop("headers", {}), **kwargs
        ) as response:
            if response.status >= 400:
                text = await response.text()
                error = KubeConflictError if response.status == 409 else KubeApiError
                raise error(response.status, text[:500])
            return await response.json(content_type=None)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, path: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._request("GET", path)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def list(self, path: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        params = {"labelSelector": label_selector} if label_selector else {}
        result = await self._request("GET", path, params=params)
        return list(result.get("items") or [])

    async def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("POST", path, json=body)
        return result

    async def merge_patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/merge-patch+json"}
        result: dict[str, Any] = await self._request("PATCH", path, data=json.dumps(body), headers=headers)
        return result

    async def delete(self, path: str) -> None:
        await self._request("DELETE", path)

    async def create_if_missing(self, obj: Mapping[str, Any]) -> bool:
        """Create the object unless it exists (whatever its content); True if it was created."""
        try:
            await self.create(object_path(obj, collection=True), obj)
        except KubeConflictError:
            return False
        return True

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create the object, or merge its fields into the existing one (keeps fields it does not name)."""
        try:
            return await self.create(object_path(obj, collection=True), obj)
        except KubeConflictError:
            return await self.merge_patch(object_path(obj), obj)
