"""The CR bodies the API and the worker write: valid against the CRDs, readable by the operator."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from wbsupply.control.kube_mirror import (
    AUTH_STATES,
    ControlPlaneSettings,
    bot_status_patch,
    build_seller_bot,
    build_supply_task,
    seller_bot_name,
    supply_task_name,
    task_status_patch,
)
from wbsupply.domain.statuses import BotStatus, BoxType, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTaskSpec
from wbsupply.operator.tasks import BotInfo, admit, to_domain
from wbsupply.store.auth import AuthState

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def _deploy_helpers() -> ModuleType:
    # The CRD-as-JSON-Schema logic lives with the deployment tests; reuse it rather than copy it.
    path = Path(__file__).resolve().parents[1] / "deploy" / "deploy_helpers.py"
    spec = importlib.util.spec_from_file_location("mirror_deploy_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate_custom = _deploy_helpers().validate_custom


def full_spec() -> SupplyTaskSpec:
    return SupplyTaskSpec(
        account_id="42", preorder_id=123456, draft_id="d-1", warehouses=[507, 120762], box_type=BoxType.BOXES,
        date_from=dt.date(2026, 12, 1), date_to=dt.date(2026, 12, 20), weekdays=frozenset({4, 0, 2}),
        skip_dates=frozenset({dt.date(2026, 12, 12), dt.date(2026, 12, 5)}), max_coefficient=1,
        max_logistics_coefficient=120, deadline=dt.datetime(2026, 12, 18, 21, 0, tzinfo=dt.UTC),
        max_storage_coefficient=150, min_days_ahead=2, skip_holidays=True, improve="both", max_moves=3,
        racers={"43": "d-2"},
    )


def test_names_are_dns_safe_and_stable() -> None:
    assert seller_bot_name(42) == "bot-42"
    assert supply_task_name(7) == "task-7"


@pytest.mark.parametrize(("limit", "plan"), [(0, Plan.START), (5, Plan.START), (7, Plan.START), (10, Plan.BASIC),
                                             (49, Plan.STANDARD), (500, Plan.ENTERPRISE), (10_000, Plan.ENTERPRISE)])
def test_tariff_never_allows_more_than_the_limit(limit: int, plan: Plan) -> None:
    assert Plan.for_limit(limit) is plan


@pytest.mark.parametrize("paused", [False, True])
def test_seller_bot_validates_and_names_its_account(paused: bool) -> None:
    body = build_seller_bot(42, 7, 25, namespace="sellers", paused=paused, supplier_id="s-1", restart="now")
    validate_custom(body)
    assert body["metadata"]["name"] == "bot-42"
    assert body["spec"]["wbAccountRef"] == {"accountId": "42", "supplierId": "s-1"}
    assert (body["spec"]["tariff"], body["spec"]["paused"], body["spec"]["seller"]) == ("standard", paused, "7")
    info = BotInfo.from_sellerbot(body["spec"], {})
    assert (info.account_id, info.plan) == ("42", Plan.STANDARD)


def test_supply_task_validates_and_round_trips_through_the_operator() -> None:
    spec = full_spec()
    body = build_supply_task(9, 42, spec, namespace="sellers")
    validate_custom(body)
    assert body["metadata"]["name"] == "task-9"
    assert body["spec"]["sellerBotRef"] == {"name": "bot-42"}
    assert body["spec"]["weekdays"] == [0, 2, 4]  # sorted: the same task always gives the same body
    assert body["spec"]["skipDates"] == ["2026-12-05", "2026-12-12"]
    assert to_domain(body["spec"]) == spec
    bot = BotInfo("42", Plan.STANDARD, 0)
    assert admit(body["spec"], None, bot, NOW).phase is TaskPhase.PENDING


def test_minimal_supply_task_omits_what_the_seller_left_out() -> None:
    spec = SupplyTaskSpec(account_id="3", draft_id="d", warehouses=[507], box_type=BoxType.QR,
                          lead_time_days=7)
    body = build_supply_task(1, 3, spec, namespace="ns")
    validate_custom(body)
    assert "preorderId" not in body["spec"] and "deadline" not in body["spec"]
    assert to_domain(body["spec"]) == spec


def _with_status(kind: str, status: dict[str, Any]) -> dict[str, Any]:
    if kind == "SellerBot":
        body = build_seller_bot(1, 1, 5, namespace="ns", paused=False)
    else:
        body = build_supply_task(1, 1, SupplyTaskSpec(account_id="1", draft_id="d", warehouses=[1],
                                                               box_type=BoxType.BOXES),
                                 namespace="ns")
    return body | {"status": {key: value for key, value in status.items() if value is not None}}


def test_bot_status_patches_validate() -> None:
    patch = bot_status_patch(status=BotStatus.ERROR, error="x" * 5000, heartbeat=NOW, memory_bytes=300 << 20,
                             pod="wbsupply-bot-bot-1-abc", auth_state="code_sent", auth_attempts=2,
                             bookings_this_month=3)
    validate_custom(_with_status("SellerBot", patch))
    assert patch["lastHeartbeat"] == "2026-11-26T09:00:00Z"
    assert (patch["authState"], len(patch["lastError"])) == ("CodeRequested", 4096)
    assert bot_status_patch(heartbeat=NOW) == {"lastHeartbeat": "2026-11-26T09:00:00Z"}
    assert bot_status_patch(status=BotStatus.ACTIVE, clear_error=True) == {"phase": "ACTIVE", "lastError": None}


def test_every_store_auth_state_has_a_crd_value() -> None:
    assert set(AUTH_STATES) == {state.value for state in AuthState}
    for state in AuthState:
        validate_custom(_with_status("SellerBot", bot_status_patch(auth_state=state.value)))


def test_task_status_patches_validate() -> None:
    booked = {"warehouseId": 507, "warehouseName": "Коледино", "date": "2026-12-03", "boxType": "boxes",
              "coefficient": 1}
    patch = task_status_patch(TaskPhase.BOOKED, "Забронировано", booked=booked, supply_id=987654)
    validate_custom(_with_status("SupplyTask", patch))
    assert patch["supplyID"] == "987654"
    for phase in TaskPhase:
        validate_custom(_with_status("SupplyTask", task_status_patch(phase, None)))


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WBSUPPLY_KUBE_NAMESPACE", raising=False)
    monkeypatch.setenv("WBSUPPLY_CONTROL_PLANE", "kubernetes")
    monkeypatch.setattr("wbsupply.control.kube_mirror.SA_NAMESPACE_FILE", tmp_path / "missing")
    settings = ControlPlaneSettings()
    assert (settings.control_plane, settings.namespace()) == ("kubernetes", "default")
    (tmp_path / "ns").write_text("sellers\n")
    monkeypatch.setattr("wbsupply.control.kube_mirror.SA_NAMESPACE_FILE", tmp_path / "ns")
    assert ControlPlaneSettings().namespace() == "sellers"  # the pod's own namespace
    monkeypatch.setenv("WBSUPPLY_KUBE_NAMESPACE", "other")
    assert ControlPlaneSettings().namespace() == "other"
    monkeypatch.setenv("WBSUPPLY_CONTROL_PLANE", "etcd")
    with pytest.raises(ValueError, match="control_plane"):
        ControlPlaneSettings()
