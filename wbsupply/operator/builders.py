"""Pure builders of the objects a SellerBot owns: worker Deployment, ServiceAccount, Role, RoleBinding.

No I/O here: each function takes the SellerBot's name, namespace and spec and returns a plain dict,
so the desired state is tested without a cluster. Ownership (``kopf.adopt``) is added by the caller.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from wbsupply.kube.names import (
    ANNOTATION_RESTARTED_AT,
    LABEL_BOT,
    LABEL_COMPONENT,
    LABEL_MANAGED_BY,
    LABEL_PART_OF,
    MANAGER,
    SELLERBOTS,
    SUPPLYTASKS,
    WORKER_COMPONENT,
    bot_label,
    worker_name,
)
from wbsupply.operator.settings import OperatorConfig
from wbsupply.operator.sizing import memory_limit, memory_request

WORKER_UID = 10001  # the `wbsupply` user of images/worker/Dockerfile
TMP_DIR = "/tmp"
PROFILE_DIR = "/var/lib/wbsupply/profile"  # browser profile and cache; the session itself is in the Secret
HEALTH_PATH = "/healthz"
Spec = Mapping[str, Any]


def worker_labels(bot_name: str) -> dict[str, str]:
    return {
        LABEL_BOT: bot_label(bot_name),
        LABEL_COMPONENT: WORKER_COMPONENT,
        LABEL_PART_OF: "wbsupply",
        LABEL_MANAGED_BY: MANAGER,
    }


def selector_labels(bot_name: str) -> dict[str, str]:
    """The Deployment selector: immutable after creation, so only the two labels that never change."""
    return {LABEL_BOT: bot_label(bot_name), LABEL_COMPONENT: WORKER_COMPONENT}


def _metadata(bot_name: str, namespace: str) -> dict[str, Any]:
    return {"name": worker_name(bot_name), "namespace": namespace, "labels": worker_labels(bot_name)}


def build_service_account(bot_name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(bot_name, namespace)}


def build_role(bot_name: str, namespace: str, spec: Spec) -> dict[str, Any]:
    """What one worker may touch: its own SellerBot, SupplyTasks of its namespace, its session Secret.

    ``resourceNames`` cannot narrow ``list``/``watch`` (they are collection requests with no name) nor
    cover SupplyTasks created after the Role, so the worker reads SupplyTasks namespace-wide and keeps
    only those labelled with its bot; put sellers in separate namespaces where that boundary matters.
    """
    return worker_role(_metadata(bot_name, namespace), [bot_name], [spec["sessionSecretRef"]["name"]])


def worker_role(metadata: dict[str, Any], bots: list[str], secrets: list[str]) -> dict[str, Any]:
    """The Role of a worker pod: the SellerBots it runs and their session Secrets by name (see ``build_role``)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata,
        "rules": [
            {"apiGroups": ["wbsupply.io"], "resources": [SUPPLYTASKS], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["wbsupply.io"], "resources": [f"{SUPPLYTASKS}/status"], "verbs": ["get", "patch"]},
            {
                "apiGroups": ["wbsupply.io"],
                "resources": [SELLERBOTS, f"{SELLERBOTS}/status"],
                "resourceNames": sorted(bots),
                "verbs": ["get", "patch"],
            },
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": sorted(secrets),
                "verbs": ["get", "update", "patch"],
            },
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
        ],
    }


def build_session_secret(bot_name: str, namespace: str, spec: Spec) -> dict[str, Any]:
    """An empty session Secret for a bot whose account has none yet: the worker fills it after login.

    The worker may only update it (``create`` cannot be narrowed to one name), so the operator creates it.
    """
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": spec["sessionSecretRef"]["name"],
            "namespace": namespace,
            "labels": {LABEL_PART_OF: "wbsupply", LABEL_BOT: bot_label(bot_name)},
        },
    }


def build_role_binding(bot_name: str, namespace: str) -> dict[str, Any]:
    return worker_role_binding(_metadata(bot_name, namespace))


def worker_role_binding(metadata: dict[str, Any]) -> dict[str, Any]:
    """Binds the worker pod's Role to its ServiceAccount (all three share the pod's name)."""
    name = metadata["name"]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": metadata["namespace"]}],
    }


def _resources(spec: Spec, config: OperatorConfig) -> dict[str, Any]:
    limits = {"memory": memory_limit(spec, config, 1)}
    cpu_limit = (spec.get("resources") or {}).get("cpuLimit") or config.worker_cpu_limit
    if cpu_limit:
        limits["cpu"] = cpu_limit
    return {"requests": {"memory": memory_request(config, 1), "cpu": config.worker_cpu_request}, "limits": limits}


def _probes(port: int) -> dict[str, Any]:
    check = {"httpGet": {"path": HEALTH_PATH, "port": "health"}, "timeoutSeconds": 5}
    return {
        # A fresh browser plus a cabinet login can take a while: up to 5 minutes before liveness counts.
        "startupProbe": check | {"periodSeconds": 10, "failureThreshold": 30},
        "livenessProbe": check | {"periodSeconds": 30, "failureThreshold": 3},
        "readinessProbe": check | {"periodSeconds": 15, "failureThreshold": 2},
    }


def _env(bot_name: str, namespace: str, spec: Spec, config: OperatorConfig) -> list[dict[str, Any]]:
    session = spec["sessionSecretRef"]
    return [
        {"name": "WBSUPPLY_BOT_NAME", "value": bot_name},
        {"name": "WBSUPPLY_BOT_NAMESPACE", "value": namespace},
        {"name": "WBSUPPLY_WB_ACCOUNT_ID", "value": str(spec["wbAccountRef"]["accountId"])},
        {"name": "WBSUPPLY_SESSION_SECRET", "value": session["name"]},
        {"name": "WBSUPPLY_SESSION_SECRET_KEY", "value": session.get("key", "storageState")},
        {"name": "WBSUPPLY_HEALTH_PORT", "value": str(config.worker_health_port)},
        {"name": "WBSUPPLY_DATA_DIR", "value": PROFILE_DIR},
        {"name": "WBSUPPLY_MEMORY_LIMIT", "value": memory_limit(spec, config, 1)},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]


def _env_from(config: OperatorConfig) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = []
    if config.worker_env_configmap:
        sources.append({"configMapRef": {"name": config.worker_env_configmap}})
    if config.worker_env_secret:
        sources.append({"secretRef": {"name": config.worker_env_secret}})
    return sources


CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": WORKER_UID,
    "runAsGroup": WORKER_UID,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
VOLUME_MOUNTS = [
    {"name": "tmp", "mountPath": TMP_DIR},
    {"name": "profile", "mountPath": PROFILE_DIR},
    {"name": "dshm", "mountPath": "/dev/shm"},
]


def worker_container(command: list[str], env: list[dict[str, Any]], resources: dict[str, Any],
                     config: OperatorConfig, mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The worker container of any worker pod (one bot or a packed pool)."""
    return {
        "name": "worker",
        "image": config.worker_image,
        "imagePullPolicy": config.worker_image_pull_policy,
        "command": command,
        "env": env,
        "envFrom": _env_from(config),
        "ports": [{"name": "health", "containerPort": config.worker_health_port, "protocol": "TCP"}],
        "resources": resources,
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [*VOLUME_MOUNTS, *(mounts or [])],
    } | _probes(config.worker_health_port)


def build_worker_container(bot_name: str, namespace: str, spec: Spec, config: OperatorConfig) -> dict[str, Any]:
    command = ["wbsupply", "worker", "--bot", bot_name]
    return worker_container(command, _env(bot_name, namespace, spec, config), _resources(spec, config), config)


def _scheduling(config: OperatorConfig) -> dict[str, Any]:
    """Pull secrets, node selector, tolerations and priority class of worker pods, from the operator's settings."""
    fields: dict[str, Any] = {}
    if config.worker_image_pull_secrets:
        fields["imagePullSecrets"] = [
            {"name": item} if isinstance(item, str) else {"name": item["name"]}
            for item in config.worker_image_pull_secrets
        ]
    if config.worker_node_selector:
        fields["nodeSelector"] = dict(config.worker_node_selector)
    if config.worker_tolerations:
        fields["tolerations"] = [dict(item) for item in config.worker_tolerations]
    if config.worker_priority_class_name:
        fields["priorityClassName"] = config.worker_priority_class_name
    return fields


def worker_pod_spec(service_account: str, container: dict[str, Any], config: OperatorConfig,
                    volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": True,
        "terminationGracePeriodSeconds": 30,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": WORKER_UID,
            "runAsGroup": WORKER_UID,
            "fsGroup": WORKER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            {"name": "profile", "emptyDir": {"sizeLimit": "256Mi"}},
            # Chromium keeps shared memory in /dev/shm; the container default (64Mi) is tight.
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "128Mi"}},
            *(volumes or []),
        ],
    } | _scheduling(config)


def worker_deployment(metadata: dict[str, Any], selector: dict[str, str], labels: dict[str, str], replicas: int,
                      pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            # Never two pods of one bot: two browsers logged into one WB account would fight over it.
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def build_deployment(bot_name: str, namespace: str, spec: Spec, config: OperatorConfig) -> dict[str, Any]:
    """One worker pod for this bot alone; ``paused`` scales it to zero."""
    pod_spec = worker_pod_spec(worker_name(bot_name), build_worker_container(bot_name, namespace, spec, config), config)
    return worker_deployment(_metadata(bot_name, namespace), selector_labels(bot_name), worker_labels(bot_name),
                             0 if spec.get("paused") else 1, pod_spec)


def build_children(bot_name: str, namespace: str, spec: Spec, config: OperatorConfig) -> list[dict[str, Any]]:
    """Everything a SellerBot owns, in creation order (the pod needs its ServiceAccount first)."""
    return [
        build_service_account(bot_name, namespace),
        build_role(bot_name, namespace, spec),
        build_role_binding(bot_name, namespace),
        build_deployment(bot_name, namespace, spec, config),
    ]


def build_restart_patch(moment: datetime.datetime) -> dict[str, Any]:
    """Merge patch that rolls the worker pod, like ``kubectl rollout restart``."""
    stamp = moment.astimezone(datetime.UTC).isoformat(timespec="seconds")
    return {"spec": {"template": {"metadata": {"annotations": {ANNOTATION_RESTARTED_AT: stamp}}}}}
