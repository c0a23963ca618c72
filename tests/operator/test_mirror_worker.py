"""The worker's MirroringControlPlane: database first, CR status after, a broken Kubernetes API changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import kmock
import pytest
import pytest_asyncio
from kubernetes import client as k8s_client
from operator_helpers import NAMESPACE, register_crds
from sqlalchemy import Engine

from wbsupply.control.base import ControlPlane
from wbsupply.control.kube_mirror import CustomResourceMirror
from wbsupply.control.local import LocalControlPlane
from wbsupply.control.mirroring import MirroringControlPlane, cluster_control_plane
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BotStatus, BoxType, TaskPhase
from wbsupply.kube.client import KubeClient
from wbsupply.store import SupplyTask, User, WbAccount, session_scope
from wbsupply.testkit import new_phone

BOTS = "wbsupply.io/v1alpha1/sellerbots"
TASKS = "wbsupply.io/v1alpha1/supplytasks"
UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused at once


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[kmock.KubernetesEmulator]:
    async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator):
        register_crds(emulator)
        yield emulator


def mirror_to(server: str) -> CustomResourceMirror:
    configuration = k8s_client.Configuration()
    configuration.host = server
    return CustomResourceMirror(KubeClient(configuration), NAMESPACE)


def seed(engine: Engine) -> tuple[User, WbAccount, SupplyTask]:
    with session_scope(engine) as session:
        user = User(email="seller@example.test", password_hash="x", plan_limit=10)
        session.add(user)
        session.flush()
        account = WbAccount(owner_id=user.id or 0, phone=new_phone())
        session.add(account)
        session.flush()
        spec = {"account_id": str(account.id), "draft_id": "d-1", "warehouses": [507], "box_type": "boxes",
                "lead_time_days": 7}
        task = SupplyTask(owner_id=user.id or 0, account_id=account.id or 0, spec=spec)
        session.add(task)
        session.flush()
        for row in (user, account, task):
            session.refresh(row)
            session.expunge(row)
    return user, account, task


def status(cluster: kmock.KubernetesEmulator, resource: str, name: str) -> dict[str, Any]:
    return dict(cluster.objects[resource, NAMESPACE, name].get("status") or {})


async def test_bot_and_task_status_reach_the_crs(cluster: kmock.KubernetesEmulator, engine: Engine) -> None:
    user, account, task = seed(engine)
    setup = mirror_to(str(cluster.url))
    await setup.apply_seller_bot(account, user)
    await setup.apply_supply_task(task)
    await setup.close()
    bot_id, bot = account.id or 0, f"bot-{account.id}"
    plane = MirroringControlPlane(LocalControlPlane(engine), mirror_to(str(cluster.url)), bot_id, bot,
                                  pod="wbsupply-bot-1-abc")
    try:
        await plane.set_bot_status(bot_id, BotStatus.WAITING_AUTH)
        await plane.set_auth(bot_id, "code_sent", {}, attempts=1)
        await plane.heartbeat(bot_id, memory_bytes=250 << 20)
        await plane.flush()
        got = status(cluster, BOTS, bot)
        assert (got["phase"], got["authState"], got["authAttempts"]) == ("WAITING_AUTH", "CodeRequested", 1)
        assert (got["memoryBytes"], got["pod"]) == (250 << 20, "wbsupply-bot-1-abc")
        assert dt.datetime.fromisoformat(got["lastHeartbeat"]) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)

        record = await plane.move_task(task.id or 0, TaskPhase.WATCHING, "Ищем слот")
        await plane.flush()
        got_task = status(cluster, TASKS, f"task-{task.id}")
        assert (got_task["phase"], got_task["message"]) == ("Watching", "Ищем слот")

        booking = await plane.reserve_booking(record, 10)
        assert booking is not None
        await plane.move_task(task.id or 0, TaskPhase.BOOKING)
        slot = Slot(SlotKey(507, dt.date(2026, 12, 3), BoxType.BOXES), 1, True, None, "Коледино")
        await plane.confirm_booking(booking, supply_id=987654, slot=slot)
        await plane.flush()
        got_task = status(cluster, TASKS, f"task-{task.id}")
        assert (got_task["phase"], got_task["supplyID"]) == ("Booked", "987654")
        assert got_task["bookedSlot"] == {"warehouseId": 507, "warehouseName": "Коледино", "date": "2026-12-03",
                                          "boxType": "boxes", "coefficient": 1}
        assert status(cluster, BOTS, bot)["bookingsThisMonth"] == 1  # what the operator's quota check reads
    finally:
        await plane.aclose()


async def test_a_broken_kubernetes_api_never_fails_the_bot(
    cluster: kmock.KubernetesEmulator, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _, account, task = seed(engine)
    bot_id = account.id or 0
    local = LocalControlPlane(engine)
    plane = MirroringControlPlane(local, mirror_to(UNREACHABLE), bot_id, f"bot-{bot_id}")
    try:
        with caplog.at_level(logging.WARNING, "wbsupply.control.mirroring"):
            await plane.set_bot_status(bot_id, BotStatus.ACTIVE)
            for _ in range(3):
                await plane.heartbeat(bot_id, memory_bytes=1)
            record = await plane.move_task(task.id or 0, TaskPhase.WATCHING)
            await plane.flush()
        assert record.phase is TaskPhase.WATCHING
        assert (await local.get_bot(bot_id)).status is BotStatus.ACTIVE  # the database has every change
        warnings = [record for record in caplog.records if "cannot write CR status" in record.message]
        assert len(warnings) == 1  # once per outage, not once per heartbeat
    finally:
        await plane.aclose()

    # The API answers 500 (and the CRs do not even exist): the calls return normally all the same.
    cluster["patch"] << 500
    plane = MirroringControlPlane(local, mirror_to(str(cluster.url)), bot_id, f"bot-{bot_id}")
    try:
        await plane.set_bot_status(bot_id, BotStatus.ERROR, error="boom")
        await plane.move_task(task.id or 0, TaskPhase.PENDING)
        await plane.flush()
        assert (await local.get_bot(bot_id)).status is BotStatus.ERROR
    finally:
        await plane.aclose()


INNER = cast(ControlPlane, object())  # never called: only the choice of plane is tested


def test_local_runtime_gets_the_plain_plane(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WBSUPPLY_CONTROL_PLANE", "WBSUPPLY_BOT_NAME", "WBSUPPLY_BOT_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    assert cluster_control_plane(INNER, 1, "1") is INNER


async def test_an_operator_started_pod_mirrors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # WBSUPPLY_BOT_NAME / _NAMESPACE / POD_NAME are what the operator's Deployment sets (operator.builders).
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
    )
    monkeypatch.delenv("WBSUPPLY_CONTROL_PLANE", raising=False)
    monkeypatch.setenv("WBSUPPLY_KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("WBSUPPLY_BOT_NAME", "ivanov-42")
    monkeypatch.setenv("WBSUPPLY_BOT_NAMESPACE", "sellers")
    monkeypatch.setenv("POD_NAME", "wbsupply-bot-ivanov-42-xyz")
    plane = cluster_control_plane(INNER, 42, "42")
    assert isinstance(plane, MirroringControlPlane)
    assert (plane.bot_name, plane.mirror.namespace, plane.pod) == ("ivanov-42", "sellers", "wbsupply-bot-ivanov-42-xyz")
    await plane.aclose()


class SlowMirror:
    """Stands in for CustomResourceMirror: holds every write until released, records what arrives."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.written: list[dict[str, Any]] = []
        self.namespace = NAMESPACE

    async def mirror_bot_status(self, bot_name: str, patch: dict[str, Any]) -> None:
        await self.release.wait()
        self.written.append(patch)

    async def close(self) -> None:
        pass


async def test_a_slow_api_keeps_only_the_newest_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wbsupply.control.mirroring.QUEUE_LIMIT", 2)
    mirror = SlowMirror()
    inner = cast(Any, type("Inner", (), {"heartbeat": staticmethod(lambda *a, **k: asyncio.sleep(0))})())
    plane = MirroringControlPlane(inner, cast(CustomResourceMirror, mirror), 1, "bot-1")
    for memory in range(6):  # returns at once although nothing was written yet
        await plane.heartbeat(1, memory_bytes=memory)
    mirror.release.set()
    await plane.aclose()
    assert [patch["memoryBytes"] for patch in mirror.written][-2:] == [4, 5]
    assert len(mirror.written) <= 3  # the one in flight and the newest two
