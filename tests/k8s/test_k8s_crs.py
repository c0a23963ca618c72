"""SellerBot and SupplyTask as the operators' interface, both ways, against the real control plane.

The README's kubectl walkthrough ends in the seller's cabinet; kubectl's pause, the operator's Expired and an
admin's block reach the cabinet or the SellerBots; the cabinet's delete and cancel reach the SupplyTasks; an
object naming no valid seller is refused; drift made behind the product's back is repaired by one resync,
logged and counted in the operator's /metrics; the walkthrough's bot, its worker run here with the bot's token,
books when a slot opens in the sandbox. The tests share one release (see conftest) and run in order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from e2e_helpers import EXAMPLE_SELLER, Release, admin_client, api_client, events_of, example
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from wbsupply.config import Settings
from wbsupply.domain.slots import Slot, SlotEvent, SlotEventKind, SlotKey
from wbsupply.domain.statuses import BoxType
from wbsupply.feed.redis import RedisFeed
from wbsupply.kube.names import worker_name
from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import RunningSandbox, run_sandbox_in_thread
from wbsupply.store.engine import make_engine
from wbsupply.testkit import free_port, fresh_preorder, fresh_seller, wait_until

BOT = "ivanov-42"
WAREHOUSE = 507
TASK = "ivanov-42-preorder-123456"


@pytest.fixture(scope="module")
def cabinet(release: Release) -> Iterator[httpx.Client]:
    """The example seller's JSON API (what the cabinet's pages show, as JSON)."""
    with api_client(release, *EXAMPLE_SELLER) as client:
        yield client


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """A frozen WB sandbox on real time (the test opens the slot); the local worker books in it."""
    running = run_sandbox_in_thread(SandboxConfig(seed=7, pow_difficulty=8, simulation=SimulationConfig.frozen(),
                                                  background_steps=False))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def database(release: Release) -> Iterator[Engine]:
    engine = make_engine(release.database_url)
    yield engine
    engine.dispose()


def _dates(**spec: Any) -> dict[str, Any]:
    """The example task's spec with dates from today on, so that the example stays valid whatever the day."""
    today = dt.datetime.now(dt.UTC).date()
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(days=18)
    return {"dateFrom": today.isoformat(), "dateTo": (today + dt.timedelta(days=20)).isoformat(), "skipDates": [],
            "deadline": deadline.strftime("%Y-%m-%dT%H:%M:%SZ")} | spec


def _status(release: Release, kind: str, name: str) -> dict[str, Any]:
    return (release.get(kind, name) or {}).get("status") or {}


def _condition(release: Release, kind: str, name: str, kind_of: str = "SellerAccepted") -> dict[str, Any]:
    return next((c for c in _status(release, kind, name).get("conditions") or [] if c["type"] == kind_of), {})


def _task_in_cabinet(cabinet: httpx.Client, **fields: Any) -> dict[str, Any]:
    tasks = cabinet.get("/tasks")
    assert tasks.status_code == 200, tasks.text
    for task in tasks.json():
        if all(task["spec"].get(key) == value for key, value in fields.items()):
            return dict(task)
    raise AssertionError(f"no task with {fields} in the cabinet: {tasks.json()}")


def _repairs(release: Release) -> dict[tuple[str, str], float]:
    text = httpx.get(release.operator_metrics_url, timeout=5).text
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "wbsupply_operator_resync_repairs_total":
                counts[(sample.labels["kind"], sample.labels["direction"])] = sample.value
    return counts


# --- the README walkthrough --------------------------------------------------------------------------------


def test_readme_walkthrough_ends_with_the_task_in_the_sellers_cabinet(release: Release,
                                                                     cabinet: httpx.Client) -> None:
    release.apply(example("sellerbot", release.namespace))
    release.apply(example("supplytask", release.namespace, **_dates()))
    assert wait_until(lambda: _condition(release, "sellerbot", BOT).get("status") == "True", 30, "bot accepted")
    wait_until(lambda: release.get("deployment", worker_name(BOT)), 30, "its worker Deployment")
    accounts = wait_until(lambda: [a for a in cabinet.get("/wb-accounts").json()["accounts"] if a["id"] == 42], 30,
                          "account 42 in the cabinet")
    assert accounts[0]["id"] == 42
    task = wait_until(lambda: _task_in_cabinet(cabinet, preorder_id=123456), 30, "the task in the cabinet")
    assert (task["account_id"], task["phase"], task["paused"]) == (42, "Pending", False)
    assert sorted(w["id"] for w in task["warehouses"]) == [507, 120762]
    assert wait_until(lambda: _condition(release, "supplytask", TASK).get("status") == "True", 30)
    # kubectl get shows who owns it
    line = next(line for line in release.kubectl("get", "sb").stdout.splitlines() if line.startswith(BOT))
    assert EXAMPLE_SELLER[0] in line


def test_an_object_naming_no_valid_seller_is_refused_with_a_condition(release: Release) -> None:
    stranger = example("sellerbot", release.namespace, name="stranger-77", seller="nobody@shop.example")
    stranger["spec"]["wbAccountRef"]["accountId"] = "77"
    release.apply(stranger)
    condition = wait_until(lambda: _condition(release, "sellerbot", "stranger-77"), 30, "SellerAccepted")
    assert (condition["status"], condition["reason"]) == ("False", "UnknownSeller")
    assert "nobody@shop.example" in condition["message"]
    assert wait_until(lambda: any(e["reason"] == "UnknownSeller" for e in events_of(release, "stranger-77")), 30)
    assert release.get("deployment", worker_name("stranger-77")) is None  # no worker for a bot nobody owns
    # Someone else's WB account: the same refusal, another reason.
    thief = example("sellerbot", release.namespace, name="thief-42")
    thief["spec"]["seller"] = "1"  # the first admin, not the owner of account 42
    release.apply(thief)
    condition = wait_until(lambda: _condition(release, "sellerbot", "thief-42"), 30, "SellerAccepted")
    assert (condition["status"], condition["reason"]) == ("False", "ForeignAccount")
    task = example("supplytask", release.namespace, name="orphan-task", seller="nobody@shop.example", **_dates())
    release.apply(task)
    assert wait_until(lambda: _status(release, "supplytask", "orphan-task").get("phase") == "Failed", 30)
    assert _condition(release, "supplytask", "orphan-task")["reason"] == "UnknownSeller"
    release.kubectl("delete", "sellerbot", "stranger-77", "thief-42")
    release.kubectl("delete", "supplytask", "orphan-task")


# --- kubectl → cabinet --------------------------------------------------------------------------------------


def test_kubectl_pause_shows_paused_in_the_cabinet_and_the_cabinet_resumes_the_supplytask(
        release: Release, cabinet: httpx.Client) -> None:
    release.kubectl("patch", "supplytask", TASK, "--type", "merge", "-p", '{"spec": {"paused": true}}')
    task = wait_until(lambda: (t := _task_in_cabinet(cabinet, preorder_id=123456))["paused"] and t, 30, "paused")
    assert (task["phase"], task["phase_label"]) == ("Pending", "Приостановлена")
    # the handler, the re-check or the resync copied it, whichever came first: each says so in an Event
    assert wait_until(lambda: any(e["reason"] in ("DatabaseUpdated", "DriftRepaired") and "paused" in e["message"]
                                  for e in events_of(release, TASK)), 30, "an Event for the pause")
    resumed = cabinet.post(f"/tasks/{task['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False, resumed.text
    assert release.get("supplytask", TASK)["spec"]["paused"] is False  # the cabinet wrote the SupplyTask


def test_the_operator_marking_a_task_expired_shows_in_the_cabinet(release: Release, cabinet: httpx.Client) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
    body = example("supplytask", release.namespace, name="ivanov-42-soon", preorderId=654321,
                   **_dates(deadline=soon.strftime("%Y-%m-%dT%H:%M:%SZ")))
    release.apply(body)
    task = wait_until(lambda: _task_in_cabinet(cabinet, preorder_id=654321), 30, "the task in the cabinet")
    assert task["phase"] == "Pending"
    expired = wait_until(lambda: (t := _task_in_cabinet(cabinet, preorder_id=654321))["phase"] == "Expired" and t,
                         60, "Expired in the cabinet")
    assert expired["message"] == "Срок задачи истёк" and expired["is_final"]
    assert _status(release, "supplytask", "ivanov-42-soon")["phase"] == "Expired"
    assert any(e["reason"] == "TaskExpired" for e in events_of(release, "ivanov-42-soon"))


# --- admin panel and cabinet → custom resources ------------------------------------------------------------


def test_blocking_a_seller_pauses_its_sellerbots_and_unblocking_resumes_them(release: Release) -> None:
    with admin_client(release) as admin:
        seller = next(u for u in admin.get("/admin/users").json() if u["email"] == EXAMPLE_SELLER[0])
        assert admin.patch(f"/admin/users/{seller['id']}", json={"active": False}).status_code == 200
        assert wait_until(lambda: release.get("sellerbot", BOT)["spec"]["paused"] is True, 30, "paused")
        assert wait_until(lambda: release.get("deployment", worker_name(BOT))["spec"]["replicas"] == 0, 30)
        assert wait_until(lambda: _status(release, "sellerbot", BOT).get("phase") == "STOPPED", 30)
        assert admin.patch(f"/admin/users/{seller['id']}", json={"active": True}).status_code == 200
        assert wait_until(lambda: release.get("sellerbot", BOT)["spec"]["paused"] is False, 30, "resumed")
        # A plan change reaches the SellerBot too.
        assert admin.patch(f"/admin/users/{seller['id']}", json={"plan_limit": 50}).status_code == 200
        assert wait_until(lambda: release.get("sellerbot", BOT)["spec"]["tariff"] == "business", 30, "tariff")
        assert admin.patch(f"/admin/users/{seller['id']}", json={"plan_limit": 25}).status_code == 200
        assert wait_until(lambda: release.get("sellerbot", BOT)["spec"]["tariff"] == "standard", 30, "tariff")


def test_deleting_or_cancelling_a_task_in_the_cabinet_deletes_its_supplytask(release: Release,
                                                                              cabinet: httpx.Client) -> None:
    task = _task_in_cabinet(cabinet, preorder_id=123456)
    assert cabinet.delete(f"/tasks/{task['id']}").status_code == 204
    gone = release.get("supplytask", TASK)  # deletion was requested before the answer
    assert gone is None or gone["metadata"].get("deletionTimestamp"), gone
    wait_until(lambda: release.get("supplytask", TASK) is None, 30, "the SupplyTask gone")
    assert cabinet.get(f"/tasks/{task['id']}").status_code == 404
    assert not [t for t in cabinet.get("/tasks").json() if t["spec"].get("preorder_id") == 123456]  # no ghost
    spec = {"account_id": 42, "preorder_id": 777001, "warehouses": [507], "box_type": "boxes",
            "max_coefficient": 0}
    created = cabinet.post("/tasks", json=spec)
    assert created.status_code == 201, created.text
    name = f"task-{created.json()['id']}"
    body = release.get("supplytask", name)
    assert (body["spec"]["seller"], body["spec"]["sellerBotRef"]["name"], body["spec"]["paused"]) == (
        str(task_owner(cabinet)), BOT, False)
    assert cabinet.post(f"/tasks/{created.json()['id']}/cancel").json()["phase"] == "Cancelled"
    wait_until(lambda: release.get("supplytask", name) is None, 30, "the cancelled task's SupplyTask gone")


def task_owner(cabinet: httpx.Client) -> int:
    return int(cabinet.get("/me").json()["id"])


# --- drift ---------------------------------------------------------------------------------------------------


def test_one_resync_repairs_drift_made_behind_the_products_back(release: Release, cabinet: httpx.Client,
                                                               database: Engine) -> None:
    release.apply(example("supplytask", release.namespace, name="ivanov-42-drift", preorderId=888001, **_dates()))
    wait_until(lambda: _task_in_cabinet(cabinet, preorder_id=888001), 30, "the task in the cabinet")
    before = wait_until(lambda: _repairs(release) or {("none", "none"): 0.0}, 30, "/metrics")
    with database.begin() as connection:  # the database: paused behind the SupplyTask's back
        changed = connection.execute(sa.text("UPDATE supply_tasks SET paused = true WHERE cr_name = :name"),
                                     {"name": "ivanov-42-drift"}).rowcount
    assert changed == 1
    # the custom resource: a tariff the seller's plan (25 a month: standard) does not give
    release.kubectl("patch", "sellerbot", BOT, "--type", "merge", "-p", '{"spec": {"tariff": "enterprise"}}')

    def agree() -> bool:
        with database.connect() as connection:
            paused = connection.execute(sa.text("SELECT paused FROM supply_tasks WHERE cr_name = :name"),
                                        {"name": "ivanov-42-drift"}).scalar_one()
        return not paused and release.get("sellerbot", BOT)["spec"]["tariff"] == "standard"

    wait_until(agree, 30, "database and custom resources agree again")

    def counted() -> bool:
        after = _repairs(release)
        return (after.get(("SupplyTask", "cr->db"), 0) >= before.get(("SupplyTask", "cr->db"), 0) + 1
                and after.get(("SellerBot", "db->cr"), 0) >= before.get(("SellerBot", "db->cr"), 0) + 1)

    wait_until(counted, 30, "both repairs counted in /metrics")
    log = release.processes["operator"].output()
    assert "resync repaired SupplyTask ivanov-42-drift (cr->db)" in log
    assert f"resync repaired SellerBot {BOT} (db->cr)" in log


# --- the walkthrough's end: a booking (last: its worker works on every task of the bot) ------------------


def test_readme_walkthrough_books_when_a_slot_opens_in_the_sandbox(release: Release, cabinet: httpx.Client,
                                                                  sandbox: RunningSandbox) -> None:
    """The bot's worker runs here with its SellerBot's token (on kwok the pod is not a process): the seller logs
    in through the cabinet, a SupplyTask for one of the sandbox seller's preorders is applied, a slot opens."""
    market = sandbox.market
    seller = fresh_seller(market)
    phone = seller.phone
    preorder = int(fresh_preorder(market, seller, WAREHOUSE, BoxType.BOXES).id)
    kubeconfig = release.token_kubeconfig(worker_name(BOT))
    worker = release.start("worker", ["worker", "--bot", BOT], {
        "WBSUPPLY_WB_ACCOUNT_ID": "42", "WBSUPPLY_BOT_NAME": BOT, "WBSUPPLY_BOT_NAMESPACE": release.namespace,
        "WBSUPPLY_KUBECONFIG": str(kubeconfig), "WBSUPPLY_HEALTH_PORT": str(free_port()),
        "WBSUPPLY_WB_CABINET_URL": sandbox.url, "WBSUPPLY_WB_SUPPLIES_API_URL": sandbox.url,
        "WBSUPPLY_WB_API_URL": sandbox.url,
        "WBSUPPLY_BROWSER_EXECUTABLE": str(Settings().resolved_browser_executable()),
    }, env_of="api")
    try:
        def auth_state() -> str:
            assert worker.alive(), worker.output()[-3000:]
            return str(cabinet.get("/wb-accounts/42").json()["auth_state"])

        wait_until(lambda: auth_state() == "need_phone", 120, "the worker asks for the phone")
        assert cabinet.put("/wb-accounts/42/api-token", json={"token": seller.api_token}).status_code == 200
        assert cabinet.post("/wb-accounts/42/auth", json={"kind": "phone", "value": phone}).status_code == 200
        wait_until(lambda: auth_state() == "code_sent", 60, "code sent")
        code = market.inbox(phone)[0].code
        assert cabinet.post("/wb-accounts/42/auth", json={"kind": "code", "value": code}).status_code == 200
        wait_until(lambda: cabinet.get("/wb-accounts/42").json()["status"] == "ACTIVE", 60, "bot ACTIVE")
        day = market.clock.today_msk() + dt.timedelta(days=4)
        release.apply(example("supplytask", release.namespace, name="ivanov-42-sandbox", preorderId=preorder,
                              warehouses=[WAREHOUSE], weekdays=[0, 1, 2, 3, 4, 5, 6], **_dates()))
        wait_until(lambda: _task_in_cabinet(cabinet, preorder_id=preorder)["phase"] == "Watching", 60, "Watching")
        market.open_slot(WAREHOUSE, day, BoxType.BOXES, coefficient=0, capacity=2)
        slot = Slot(SlotKey(WAREHOUSE, day, BoxType.BOXES), 0, True, None, "Коледино")
        asyncio.run(_publish(release, SlotEvent(SlotEventKind.OPENED, slot, None, dt.datetime.now(dt.UTC)).to_dict()))
        booked = wait_until(lambda: (t := _task_in_cabinet(cabinet, preorder_id=preorder))["phase"] == "Booked"
                            and t, 120, "Booked in the cabinet")
        assert booked["booked"]["date"] == day.isoformat()
        status = wait_until(lambda: _status(release, "supplytask", "ivanov-42-sandbox").get("phase") == "Booked"
                            and _status(release, "supplytask", "ivanov-42-sandbox"), 30, "Booked on the SupplyTask")
        assert status["bookedSlot"]["warehouseId"] == WAREHOUSE
        assert wait_until(lambda: _status(release, "sellerbot", BOT).get("lastBookingAt"), 30, "last booking")
    finally:
        worker.stop()


async def _publish(release: Release, event: dict[str, Any]) -> None:
    feed = RedisFeed(release.chart_env("api")["WBSUPPLY_REDIS_URL"])
    await feed.publish([event])
