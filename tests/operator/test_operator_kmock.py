"""The whole operator (kopf + our handlers) in-process against kmock's Kubernetes emulator.

The emulator has no controllers, garbage collector or schema validation (see tests/deploy for the
schemas); objects are created with a uid and resourceVersion because it assigns neither.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import kmock
import pytest
from operator_helpers import NAMESPACE, START, FakeClock

from wbsupply.domain.schedule import restart_moment
from wbsupply.kube.names import ANNOTATION_RESTART_REQUEST, ANNOTATION_RESTARTED_AT, LABEL_BOT, worker_name
from wbsupply.operator.notifications import BotNotification
from wbsupply.operator.settings import OperatorConfig
from wbsupply.testkit import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

BOTS = "wbsupply.io/v1alpha1/sellerbots"
TASKS = "wbsupply.io/v1alpha1/supplytasks"
DEPLOYMENTS = "apps/v1/deployments"
BASE = f"/apis/wbsupply.io/v1alpha1/namespaces/{NAMESPACE}"


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    created = "2026-11-26T08:00:00Z"  # an hour before the test clock: no restart missed yet
    return {
        "name": name,
        "namespace": NAMESPACE,
        "uid": str(uuid.uuid4()),
        "resourceVersion": "1",
        "creationTimestamp": created,
        "generation": 1,
    } | extra


def sellerbot(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "wbsupply.io/v1alpha1",
        "kind": "SellerBot",
        "metadata": _meta(name),
        "spec": {
            "seller": "ivanov",
            "wbAccountRef": {"accountId": "42"},
            "sessionSecretRef": {"name": "wb-session-42"},
            "tariff": "start",
            "placement": "dedicated",  # these tests follow one bot's own worker; tests/k8s packs shared ones
        }
        | spec,
    }


def supplytask(name: str, bot: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "wbsupply.io/v1alpha1",
        "kind": "SupplyTask",
        "metadata": _meta(name),
        "spec": {
            "sellerBotRef": {"name": bot},
            "accountId": "42",
            "preorderId": 123456,
            "warehouses": [507],
            "boxType": "boxes",
            "maxCoefficient": 0,
        }
        | spec,
    }


async def create(cluster: kmock.KubernetesEmulator, plural: str, body: dict[str, Any]) -> None:
    async with cluster.post(f"{BASE}/{plural}", json=body) as response:
        assert response.status < 300, await response.text()


async def patch(cluster: kmock.KubernetesEmulator, plural: str, name: str, body: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    async with cluster.patch(f"{BASE}/{plural}/{name}", json=body, headers=headers) as response:
        assert response.status < 300, await response.text()


def deployment(cluster: kmock.KubernetesEmulator, bot: str) -> Any:
    return cluster.objects[DEPLOYMENTS, NAMESPACE, worker_name(bot)]


def bot_status(cluster: kmock.KubernetesEmulator, bot: str) -> Any:
    return cluster.objects[BOTS, NAMESPACE, bot]["status"]


def task_status(cluster: kmock.KubernetesEmulator, task: str) -> Any:
    return cluster.objects[TASKS, NAMESPACE, task]["status"]


def restarted_at(cluster: kmock.KubernetesEmulator, bot: str) -> str | None:
    annotations = deployment(cluster, bot)["spec"]["template"]["metadata"].get("annotations") or {}
    return annotations.get(ANNOTATION_RESTARTED_AT)


async def test_sellerbot_gets_an_owned_worker(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    bot = sellerbot("owned")
    await create(cluster, "sellerbots", bot)

    dep = await eventually(lambda: deployment(cluster, "owned"))
    owner = dep["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("SellerBot", "owned", bot["metadata"]["uid"])
    assert owner["controller"] is True
    assert dep["spec"]["replicas"] == 1
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "wbsupply/worker:test"
    assert container["command"] == ["wbsupply", "worker", "--bot", "owned"]
    for kind in (
        "v1/serviceaccounts",
        "rbac.authorization.k8s.io/v1/roles",
        "rbac.authorization.k8s.io/v1/rolebindings",
    ):
        child = cluster.objects[kind, NAMESPACE, worker_name("owned")]
        assert child["metadata"]["ownerReferences"][0]["uid"] == bot["metadata"]["uid"]
    assert await eventually(lambda: bot_status(cluster, "owned")["phase"]) == "INITIALIZING"
    conditions = await eventually(lambda: bot_status(cluster, "owned")["conditions"])
    assert conditions[0]["type"] == "WorkerApplied" and conditions[0]["status"] == "True"
    # The empty session Secret exists for the worker to fill, and is not owned: it outlives the bot.
    secret = cluster.objects["v1/secrets", NAMESPACE, "wb-session-42"]
    assert "ownerReferences" not in secret["metadata"]


async def test_pause_scales_the_worker_to_zero(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    await create(cluster, "sellerbots", sellerbot("paused"))
    await eventually(lambda: deployment(cluster, "paused")["spec"]["replicas"] == 1)

    await patch(cluster, "sellerbots", "paused", {"spec": {"paused": True}})

    await eventually(lambda: deployment(cluster, "paused")["spec"]["replicas"] == 0)
    await eventually(lambda: bot_status(cluster, "paused")["phase"] == "STOPPED")


async def test_restart_window_rolls_the_worker(
    cluster: kmock.KubernetesEmulator, operator: OperatorConfig, clock: FakeClock
) -> None:
    await create(cluster, "sellerbots", sellerbot("nightly"))
    await eventually(lambda: deployment(cluster, "nightly"))
    await asyncio.sleep(1.5)  # several timer runs (0.5 s) at 12:00 Moscow: nothing is due
    assert restarted_at(cluster, "nightly") is None

    try:
        clock.now = restart_moment(datetime.date(2026, 11, 27), "nightly") + datetime.timedelta(seconds=1)
        stamp = await eventually(lambda: restarted_at(cluster, "nightly"))
        assert datetime.datetime.fromisoformat(stamp) == clock.now.replace(microsecond=0)
        await eventually(lambda: bot_status(cluster, "nightly")["lastRestart"])

        clock.now += datetime.timedelta(minutes=5)  # same window: restarted once only
        await asyncio.sleep(1.5)
        assert restarted_at(cluster, "nightly") == stamp
    finally:
        clock.now = START


async def test_restart_on_request(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    await create(cluster, "sellerbots", sellerbot("on-demand"))
    await eventually(lambda: deployment(cluster, "on-demand"))

    annotations = {ANNOTATION_RESTART_REQUEST: "2026-11-26T12:00:00Z"}
    await patch(cluster, "sellerbots", "on-demand", {"metadata": {"annotations": annotations}})

    await eventually(lambda: restarted_at(cluster, "on-demand"))
    await eventually(lambda: bot_status(cluster, "on-demand")["lastRestartRequest"] == "2026-11-26T12:00:00Z")


async def test_task_with_a_bad_spec_is_rejected(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    await create(cluster, "sellerbots", sellerbot("strict"))
    await create(cluster, "supplytasks", supplytask("bad", "strict", warehouses=[507, 507]))

    await eventually(lambda: task_status(cluster, "bad")["phase"] == "Failed")
    assert "дважды" in task_status(cluster, "bad")["message"]


async def test_task_is_assigned_and_quota_is_enforced(
    cluster: kmock.KubernetesEmulator, operator: OperatorConfig
) -> None:
    await create(cluster, "sellerbots", sellerbot("busy"))
    await create(cluster, "supplytasks", supplytask("first", "busy"))
    await eventually(lambda: task_status(cluster, "first")["phase"] == "Pending")
    assert cluster.objects[TASKS, NAMESPACE, "first"]["metadata"]["labels"][LABEL_BOT] == "busy"

    # The worker reports the month's bookings; tariff "start" allows 5.
    await patch(cluster, "sellerbots", "busy", {"status": {"bookingsThisMonth": 5}})
    # The timer applies the limit to the waiting task; a new task is refused at once.
    await eventually(lambda: task_status(cluster, "first")["phase"] == "QuotaExceeded")
    await create(cluster, "supplytasks", supplytask("second", "busy"))

    await eventually(lambda: task_status(cluster, "second")["phase"] == "QuotaExceeded")
    assert "5 бронирований" in task_status(cluster, "second")["message"]


def events(cluster: kmock.KubernetesEmulator, bot: str) -> list[dict[str, Any]]:
    """Events the operator posted about a bot (kmock assigns no generateName, so read the requests)."""
    posted = [request.data for request in cluster if request.method == "POST" and request.resource == "v1/events"]
    return [event for event in posted if event.get("involvedObject", {}).get("name") == bot]


async def test_lost_heartbeat_is_an_error_the_seller_hears_of(
    cluster: kmock.KubernetesEmulator, operator: OperatorConfig, notifications: list[BotNotification]
) -> None:
    await create(cluster, "sellerbots", sellerbot("silent"))
    # The creation handler is done (it writes `deployment`) and the status timer has run once.
    await eventually(lambda: bot_status(cluster, "silent")["deployment"])
    await eventually(lambda: bot_status(cluster, "silent")["observedPhase"] == "INITIALIZING")

    # The worker said ACTIVE half an hour ago and nothing since (the timeout is 10 minutes).
    stale = {"phase": "ACTIVE", "lastHeartbeat": "2026-11-26T08:30:00Z"}
    await patch(cluster, "sellerbots", "silent", {"status": stale})

    await eventually(lambda: bot_status(cluster, "silent")["phase"] == "ERROR")
    assert "no heartbeat" in bot_status(cluster, "silent")["lastError"]
    record = await eventually(lambda: next((n for n in notifications if n.bot == "silent"), None))
    assert (record.phase, record.account_id, record.seller) == ("ERROR", "42", "ivanov")
    assert "ошибкой" in record.text
    warning = await eventually(
        lambda: next(
            (e for e in events(cluster, "silent") if e["reason"] == "PhaseChanged" and e["type"] == "Warning"), None
        )
    )
    assert "ERROR" in warning["message"]


async def test_high_memory_is_reported_as_an_event(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    await create(cluster, "sellerbots", sellerbot("hungry", resources={"memoryLimit": "400Mi"}))
    await eventually(lambda: deployment(cluster, "hungry"))

    await patch(cluster, "sellerbots", "hungry", {"status": {"memoryBytes": 390 * 2**20}})

    event = await eventually(lambda: next((e for e in events(cluster, "hungry") if e["reason"] == "MemoryHigh"), None))
    assert event["type"] == "Warning"
    assert "390 MiB" in event["message"]
