"""``/sandbox/faults``: plan/add fails before or after booking, times out, answers slowly, loses to a
competitor or to the seller's own hand; plan/update fails before or after moving, times out, or moves and
leaves WB unable to tell for a while (``blind``); every plan/add and plan/update call is on record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox import pow
from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.testkit import fresh_seller, wait_until
from wbsupply.wb import cabinet_spec as spec


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(seed=7, pow_difficulty=4, simulation=SimulationConfig.frozen(), background_steps=False)


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as http:
        yield http


def rpc(client: httpx.Client, method: str, params: dict[str, Any], captcha: bool = False) -> httpx.Response:
    headers = {}
    if captcha:
        challenge = client.post(spec.rpc_path(spec.RPC_CAPTCHA_CHALLENGE), json={"jsonrpc": "2.0", "id": 1}).json()
        found = challenge["result"]
        headers[spec.CAPTCHA_HEADER] = pow.make_token(found["challenge"], pow.solve(found["challenge"],
                                                                                    found["difficulty"]))
    return client.post(spec.rpc_path(method), json={"jsonrpc": "2.0", "id": 2, "params": params}, headers=headers)


def setup(client: httpx.Client, sandbox: RunningSandbox) -> tuple[Any, int, list[int], date]:
    market = sandbox.market
    seller = fresh_seller(market)
    client.post(spec.LOGIN_PHONE_PATH, data={"phone": seller.phone})
    client.post(spec.LOGIN_CODE_PATH, data={"phone": seller.phone, "code": market.inbox()[0].code})
    supplier = seller.suppliers[0].id
    day = market.clock.today_msk() + timedelta(days=3)
    market.open_slot(507, day, BoxType.BOXES, capacity=5)
    draft = market.create_draft(supplier, [("2040000000017", 3)])
    preorders = [market.create_preorder(supplier, draft.id, 507, BoxType.BOXES).id for _ in range(6)]
    return market, supplier, preorders, day


def plan(client: httpx.Client, preorder: int, day: date) -> httpx.Response:
    return rpc(client, spec.RPC_PLAN_ADD, {"preorderID": preorder, "deliveryDate": day.isoformat()}, captcha=True)


def test_every_fault_of_plan_add(client: httpx.Client, sandbox: RunningSandbox) -> None:
    market, supplier, preorders, day = setup(client, sandbox)
    assert client.post("/sandbox/faults", json={"kind": "nonsense"}).status_code == 422
    armed = client.post("/sandbox/faults", json={"kind": "fail_before", "supplier_id": supplier})
    assert armed.status_code == 201 and armed.json()["count"] == 1

    failed = plan(client, preorders[0], day)
    assert failed.status_code == 500 and market.preorder(supplier, preorders[0]).status_id == 1

    client.post("/sandbox/faults", json={"kind": "fail_after"})
    lost = plan(client, preorders[1], day)
    assert (lost.status_code, lost.content) == (502, b"")  # the answer is lost...
    assert market.preorder(supplier, preorders[1]).status_id == 2  # ...but WB booked

    client.post("/sandbox/faults", json={"kind": "timeout", "delay_s": 1.5})
    with pytest.raises(httpx.ReadTimeout):
        client.post(spec.rpc_path(spec.RPC_PLAN_ADD), timeout=0.5, headers=_captcha(client),
                    json={"jsonrpc": "2.0", "id": 9, "params": {"preorderID": preorders[2],
                                                                "deliveryDate": day.isoformat()}})
    assert market.preorder(supplier, preorders[2]).status_id == 2

    client.post("/sandbox/faults", json={"kind": "slow", "delay_s": 0.3})
    assert plan(client, preorders[3], day).json()["result"]["statusID"] == 2

    client.post("/sandbox/faults", json={"kind": "seller_first"})
    refused = plan(client, preorders[4], day).json()
    assert refused["error"]["code"] == spec.RPC_ERR_REFUSED
    by_hand = market.preorder(supplier, preorders[4])
    assert (by_hand.status_id, by_hand.supply_date) == (2, day + timedelta(days=1))

    client.post("/sandbox/faults", json={"kind": "competitor"})
    taken = plan(client, preorders[5], day).json()
    assert taken["error"]["code"] == spec.RPC_ERR_SLOT_UNAVAILABLE and not market.slot(507, day, BoxType.BOXES).is_open

    again = plan(client, preorders[1], day).json()  # a second plan/add of a planned preorder is on record
    assert again["error"]["code"] == spec.RPC_ERR_REFUSED
    record = client.get("/sandbox/faults").json()
    assert record["armed"] == []
    assert [(c["fault"], c["outcome"], c["already_planned"]) for c in record["plan_calls"]] == [
        ("fail_before", "failed", False), ("fail_after", "booked", False), ("timeout", "booked", False),
        ("slow", "booked", False), ("seller_first", "refused", False), ("competitor", "slot_unavailable", False),
        (None, "refused", True)]
    assert [b.by_hand for b in market.bookings()] == [False, False, False, True]


def test_faults_of_plan_update_and_a_blind_wb(client: httpx.Client, sandbox: RunningSandbox) -> None:
    market, supplier, preorders, day = setup(client, sandbox)
    later = day + timedelta(days=2)
    market.open_slot(507, later, BoxType.BOXES, capacity=5)
    preorder = preorders[0]
    assert plan(client, preorder, day).json()["result"]["statusID"] == 2
    supply_id = market.preorder(supplier, preorder).supply_id

    def move(to: date) -> httpx.Response:
        return rpc(client, spec.RPC_PLAN_UPDATE, {"preorderID": preorder, "deliveryDate": to.isoformat()},
                   captcha=True)

    assert client.post("/sandbox/faults", json={"kind": "competitor", "method": "plan/update"}).status_code == 422
    assert client.post("/sandbox/faults", json={"kind": "slow", "method": "plan/remove"}).status_code == 422

    client.post("/sandbox/faults", json={"kind": "fail_before", "method": "plan/update"})
    assert plan(client, preorders[1], day).json()["result"]["statusID"] == 2  # a plan/add fault is not spent
    assert move(later).status_code == 500 and market.preorder(supplier, preorder).supply_date == day

    client.post("/sandbox/faults", json={"kind": "fail_after", "method": "plan/update", "supplier_id": supplier})
    lost = move(later)
    assert (lost.status_code, lost.content) == (502, b"")  # the answer is lost...
    assert market.preorder(supplier, preorder).supply_date == later  # ...but WB moved it

    client.post("/sandbox/faults", json={"kind": "blind", "method": "plan/update", "delay_s": 1.0})
    assert move(day).status_code == 502 and market.preorder(supplier, preorder).supply_date == day
    token = {"Authorization": market.supplier_owner(supplier).api_token}
    details = client.get(f"/api/v1/supplies/{supply_id}", headers=token)
    asked = rpc(client, spec.RPC_GET_PREORDER, {"preorderID": preorder})
    assert (details.status_code, asked.status_code) == (503, 503)  # WB cannot tell for now
    other = fresh_seller(market)  # another seller is not blind
    assert client.get("/api/v1/supplies/1", headers={"Authorization": other.api_token}).status_code == 404

    def told() -> httpx.Response | None:
        answer = client.get(f"/api/v1/supplies/{supply_id}", headers=token)
        assert answer.status_code in (200, 503), answer.text
        return answer if answer.status_code == 200 else None

    assert wait_until(told, within=5, step=0.4, what="WB tells again").json()["supplyDate"].startswith(day.isoformat())
    assert rpc(client, spec.RPC_GET_PREORDER, {"preorderID": preorder}).json()["result"]["statusID"] == 2

    record = client.get("/sandbox/faults").json()
    assert record["armed"] == []
    assert [(c["date"], c["outcome"]) for c in record["update_calls"]] == [(later.isoformat(), "moved"),
                                                                          (day.isoformat(), "moved")]


def _captcha(client: httpx.Client) -> dict[str, str]:
    found = client.post(spec.rpc_path(spec.RPC_CAPTCHA_CHALLENGE), json={"jsonrpc": "2.0", "id": 1}).json()["result"]
    return {spec.CAPTCHA_HEADER: pow.make_token(found["challenge"], pow.solve(found["challenge"], found["difficulty"]))}
