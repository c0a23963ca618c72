"""What a worker process can do with its bot's ServiceAccount token: run as ``python worker_probe.py``.

Arguments: kubeconfig, namespace, own bot, own session Secret, other bot, other Secret. Uses the worker's
own code path for status (``CustomResourceMirror.mirror_bot_status``) and the same client for the Secret;
prints the HTTP status of each attempt as JSON (200 allowed, 403 refused by the API server).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Awaitable

from wbsupply.control.kube_mirror import CustomResourceMirror, MirrorError, bot_status_patch
from wbsupply.domain.statuses import BotStatus
from wbsupply.kube.client import KubeApiError, KubeClient, resource_path


async def status_of(request: Awaitable[object]) -> int:
    try:
        await request
    except MirrorError as exc:
        cause = exc.__cause__
        return cause.status if isinstance(cause, KubeApiError) else -1
    except KubeApiError as exc:
        return exc.status
    return 200


async def probe(kubeconfig: str, namespace: str, own: str, own_secret: str, other: str, other_secret: str) -> None:
    client = KubeClient.from_environment(kubeconfig)
    mirror = CustomResourceMirror(client, namespace)
    now = dt.datetime.now(dt.UTC)
    status = bot_status_patch(status=BotStatus.WAITING_AUTH, heartbeat=now, memory_bytes=300 * 2**20)
    session = {"stringData": {"storageState": json.dumps({"cookies": [], "origins": []})}}

    def secret(name: str) -> str:
        return resource_path("v1", "secrets", namespace, name)

    try:
        results = {
            "own_status": await status_of(mirror.mirror_bot_status(own, status)),
            "own_secret": await status_of(client.merge_patch(secret(own_secret), session)),
            "other_status": await status_of(mirror.mirror_bot_status(other, status)),
            "other_secret": await status_of(client.merge_patch(secret(other_secret), session)),
            "other_secret_read": await status_of(client.get(secret(other_secret))),
        }
    finally:
        await client.close()
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(probe(*sys.argv[1:7]))
