"""Packed worker pods: SellerBots of a namespace placed into shared pools (``domain.placement``) and the pools'
objects built and applied.

A pool ``wbsupply-pool-N`` is a Deployment of one pod running ``wbsupply worker --pool FILE``, a ConfigMap whose
``bots.json`` lists its bots (mounted as FILE: the kubelet updates it in place, the worker picks bots up and lets
them go while running), and a ServiceAccount/Role/RoleBinding whose Role names exactly those bots and their
session Secrets. The pod template never depends on the members — it is sized for the pool's capacity — so
bots coming and going never restart the pod. Every member owns the pool's objects (non-controller owner
references): the garbage collector removes a pool whose bots are all gone even while the operator is down.

The ConfigMaps are the record of the placement (written before anything else), so it survives restarts of
the operator; each SellerBot's ``status.deployment`` names its pool. A bot with ``spec.placement: dedicated``
keeps the per-bot Deployment of ``builders`` (named after the bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wbsupply.domain.placement import BotDemand, PodNames, mib, place, pods_of
from wbsupply.kube.client import KubeApiError, KubeClient, resource_path
from wbsupply.kube.names import (
    API_VERSION,
    GROUP,
    LABEL_COMPONENT,
    LABEL_MANAGED_BY,
    LABEL_PART_OF,
    MANAGER,
    SELLERBOTS,
    WORKER_COMPONENT,
    worker_name,
)
from wbsupply.operator.builders import (
    PROFILE_DIR,
    worker_container,
    worker_deployment,
    worker_pod_spec,
    worker_role,
    worker_role_binding,
)
from wbsupply.operator.settings import OperatorConfig
from wbsupply.operator.sizing import is_dedicated, memory_limit, memory_request

log = logging.getLogger(__name__)

LABEL_POOL = f"{GROUP}/worker-pool"
POOL_PREFIX = "wbsupply-pool-"
POOL_DIR = "/etc/wbsupply/pool"
POOL_KEY = "bots.json"
_POOL_NAME = re.compile(rf"^{POOL_PREFIX}(\d+)$")


def pool_name(number: int) -> str:
    return f"{POOL_PREFIX}{number}"


def pool_number(name: str) -> int | None:
    found = _POOL_NAME.match(name)
    return int(found.group(1)) if found else None


NAMES = PodNames(shared=pool_name, dedicated=worker_name, shared_number=pool_number)


@dataclass(frozen=True)
class Member:
    """What a pool needs to know of one of its SellerBots."""

    name: str
    uid: str
    account_id: str
    secret: str

    @classmethod
    def of(cls, bot: Mapping[str, Any]) -> Member:
        spec = bot["spec"]
        return cls(bot["metadata"]["name"], bot["metadata"]["uid"], str(spec["wbAccountRef"]["accountId"]),
                   spec["sessionSecretRef"]["name"])


def pool_labels(pool: str) -> dict[str, str]:
    return {LABEL_POOL: pool, LABEL_COMPONENT: WORKER_COMPONENT, LABEL_PART_OF: "wbsupply", LABEL_MANAGED_BY: MANAGER}


def _metadata(pool: str, namespace: str, members: list[Member]) -> dict[str, Any]:
    owners = [{"apiVersion": API_VERSION, "kind": "SellerBot", "name": m.name, "uid": m.uid} for m in members]
    return {"name": pool, "namespace": namespace, "labels": pool_labels(pool), "ownerReferences": owners}


def build_pool_configmap(pool: str, namespace: str, members: list[Member]) -> dict[str, Any]:
    bots = [{"name": m.name, "accountId": m.account_id} for m in sorted(members, key=lambda m: m.name)]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(pool, namespace, members),
            "data": {POOL_KEY: json.dumps({"bots": bots}, ensure_ascii=False)}}


def pool_resources(config: OperatorConfig) -> dict[str, Any]:
    """Sized for a full pool, whatever it holds now: a change would restart the pod and all its bots."""
    capacity = config.worker_pod_capacity
    limits = {"memory": memory_limit({}, config, capacity)}
    if config.worker_cpu_limit:
        limits["cpu"] = config.worker_cpu_limit
    return {"requests": {"memory": memory_request(config, capacity), "cpu": config.worker_cpu_request},
            "limits": limits}


def build_pool_deployment(pool: str, namespace: str, members: list[Member], config: OperatorConfig) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": "WBSUPPLY_BOT_NAMESPACE", "value": namespace},
        {"name": "WBSUPPLY_HEALTH_PORT", "value": str(config.worker_health_port)},
        {"name": "WBSUPPLY_DATA_DIR", "value": PROFILE_DIR},
        {"name": "WBSUPPLY_MEMORY_LIMIT", "value": memory_limit({}, config, config.worker_pod_capacity)},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    mount = {"name": "pool", "mountPath": POOL_DIR, "readOnly": True}
    container = worker_container(["wbsupply", "worker", "--pool", f"{POOL_DIR}/{POOL_KEY}"], env,
                                 pool_resources(config), config, [mount])
    volume = {"name": "pool", "configMap": {"name": pool}}
    pod_spec = worker_pod_spec(pool, container, config, [volume])
    selector = {LABEL_POOL: pool, LABEL_COMPONENT: WORKER_COMPONENT}
    return worker_deployment(_metadata(pool, namespace, members), selector, pool_labels(pool), 1, pod_spec)


def build_pool_children(
    pool: str, namespace: str, members: list[Member], config: OperatorConfig
) -> list[dict[str, Any]]:
    """A pool's objects in the order they are applied: the bot list first (the record of the placement)."""
    metadata = _metadata(pool, namespace, members)
    return [
        build_pool_configmap(pool, namespace, members),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata},
        worker_role(metadata, [m.name for m in members], [m.secret for m in members]),
        worker_role_binding(metadata),
        build_pool_deployment(pool, namespace, members, config),
    ]


POOL_KINDS = (("apps/v1", "deployments"), ("rbac.authorization.k8s.io/v1", "rolebindings"),
              ("rbac.authorization.k8s.io/v1", "roles"), ("v1", "serviceaccounts"), ("v1", "configmaps"))
OWN_KINDS = POOL_KINDS[:4]  # a dedicated bot's own worker has no ConfigMap


async def _delete_all(kube: KubeClient, namespace: str, name: str, kinds: tuple[tuple[str, str], ...]) -> None:
    for api_version, plural in kinds:
        try:
            await kube.delete(resource_path(api_version, plural, namespace, name))
        except KubeApiError as exc:
            if exc.status != 404:
                raise


def current_placement(configmaps: list[dict[str, Any]]) -> dict[str, str]:
    """Bot -> pool, as the pools' ConfigMaps record it."""
    placed: dict[str, str] = {}
    for configmap in configmaps:
        with contextlib.suppress(KeyError, ValueError, TypeError):
            for item in json.loads(configmap["data"][POOL_KEY])["bots"]:
                placed[str(item["name"])] = configmap["metadata"]["name"]
    return placed


def closed_pools(bots: list[dict[str, Any]], current: Mapping[str, str], config: OperatorConfig) -> set[str]:
    """Pools whose cgroup charge (as their bots last reported it) passed the warning ratio: no new bots there."""
    limit = mib(memory_limit({}, config, config.worker_pod_capacity)) * 2**20
    closed = set()
    for bot in bots:
        pool = current.get(bot["metadata"]["name"])
        used = (bot.get("status") or {}).get("memoryBytes")
        if pool and isinstance(used, int) and used >= limit * config.memory_warning_ratio:
            closed.add(pool)
    return closed


@dataclass
class PlacementState:
    """Per operator process: one lock per namespace, and what was last applied to each pool."""

    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    applied: dict[tuple[str, str], str] = field(default_factory=dict)


async def reconcile(kube: KubeClient, config: OperatorConfig, namespace: str, state: PlacementState) -> dict[str, str]:
    """Place the namespace's SellerBots and bring the pools in line; returns bot -> its worker Deployment.

    One reconcile at a time per namespace (kopf runs the bots' handlers concurrently). Paused shared bots
    hold no place; a paused dedicated bot keeps its own Deployment, scaled to zero.
    """
    async with state.locks.setdefault(namespace, asyncio.Lock()):
        bots = [bot for bot in await kube.list(resource_path(API_VERSION, SELLERBOTS, namespace))
                if not bot["metadata"].get("deletionTimestamp")]
        configmaps = await kube.list(resource_path("v1", "configmaps", namespace), label_selector=LABEL_POOL)
        current = current_placement(configmaps)
        demands = [BotDemand(bot["metadata"]["name"], is_dedicated(bot["spec"])) for bot in bots
                   if is_dedicated(bot["spec"]) or not bot["spec"].get("paused")]
        placement = place(demands, current, config.worker_pod_capacity, NAMES, closed_pools(bots, current, config))
        by_name = {bot["metadata"]["name"]: bot for bot in bots}
        recorded = {cm["metadata"]["name"]: cm for cm in configmaps}
        for pool, names in pods_of(placement).items():
            if pool_number(pool) is None:
                continue  # a dedicated bot: its own children come from its handler (builders.build_children)
            members = [Member.of(by_name[name]) for name in names]
            wanted = build_pool_children(pool, namespace, members, config)
            digest = json.dumps(wanted, sort_keys=True)
            if pool in recorded and state.applied.get((namespace, pool)) == digest:
                continue  # applied by this process already, and recorded
            for child in wanted:
                await kube.apply(child)
            state.applied[(namespace, pool)] = digest
            log.info("pool %s/%s: %s", namespace, pool, ", ".join(names))
        for pool in recorded.keys() - set(placement.values()):
            await _delete_all(kube, namespace, pool, POOL_KINDS)
            state.applied.pop((namespace, pool), None)
            log.info("pool %s/%s removed: no bots left", namespace, pool)
        # Placement is stable, so only a bot whose own spec changed moves, and its handler writes its status.
        for name, bot in by_name.items():
            was = (bot.get("status") or {}).get("deployment")
            if was == worker_name(name) and placement.get(name) != was:
                await _delete_all(kube, namespace, worker_name(name), OWN_KINDS)  # no longer dedicated
        return placement
