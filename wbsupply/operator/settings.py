"""Operator configuration (env ``WBSUPPLY_OPERATOR_*``) and the kopf settings derived from it."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import kopf
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WBSUPPLY_OPERATOR_", extra="ignore")

    # Worker pods.
    worker_image: str = "wbsupply/worker:0.1.0"
    worker_image_pull_policy: str = Field(default="IfNotPresent", pattern="^(Always|IfNotPresent|Never)$")
    # Packing: up to this many SellerBots share one worker pod (one browser, one context per bot);
    # ``spec.placement: dedicated`` keeps a bot alone. 1 gives every bot its own pod.
    worker_pod_capacity: int = Field(default=10, ge=1, le=100)
    # A pod's memory = base + per bot x capacity (request), plus headroom (limit). Measured (bench/bot_memory.py,
    # bench/density.py): ~375 MB PSS for the Python process, Playwright's driver and Chromium, ~22 MB per
    # extra bot context; the cgroup is charged more than PSS (page cache of the browser's binary).
    worker_memory_base: str = "448Mi"
    worker_memory_per_bot: str = "40Mi"
    worker_memory_headroom: float = Field(default=0.3, ge=0, le=4)
    worker_memory_request: str | None = Field(default=None, description="Fixed request of every pod (else computed)")
    worker_memory_limit: str | None = Field(default=None, description="Fixed limit of every pod (else computed)")
    worker_cpu_request: str = "50m"
    worker_cpu_limit: str | None = None
    worker_health_port: int = Field(default=8080, ge=1, le=65535)
    worker_env_configmap: str | None = Field(default=None, description="ConfigMap with WBSUPPLY_* for workers")
    worker_env_secret: str | None = Field(default=None, description="Secret with DB/Redis URLs for workers")
    # Scheduling of worker pods (JSON in the environment, as the chart renders them).
    worker_image_pull_secrets: list[str | dict[str, str]] = Field(
        default_factory=list, description='Private registries: ["regcred"] or [{"name": "regcred"}]'
    )
    worker_node_selector: dict[str, str] = Field(default_factory=dict)
    worker_tolerations: list[dict[str, Any]] = Field(default_factory=list)
    worker_priority_class_name: str | None = None

    # Timers (seconds). Status/memory/auth follow the founding design: 5 min, 30 min, 1 hour.
    status_interval: float = 300
    memory_interval: float = 1800
    auth_interval: float = 3600
    restart_check_interval: float = 60
    task_check_interval: float = 60
    heartbeat_timeout: float = Field(default=600, description="Heartbeat older than this means the bot hangs")
    memory_warning_ratio: float = Field(default=0.9, gt=0, le=1)
    resync_interval: float = Field(default=300, gt=0, description="Resync of CRs and database (operator.resync)")
    metrics_port: int | None = Field(default=None, ge=1, le=65535, description="/metrics port (the chart: 8081)")
    metrics_host: str = "0.0.0.0"

    # Kubernetes API watching. Kopf's defaults (no timeouts) let a watch that the API server or a load
    # balancer silently dropped hang forever: the operator then looks alive but sees no more events.
    # An integer: the API server rejects timeoutSeconds=300.0 (400 Bad Request), kmock did not notice.
    watch_server_timeout: int = 300
    watch_client_timeout: float = 330
    watch_connect_timeout: float = 30
    request_timeout: float = 60

    # Peering: replicas elect one active operator; the others stand by.
    peering_name: str = "wbsupply"
    standalone: bool = False
    priority: int | None = Field(default=None, description="Peering priority; derived from the pod name if unset")
    namespaces: list[str] = Field(default_factory=list, description="Watched namespaces; empty = cluster-wide")
    liveness_endpoint: str | None = "http://0.0.0.0:8080/healthz"
    kubeconfig: str | None = None


def peering_priority(config: OperatorConfig, pod_name: str | None = None) -> int:
    """Distinct priority per replica: kopf freezes every replica when two peers share a priority."""
    if config.priority is not None:
        return config.priority
    pod_name = pod_name or os.environ.get("POD_NAME") or os.environ.get("HOSTNAME", "")
    return 1 + int(hashlib.sha256(pod_name.encode()).hexdigest(), 16) % 10_000


def configure(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    settings.watching.server_timeout = config.watch_server_timeout
    settings.watching.client_timeout = config.watch_client_timeout
    settings.watching.connect_timeout = config.watch_connect_timeout
    settings.networking.request_timeout = config.request_timeout
    settings.networking.connect_timeout = config.watch_connect_timeout
    settings.peering.name = config.peering_name
    settings.peering.standalone = config.standalone
    settings.peering.priority = peering_priority(config)
    settings.peering.mandatory = not config.standalone
    settings.posting.reporting_component = "wbsupply-operator"
    settings.persistence.finalizer = "wbsupply.io/operator"
    # Event-driven handlers on errors: retry soon, not kopf's default 60 s.
    settings.execution.default_backoff = 15
