"""The whole operator (kopf + our handlers) in-process against kmock's Kubernetes emulator.

The emulator has no controllers, garbage collector or schema validation (see tests/deploy for the
schemas); objects are created with a uid and resourceVersion because it assigns neither.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import kmock
from conftest import NAMESPACE, FakeClock, eventually

from wbsupply.domain.schedule import restart_moment
from wbsupply.operator.names import ANNOTATION_RESTART_REQUEST, ANNOTATION_RESTARTED_AT, LABEL_BOT, worker_name
from wbsupply.operator.settings import OperatorConfig

BOTS = "wbsupply.io/v1alpha1/sellerbots"
TASKS = "wbsupply.io/v1alpha1/supplytasks"
DEPLOYMENTS = "apps/v1/deployments"
BASE = f"/apis/wbsupply.io/v1alpha1/namespaces/{NAMESPACE}"


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    created = "2026-11-26T08:00:00Z"  # an hour before the test clock: no restart missed yet
    return {"name": name, "namespace": NAMESPACE, "uid": str(uuid.uuid4()), "resourceVersion": "1",
            "creationTimestamp": created, "generation": 1} | extra


def sellerbot(name: str = "ivanov-42", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "wbsupply.io/v1alpha1",
        "kind": "SellerBot",
        "metadata": _meta(name),
        "spec": {
            "seller": "ivanov",
            "wbAccountRef": {"accountId": "42"},
            "sessionSecretRef": {"name": "wb-session-42"},
            "tariff": "start",
        }
        | spec,
    }


def supplytask(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "wbsupply.io/v1alpha1",
        "kind": "SupplyTask",
        "metadata": _meta(name),
        "spec": {
            "sellerBotRef": {"name": "ivanov-42"},
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


def deployment(cluster: kmock.KubernetesEmulator, bot: str = "ivanov-42") -> Any:
    return cluster.objects[DEPLOYMENTS, NAMESPACE, worker_name(bot)]


def restarted_at(cluster: kmock.KubernetesEmulator) -> str | None:
    annotations = deployment(cluster)["spec"]["template"]["metadata"].get("annotations") or {}
    return annotations.get(ANNOTATION_RESTARTED_AT)


async def test_sellerbot_gets_an_owned_worker(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    bot = sellerbot()
    await create(cluster, "sellerbots", bot)

    await eventually(lambda: deployment(cluster))
    dep = deployment(cluster)
    owner = dep["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("SellerBot", "ivanov-42", bot["metadata"]["uid"])
    assert owner["controller"] is True
    assert dep["spec"]["replicas"] == 1
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "wbsupply/worker:test"
    assert container["command"] == ["wbsupply", "worker", "--bot", "ivanov-42"]
    for kind in ("v1/serviceaccounts", "rbac.authorization.k8s.io/v1/roles",
                 "rbac.authorization.k8s.io/v1/rolebindings"):
        child = cluster.objects[kind, NAMESPACE, worker_name("ivanov-42")]
        assert child["metadata"]["ownerReferences"][0]["uid"] == bot["metadata"]["uid"]
    status = await eventually(lambda: cluster.objects[BOTS, NAMESPACE, "ivanov-42"]["status"].get("phase"))
    assert status == "INITIALIZING"


async def test_pause_scales_the_worker_to_zero(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    await create(cluster, "sellerbots", sellerbot())
    await eventually(lambda: deployment(cluster)["spec"]["replicas"] == 1)

    await patch(cluster, "sellerbots", "ivanov-42", {"spec": {"paused": True}})

    await eventually(lambda: deployment(cluster)["spec"]["replicas"] == 0)
    await eventually(lambda: cluster.objects[BOTS, NAMESPACE, "ivanov-42"]["status"]["phase"] == "STOPPED")


async def test_restart_window_rolls_the_worker(
    cluster: kmock.KubernetesEmulator, operator: OperatorConfig, clock: FakeClock
) -> None:
    await create(cluster, "sellerbots", sellerbot())
    await eventually(lambda: deployment(cluster))
    assert restarted_at(cluster) is None  # 12:00 Moscow: not due

    moment = restart_moment(datetime.date(2026, 11, 27), "ivanov-42")
    clock.now = moment + datetime.timedelta(seconds=1)

    stamp = await eventually(lambda: restarted_at(cluster))
    assert datetime.datetime.fromisoformat(stamp) == clock.now.replace(microsecond=0)
    await eventually(lambda: cluster.objects[BOTS, NAMESPACE, "ivanov-42"]["status"].get("lastRestart"))

    # Once restarted, the same window does not restart it again.
    clock.now += datetime.timedelta(minutes=5)
    await eventually(lambda: True, timeout=1)
    assert restarted_at(cluster) == stamp


async def test_restart_on_request(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    await create(cluster, "sellerbots", sellerbot())
    await eventually(lambda: deployment(cluster))

    await patch(cluster, "sellerbots", "ivanov-42", {"metadata": {"annotations": {ANNOTATION_RESTART_REQUEST: "1"}}})

    await eventually(lambda: restarted_at(cluster))
    await eventually(lambda: cluster.objects[BOTS, NAMESPACE, "ivanov-42"]["status"]["lastRestartRequest"] == "1")


async def test_task_with_a_bad_spec_is_rejected(cluster: kmock.KubernetesEmulator, operator: OperatorConfig) -> None:
    await create(cluster, "sellerbots", sellerbot())
    await create(cluster, "supplytasks", supplytask("bad", warehouses=[507, 507], preorderId=None))

    status = await eventually(lambda: cluster.objects[TASKS, NAMESPACE, "bad"]["status"].get("phase") and
                              cluster.objects[TASKS, NAMESPACE, "bad"]["status"])
    assert status["phase"] == "Failed"
    assert "дважды" in status["message"]


async def test_task_is_assigned_and_quota_is_enforced(
    cluster: kmock.KubernetesEmulator, operator: OperatorConfig
) -> None:
    await create(cluster, "sellerbots", sellerbot())
    await create(cluster, "supplytasks", supplytask("first"))
    await eventually(lambda: cluster.objects[TASKS, NAMESPACE, "first"]["status"]["phase"] == "Pending")
    assert cluster.objects[TASKS, NAMESPACE, "first"]["metadata"]["labels"][LABEL_BOT] == "ivanov-42"

    # The worker reports the month's bookings; tariff "start" allows 5.
    await patch(cluster, "sellerbots", "ivanov-42", {"status": {"bookingsThisMonth": 5}})
    # The timer applies the limit to the pending task; a new task is refused at once.
    await eventually(lambda: cluster.objects[TASKS, NAMESPACE, "first"]["status"]["phase"] == "QuotaExceeded")
    await create(cluster, "supplytasks", supplytask("second"))

    status = await eventually(lambda: cluster.objects[TASKS, NAMESPACE, "second"]["status"].get("phase") and
                              cluster.objects[TASKS, NAMESPACE, "second"]["status"])
    assert status["phase"] == "QuotaExceeded"
    assert "5 бронирований" in status["message"]
