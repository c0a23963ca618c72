"""Entry point of ``wbsupply operator``: ``run(settings)`` blocks until the operator is stopped."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import kopf
from prometheus_client import start_http_server
from sqlalchemy import Engine

from wbsupply.config import Settings
from wbsupply.kube.client import KubeClient
from wbsupply.operator import resync
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
    engine: Engine | None = None,
) -> None:
    """Run the operator in the current event loop (also how the tests run it against kmock).

    ``engine``: the cluster's database; with it the operator checks owners, records what it observes and
    resyncs resources and rows every ``resync_interval`` (see ``operator.records`` / ``operator.resync``).
    """
    registry = register(kopf.OperatorRegistry(), config)
    settings = kopf.OperatorSettings()
    configure(settings, config)
    kube = KubeClient.from_environment(config.kubeconfig)
    if not config.standalone and not config.namespaces:
        peering = build_peering(config.peering_name)
        if await kube.create_if_missing(peering):
            logger.info("created ClusterKopfPeering %s", config.peering_name)
    context = Context(config=config, kube=kube, notify=notify, clock=clock or utcnow,  # type: ignore[arg-type]
                      engine=engine)
    resyncing = None
    if engine is not None:
        resyncing = asyncio.create_task(resync.resync_forever(context, config.resync_interval), name="resync")
    else:
        logger.warning("no database: kubectl objects are not checked for an owner nor recorded")
    if config.metrics_port:
        resync.metrics()
        start_http_server(config.metrics_port, config.metrics_host)
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
        if resyncing is not None:
            resyncing.cancel()
            await asyncio.gather(resyncing, return_exceptions=True)
        await kube.close()


def run(settings: Settings, config: OperatorConfig | None = None) -> None:
    """``wbsupply operator``: reconcile SellerBots and SupplyTasks until SIGTERM/SIGINT."""
    config = config or OperatorConfig()
    logger.info("operator starting (log level %s, peering %s)", settings.log_level, config.peering_name)
    if settings.database_url:  # the cluster's database: findings reach the seller through the outbox
        from wbsupply.store.engine import make_engine

        engine = make_engine(settings.database_url)
        asyncio.run(operate(config, notify=outbox_hook(engine), engine=engine))
    else:
        asyncio.run(operate(config))
