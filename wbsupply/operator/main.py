"""Entry point of ``wbsupply operator``: ``run(settings)`` blocks until the operator is stopped."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import kopf

from wbsupply.config import Settings
from wbsupply.kube.client import KubeClient
from wbsupply.operator.bots import Context, utcnow
from wbsupply.operator.handlers import register
from wbsupply.operator.notifications import NotificationHook, log_notification, outbox_hook
from wbsupply.operator.settings import OperatorConfig, configure

logger = logging.getLogger(__name__)


def build_peering(name: str) -> dict[str, object]:
    """The ClusterKopfPeering through which replicas elect the active operator.

    The operator creates it itself: a Helm chart cannot ship a custom resource together with its CRD.
    """
    return {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name}}


async def operate(
    config: OperatorConfig,
    *,
    stop_flag: threading.Event | asyncio.Event | None = None,
    ready_flag: threading.Event | asyncio.Event | None = None,
    notify: NotificationHook = log_notification,
    clock: Callable[[], object] | None = None,
) -> None:
    """Run the operator in the current event loop (also how the tests run it against kmock)."""
    registry = register(kopf.OperatorRegistry(), config)
    settings = kopf.OperatorSettings()
    configure(settings, config)
    kube = KubeClient.from_environment(config.kubeconfig)
    if not config.standalone and not config.namespaces:
        peering = build_peering(config.peering_name)
        if await kube.create_if_missing(peering):
            logger.info("created ClusterKopfPeering %s", config.peering_name)
    context = Context(config=config, kube=kube, notify=notify, clock=clock or utcnow)  # type: ignore[arg-type]
    try:
        await kopf.operator(
            registry=registry,
            settings=settings,
            memo=context,  # peering is set in `configure`: kopf's peering_name= would force mandatory peering
            clusterwide=not config.namespaces,
            namespaces=config.namespaces,
            liveness_endpoint=config.liveness_endpoint,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
        )
    finally:
        await kube.close()


def run(settings: Settings, config: OperatorConfig | None = None) -> None:
    """``wbsupply operator``: reconcile SellerBots and SupplyTasks until SIGTERM/SIGINT."""
    config = config or OperatorConfig()
    logger.info("operator starting (log level %s, peering %s)", settings.log_level, config.peering_name)
    if settings.database_url:  # the cluster's database: findings reach the seller through the outbox
        from wbsupply.store.engine import make_engine

        asyncio.run(operate(config, notify=outbox_hook(make_engine(settings.database_url))))
    else:
        asyncio.run(operate(config))
