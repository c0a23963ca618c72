"""The API in the cluster: the database row first, then the SellerBot / SupplyTask CR; no CR, no change."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock
import pytest
from fastapi.testclient import TestClient
from kubernetes import client as k8s_client
from operator_helpers import NAMESPACE, register_crds
from sqlalchemy import Engine
from sqlmodel import select

from wbsupply.api.app import create_app
from wbsupply.api.logic import users
from wbsupply.config import Settings
from wbsupply.control.kube_mirror import ClusterTarget, MirrorError
from wbsupply.feed.memory import MemoryFeed
from wbsupply.process import ProcessContext
from wbsupply.store import SupplyTask, WbAccount, session_factory, session_scope
from wbsupply.testkit import new_phone

BOTS = "wbsupply.io/v1alpha1/sellerbots"
TASKS = "wbsupply.io/v1alpha1/supplytasks"
PASSWORD = "correct horse battery"
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def cluster() -> Iterator[kmock.KubernetesEmulator]:
    """The emulator on its own loop in a thread: the API's routes call Kubernetes from worker threads."""
    loop = asyncio.new_event_loop()
    ready, holder = threading.Event(), {}
    stop = asyncio.Event()

    async def serve() -> None:
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator):
            register_crds(emulator)
            holder["cluster"] = emulator
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield holder["cluster"]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def target(server: str) -> ClusterTarget:
    configuration = k8s_client.Configuration()
    configuration.host = server
    return ClusterTarget(configuration, NAMESPACE, timeout=5.0)


@pytest.fixture
def use_cluster(cluster: kmock.KubernetesEmulator, monkeypatch: pytest.MonkeyPatch) -> kmock.KubernetesEmulator:
    monkeypatch.setattr("wbsupply.api.logic.control._cluster", target(str(cluster.url)))
    return cluster


@pytest.fixture
def seller(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret_key="test-secret-key",
                        sandbox_enabled=False)
    app = create_app(ProcessContext(settings=settings, feed=MemoryFeed(1000), engine=engine))
    with session_factory(engine)() as session:
        users.create_user(session, "seller@example.com", PASSWORD, plan_limit=25)
    with TestClient(app) as client:
        response = client.post("/api/v1/auth/login", json={"email": "seller@example.com", "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.headers["x-csrf-token"] = client.cookies.get("wbsupply_csrf") or ""
        yield client


def task_body(account_id: int, **overrides: Any) -> dict[str, Any]:
    return {"account_id": account_id, "draft_id": "draft-1", "warehouses": [507, 117501], "box_type": "boxes",
            "lead_time_days": 7, "max_coefficient": 1, "mode": "book"} | overrides


def cr(cluster: kmock.KubernetesEmulator, resource: str, name: str) -> dict[str, Any]:
    return dict(cluster.objects[resource, NAMESPACE, name].raw)


def exists(cluster: kmock.KubernetesEmulator, resource: str, name: str) -> bool:
    try:
        return not cluster.objects[resource, NAMESPACE, name].deleted
    except KeyError:
        return False


def count(engine: Engine, model: Any) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(model)).all())


def test_account_and_task_changes_reach_their_crs(use_cluster: kmock.KubernetesEmulator, seller: TestClient) -> None:
    cluster = use_cluster
    response = seller.post("/api/v1/wb-accounts", json={"phone": new_phone()})
    assert response.status_code == 201, response.text
    account_id = response.json()["id"]
    bot = cr(cluster, BOTS, f"bot-{account_id}")
    assert bot["spec"]["wbAccountRef"] == {"accountId": str(account_id)}
    assert (bot["spec"]["tariff"], bot["spec"]["paused"]) == ("standard", False)

    response = seller.post("/api/v1/tasks", json=task_body(account_id))
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    task = cr(cluster, TASKS, f"task-{task_id}")
    assert task["spec"]["sellerBotRef"] == {"name": f"bot-{account_id}"}
    assert (task["spec"]["accountId"], task["spec"]["warehouses"]) == (str(account_id), [507, 117501])
    assert (task["spec"]["draftId"], task["spec"]["maxCoefficient"], task["spec"]["boxType"]) == ("draft-1", 1, "boxes")

    assert seller.patch(f"/api/v1/tasks/{task_id}", json={"max_coefficient": 3}).status_code == 200
    assert cr(cluster, TASKS, f"task-{task_id}")["spec"]["maxCoefficient"] == 3

    assert seller.post(f"/api/v1/tasks/{task_id}/pause").status_code == 200
    task = cr(cluster, TASKS, f"task-{task_id}")
    assert (task["spec"]["paused"], task["spec"]["seller"], task["status"]["phase"]) == (True, "1", "Pending")
    assert seller.post(f"/api/v1/tasks/{task_id}/resume").json()["paused"] is False
    assert cr(cluster, TASKS, f"task-{task_id}")["spec"]["paused"] is False
    assert seller.post(f"/api/v1/tasks/{task_id}/cancel").status_code == 200
    assert not exists(cluster, TASKS, f"task-{task_id}")  # cancelled: nothing left for the operator
    assert seller.get(f"/api/v1/tasks/{task_id}").json()["phase"] == "Cancelled"  # the row stays as history
    other = seller.post("/api/v1/tasks", json=task_body(account_id, draft_id="draft-9")).json()["id"]
    assert exists(cluster, TASKS, f"task-{other}")
    assert seller.delete(f"/api/v1/tasks/{other}").status_code == 204
    assert not exists(cluster, TASKS, f"task-{other}")
    assert seller.get(f"/api/v1/tasks/{other}").status_code == 404

    assert seller.post(f"/api/v1/wb-accounts/{account_id}/disconnect").status_code == 200
    assert cr(cluster, BOTS, f"bot-{account_id}")["spec"]["paused"] is True  # the operator scales the worker to 0


def test_kubernetes_down_leaves_the_database_as_it_was(
    use_cluster: kmock.KubernetesEmulator, seller: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wbsupply.api.logic.control._cluster", target(UNREACHABLE))
    phone = new_phone()
    response = seller.post("/api/v1/wb-accounts", json={"phone": phone})
    assert (response.status_code, count(engine, WbAccount)) == (503, 0)  # no account without its SellerBot

    monkeypatch.setattr("wbsupply.api.logic.control._cluster", target(str(use_cluster.url)))
    response = seller.post("/api/v1/wb-accounts", json={"phone": phone})
    account_id = response.json()["id"]
    task_id = seller.post("/api/v1/tasks", json=task_body(account_id)).json()["id"]
    tasks_before, accounts_before = count(engine, SupplyTask), count(engine, WbAccount)

    monkeypatch.setattr("wbsupply.api.logic.control._cluster", target(UNREACHABLE))
    response = seller.post("/api/v1/tasks", json=task_body(account_id, draft_id="draft-2"))  # one draft, one task
    assert response.status_code == 503
    assert response.json()["detail"] == MirrorError.message_ru
    assert count(engine, SupplyTask) == tasks_before  # the new row was taken back

    response = seller.patch(f"/api/v1/tasks/{task_id}", json={"max_coefficient": 5})
    assert response.status_code == 503
    assert seller.get(f"/api/v1/tasks/{task_id}").json()["spec"]["max_coefficient"] == 1
    assert seller.post(f"/api/v1/tasks/{task_id}/cancel").status_code == 503
    assert seller.get(f"/api/v1/tasks/{task_id}").json()["phase"] == "Pending"

    assert seller.post(f"/api/v1/wb-accounts/{account_id}/disconnect").status_code == 503
    assert seller.get(f"/api/v1/wb-accounts/{account_id}").json()["status"] != "STOPPED"
    assert count(engine, WbAccount) == accounts_before


def test_embedded_runtime_writes_no_crs(seller: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wbsupply.api.logic.control._cluster", None)
    account_id = seller.post("/api/v1/wb-accounts", json={"phone": new_phone()}).json()["id"]
    assert seller.post("/api/v1/tasks", json=task_body(account_id)).status_code == 201
