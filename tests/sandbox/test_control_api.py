"""The sandbox control API over HTTP, as tests and demos drive it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.testkit import new_phone


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url) as http:
        yield http


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_seller_draft_preorder_slot_and_booking(client: httpx.Client, sandbox: RunningSandbox) -> None:
    seller = ok(client.post("/sandbox/sellers", json={"name": "Тестов Т.Т.", "suppliers": 2}), 201)
    assert seller["api_token"] and seller["phone"].startswith("+7") and len(seller["suppliers"]) == 2
    supplier = seller["suppliers"][1]["id"]
    draft = ok(client.post("/sandbox/drafts", json={"supplier_id": supplier,
                                                     "goods": [{"barcode": "2040000000017", "quantity": 4}]}), 201)
    preorder = ok(client.post("/sandbox/preorders", json={"supplier_id": supplier, "draft_id": draft["id"],
                                                           "warehouse_id": 507, "box_type": 2}), 201)
    assert preorder["status"] == "Не запланировано" and preorder["box_type"] == "boxes"
    quick = ok(client.post("/sandbox/preorders", json={"supplier_id": supplier, "warehouse_id": 117501,
                                                        "box_type": "monopallets"}), 201)
    assert quick["draft_id"] != draft["id"] and quick["quantity"] == 10
    state = ok(client.get("/sandbox/state"))
    day = date.fromisoformat(state["today_msk"]) + timedelta(days=3)
    slot = ok(client.post("/sandbox/slots/open", json={"warehouse_id": 507, "date": day.isoformat(),
                                                        "box_type": "boxes", "coefficient": 2, "capacity": 2}))
    assert slot["is_open"] and slot["capacity"] == 2
    assert [s["warehouse_id"] for s in ok(client.get("/sandbox/slots"))] == [507]
    # the cabinet books through the market; the control API shows the result
    sandbox.market.book(supplier, preorder["id"], day)
    bookings = ok(client.get("/sandbox/bookings"))
    assert [(b["preorder_id"], b["date"], b["coefficient"], b["box_type"]) for b in bookings] == [
        (preorder["id"], day.isoformat(), 2, "boxes")]
    listed = ok(client.get("/sandbox/preorders", params={"supplier_id": supplier}))
    assert {p["id"]: p["status_id"] for p in listed} == {preorder["id"]: 2, quick["id"]: 1}
    one = ok(client.get("/sandbox/slots", params={"warehouse_id": 507, "date": day.isoformat(), "box_type": 2}))
    assert one["capacity"] == 1
    assert ok(client.post("/sandbox/slots/capacity", json={"warehouse_id": 507, "date": day.isoformat(),
                                                            "capacity": 5}))["capacity"] == 5
    closed = ok(client.post("/sandbox/slots/close", json={"warehouse_id": 507, "date": day.isoformat()}))
    assert not closed["is_open"] and closed["coefficient"] == -1


def test_errors_map_to_statuses(client: httpx.Client) -> None:
    seller = ok(client.post("/sandbox/sellers", json={}), 201)
    supplier = seller["suppliers"][0]["id"]
    assert client.post("/sandbox/preorders", json={"supplier_id": 1, "warehouse_id": 507}).status_code == 404
    assert client.post("/sandbox/preorders", json={"supplier_id": supplier, "warehouse_id": 1}).status_code == 404
    assert client.post("/sandbox/preorders", json={"supplier_id": supplier, "warehouse_id": 217081,
                                                   "box_type": "monopallets"}).status_code == 409
    assert client.post("/sandbox/preorders", json={"supplier_id": supplier, "warehouse_id": 507,
                                                   "box_type": "crates"}).status_code == 422
    assert client.post("/sandbox/slots/capacity", json={"warehouse_id": 507, "date": "2026-12-01",
                                                        "capacity": 1}).status_code == 409
    assert client.post("/sandbox/sellers", json={"phone": seller["phone"]}).status_code == 422
    assert client.post("/sandbox/sessions/expire", json={"seller_id": 999}).status_code == 404


def test_login_controls_and_inbox(client: httpx.Client, sandbox: RunningSandbox) -> None:
    seller = ok(client.post("/sandbox/sellers", json={"phone": new_phone()}), 201)
    market = sandbox.market
    ok(client.post("/sandbox/login/block", json={"phone": seller["phone"], "hours": 2}))
    with pytest.raises(Exception, match="2 ч"):
        market.request_code(seller["phone"])
    ok(client.post("/sandbox/login/block", json={"phone": seller["phone"], "hours": 0}))
    ok(client.post("/sandbox/login/captcha", json={"phone": seller["phone"], "on": True}))
    assert market.captcha_challenge(seller["phone"]) is not None
    ok(client.post("/sandbox/login/captcha", json={"phone": seller["phone"], "on": False}))
    market.request_code(seller["phone"])
    sms = ok(client.get("/sandbox/sms", params={"phone": seller["phone"]}))
    assert len(sms) == 1 and sms[0]["code"] in sms[0]["text"]
    page = client.get("/sandbox/inbox")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Входящие СМС" in page.text and sms[0]["code"] in page.text and seller["phone"] in page.text


def test_expire_sessions(client: httpx.Client, sandbox: RunningSandbox) -> None:
    seller = ok(client.post("/sandbox/sellers", json={}), 201)
    tokens = sandbox.market.open_session(seller["id"])
    assert ok(client.post("/sandbox/sessions/expire", json={"seller_id": seller["id"]})) == {"expired": 1}
    assert sandbox.market.session(tokens.access_token) is None


def test_clock_switch_and_reset(client: httpx.Client, sandbox: RunningSandbox) -> None:
    before = sandbox.market.clock.now()
    ok(client.post("/sandbox/clock/advance", json={"seconds": 3600}))
    assert (sandbox.market.clock.now() - before).total_seconds() >= 3600
    assert ok(client.post("/sandbox/public-api", json={"disabled": True})) == {"public_api_disabled": True}
    seller = ok(client.post("/sandbox/sellers", json={}), 201)
    sandbox.market.open_slot(507, sandbox.market.clock.today_msk() + timedelta(days=1), BoxType.BOXES)
    ok(client.post("/sandbox/reset"))
    state = ok(client.get("/sandbox/state"))
    assert (state["sellers"], state["open_slots"], state["public_api_disabled"]) == (0, 0, False)
    assert client.get("/ping", headers={"Authorization": seller["api_token"]}).status_code == 401
    assert ok(client.post("/sandbox/step"))["events"] == 0
