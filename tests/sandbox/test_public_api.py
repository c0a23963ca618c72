"""The sandbox's WB public API, every response validated against the official OpenAPI specs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.testkit import wait_until

WBSpecs = Any  # the conftest's spec checker (fixture ``wb_specs``)
COEFFICIENTS = "/api/tariffs/v1/acceptance/coefficients"
GATEWAY_FIELDS = {"title", "detail", "code", "requestId", "origin", "status", "statusText", "timestamp"}
ERROR_MODEL_FIELDS = {"status", "title", "detail", "requestId", "origin"}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    # a stopped clock: rate-limit buckets refill only when a test advances it
    return SandboxConfig(seed=7, speed=0, start=datetime(2026, 7, 1, 6, 0, tzinfo=UTC),
                         simulation=SimulationConfig.frozen(), background_steps=False)


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url) as http:
        yield http


def new_seller(client: httpx.Client, suppliers: int = 1) -> dict[str, Any]:
    response = client.post("/sandbox/sellers", json={"suppliers": suppliers})
    assert response.status_code == 201
    seller: dict[str, Any] = response.json()
    return seller


@pytest.fixture
def seller(client: httpx.Client) -> dict[str, Any]:
    return new_seller(client)


@pytest.fixture
def auth(seller: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": seller["api_token"]}


def test_ping(client: httpx.Client, auth: dict[str, str], seller: dict[str, Any], wb_specs: WBSpecs) -> None:
    assert wb_specs.validate(client.get("/ping", headers=auth))["Status"] == "OK"
    bearer = {"Authorization": f"Bearer {seller['api_token']}"}
    assert wb_specs.validate(client.get("/ping", headers=bearer))["Status"] == "OK"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "sbx.not-a-token"}, {"Authorization": "Bearer x.y.z"}])
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/ping"), ("GET", COEFFICIENTS), ("GET", "/api/v1/warehouses"), ("POST", "/api/v1/acceptance/options"),
    ("POST", "/api/v1/supplies"), ("GET", "/api/v1/supplies/1"),
])
def test_bad_token_is_401_problem(client: httpx.Client, wb_specs: WBSpecs, headers: dict[str, str], method: str,
                                  path: str) -> None:
    response = client.request(method, path, headers=headers, json=[])
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = wb_specs.validate(response)
    assert set(body) == GATEWAY_FIELDS
    assert body["status"] == 401 and body["statusText"] == "Unauthorized"


def test_coefficients_cover_14_days_in_spec_shape(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                                                  sandbox: RunningSandbox) -> None:
    records = wb_specs.validate(client.get(COEFFICIENTS, headers=auth))
    fields = wb_specs.properties("models.AcceptanceCoefficient")
    for record in records:
        expected = fields - {"boxTypeID"} if "boxTypeID" not in record else fields
        assert set(record) == expected
    dates = sorted({r["date"] for r in records})
    today = sandbox.market.clock.today_msk()
    assert dates[0] == f"{today.isoformat()}T00:00:00Z" and len(dates) == 14
    assert {r["warehouseID"] for r in records} == {w.id for w in sandbox.market.warehouses}
    assert {r.get("boxTypeID") for r in records} == {2, 5, 6, None}  # None: QR supplies carry no boxTypeID
    assert all(r["coefficient"] == -1 and r["allowUnload"] is False for r in records)  # frozen market
    assert any(r["isSortingCenter"] for r in records)


def test_coefficients_show_an_open_slot(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                                        sandbox: RunningSandbox) -> None:
    day = sandbox.market.clock.today_msk() + timedelta(days=3)
    sandbox.market.open_slot(117501, day, BoxType.MONOPALLETS, coefficient=5, capacity=2)
    sandbox.market.open_slot(117501, day, BoxType.QR, coefficient=0)
    records = wb_specs.validate(client.get(COEFFICIENTS, params={"warehouseIDs": "117501,507"}, headers=auth))
    assert {r["warehouseID"] for r in records} == {117501, 507}
    open_ = [r for r in records if r["allowUnload"]]
    assert {(r.get("boxTypeID"), r["coefficient"]) for r in open_} == {(None, 0), (5, 5)}
    pallet = next(r for r in open_ if r.get("boxTypeID") == 5)
    assert pallet["date"] == f"{day.isoformat()}T00:00:00Z" and pallet["warehouseName"] == "Подольск"
    assert pallet["deliveryCoef"] is not None and pallet["storageAdditionalLiter"] is None  # pallets: per pallet


@pytest.mark.parametrize("value", ["abc", "507,", "", "507;117501"])
def test_coefficients_bad_warehouse_ids_is_400(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                                               value: str) -> None:
    response = client.get(COEFFICIENTS, params={"warehouseIDs": value}, headers=auth)
    assert response.status_code == 400
    body = wb_specs.validate(response)
    assert set(body) == ERROR_MODEL_FIELDS and body["detail"] == "Неверный формат warehouseIDs"


def test_warehouses(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs) -> None:
    warehouses = wb_specs.validate(client.get("/api/v1/warehouses", headers=auth))
    assert len(warehouses) >= 50
    assert all(set(w) == wb_specs.properties("models.WarehousesResultItems") for w in warehouses)
    by_id = {w["ID"]: w["name"] for w in warehouses}
    assert by_id[507] == "Коледино" and by_id[120762] == "Электросталь" and by_id[2737].startswith("Санкт-Петербург")


def test_acceptance_options(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs) -> None:
    goods = [{"barcode": "2040000000017", "quantity": 7}, {"barcode": "Seller", "quantity": 1},
             {"barcode": "2040000000024", "quantity": 0}]
    body = wb_specs.validate(client.post("/api/v1/acceptance/options", json=goods, headers=auth))
    ok, unknown, bad_quantity = body["result"]
    assert ok["warehouses"] and "isError" not in ok
    assert set(ok["warehouses"][0]) == {"warehouseID", "canBox", "canMonopallet", "canSupersafe", "isBoxOnPallet"}
    assert unknown["isError"] and unknown["warehouses"] is None
    assert unknown["error"]["detail"] == "barcode Seller is not found"
    assert bad_quantity["isError"] and body["requestId"]
    only = wb_specs.validate(client.post("/api/v1/acceptance/options", params={"warehouseID": ok["warehouses"][0][
        "warehouseID"]}, json=goods[:1], headers=auth))
    assert [w["warehouseID"] for w in only["result"][0]["warehouses"]] == [ok["warehouses"][0]["warehouseID"]]


@pytest.mark.parametrize(("params", "body", "detail"), [
    ({"warehouseID": "x"}, [{"barcode": "1", "quantity": 1}], "Неверный формат warehouseID"),
    ({}, {"barcode": "1"}, "Неверный формат тела запроса"),
    ({}, [], "Неверный формат тела запроса"),
])
def test_acceptance_options_400(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                                params: dict[str, str], body: Any, detail: str) -> None:
    response = client.post("/api/v1/acceptance/options", params=params, json=body, headers=auth)
    assert response.status_code == 400
    assert wb_specs.validate(response)["detail"] == detail


@pytest.fixture
def supplies(sandbox: RunningSandbox, seller: dict[str, Any]) -> dict[str, Any]:
    """Three preorders of the seller: one planned (boxes on pallet), one monopallet and one QR not planned."""
    market = sandbox.market
    supplier = seller["suppliers"][0]["id"]
    draft = market.create_draft(supplier, [("2040000000017", 10), ("2040000000024", 5)])
    day = market.clock.today_msk() + timedelta(days=2)
    market.open_slot(507, day, BoxType.BOXES_ON_PALLET, coefficient=3)
    planned = market.book(supplier, market.create_preorder(supplier, draft.id, 507, BoxType.BOXES_ON_PALLET).id,
                          day)
    market.clock.advance(60)
    pallet = market.create_preorder(supplier, draft.id, 117501, BoxType.MONOPALLETS)
    market.clock.advance(60)
    qr = market.create_preorder(supplier, draft.id, 130744, BoxType.QR)
    return {"planned": planned, "pallet": pallet, "qr": qr, "day": day}


def test_supplies_list(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                       supplies: dict[str, Any]) -> None:
    items = wb_specs.validate(client.post("/api/v1/supplies", json={}, headers=auth))
    assert [i["preorderID"] for i in items] == [supplies["qr"].id, supplies["pallet"].id, supplies["planned"].id]
    qr, pallet, planned = items
    assert planned["supplyID"] == supplies["planned"].supply_id and planned["statusID"] == 2
    assert planned["boxTypeID"] == 2 and planned["isBoxOnPallet"] is True
    assert planned["supplyDate"] == f"{supplies['day'].isoformat()}T00:00:00+03:00"
    assert planned["createDate"].endswith("+03:00") and planned["phone"].count("*") == 3
    assert pallet["supplyID"] is None and pallet["statusID"] == 1 and pallet["boxTypeID"] == 5
    assert "isBoxOnPallet" not in pallet  # WB sends it only with boxTypeID 2
    assert qr["boxTypeID"] == 0


def test_supplies_filters_and_paging(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                                     supplies: dict[str, Any]) -> None:
    def ids(params: dict[str, Any] | None = None, body: dict[str, Any] | None = None) -> list[int]:
        response = client.post("/api/v1/supplies", params=params, json=body or {}, headers=auth)
        return [i["preorderID"] for i in wb_specs.validate(response)]

    assert ids(body={"statusIDs": [2]}) == [supplies["planned"].id]
    assert ids(body={"statusIDs": [1]}) == [supplies["qr"].id, supplies["pallet"].id]
    day = supplies["day"].isoformat()
    assert ids(body={"dates": [{"from": day, "till": day, "type": "supplyDate"}]}) == [supplies["planned"].id]
    assert ids(body={"dates": [{"from": "2020-01-01", "type": "factDate"}]}) == []
    assert ids(body={"dates": [{"from": "2026-06-30", "till": "2026-07-01", "type": "createDate"}]}) == [
        supplies["qr"].id, supplies["pallet"].id, supplies["planned"].id]
    assert ids({"limit": 1, "offset": 1}) == [supplies["pallet"].id]
    assert ids({"offset": 5}) == []


@pytest.mark.parametrize(("params", "body", "detail"), [
    ({"limit": 0}, {}, "Неверный формат limit"),
    ({"limit": 1001}, {}, "Неверный формат limit"),
    ({"limit": "x"}, {}, "Неверный формат limit"),
    ({"offset": -1}, {}, "Неверный формат offset"),
    ({}, {"dates": [{"from": "2024-01-01", "type": "deliveryDate"}]},
     "Выберите значение параметра 'Type' из списка: 'factDate createDate supplyDate updatedDate'"),
    ({}, {"dates": [{"from": "2024-01-01"}]},
     "Выберите значение параметра 'Type' из списка: 'factDate createDate supplyDate updatedDate'"),
    ({}, {"statusIDs": [2, 9]}, "Выберите значение параметра 'StatusIDs[1]' из списка: '1 2 3 4 5 6'"),
    ({}, {"dates": [{"from": "11-03-2019", "type": "createDate"}]},
     'ошибка при считывании даты "11-03-2019". Дата должна быть в формате ISO Date: 2006-01-02'),
])
def test_supplies_400(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs, params: dict[str, Any],
                      body: dict[str, Any], detail: str) -> None:
    response = client.post("/api/v1/supplies", params=params, json=body, headers=auth)
    assert response.status_code == 400
    payload = wb_specs.validate(response)
    assert payload["detail"] == detail and set(payload) == ERROR_MODEL_FIELDS


def test_supply_details(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                        supplies: dict[str, Any]) -> None:
    planned = supplies["planned"]
    details = wb_specs.validate(client.get(f"/api/v1/supplies/{planned.supply_id}", headers=auth))
    assert set(details) == wb_specs.properties("models.SupplyDetails") - {"virtualTypeID"}
    assert details["statusID"] == 2 and details["warehouseID"] == 507 and details["warehouseName"] == "Коледино"
    assert details["paidAcceptanceCoefficient"] == 3 and details["quantity"] == 15 and details["isBoxOnPallet"]
    preorder = wb_specs.validate(client.get(f"/api/v1/supplies/{supplies['qr'].id}",
                                            params={"isPreorderID": "true"}, headers=auth))
    assert preorder["statusID"] == 1 and preorder["boxTypeID"] == 0 and preorder["virtualTypeID"] == 4
    assert preorder["supplyDate"] is None and preorder["paidAcceptanceCoefficient"] is None


@pytest.mark.parametrize(("path", "params", "status", "detail"), [
    ("/api/v1/supplies/abc", {}, 400, "неверный формат id (должен быть int64)"),
    ("/api/v1/supplies/99999999999999999999", {}, 400, "id выходит за рамки int64"),
    ("/api/v1/supplies/1", {"isPreorderID": "yes"}, 400, "Неверный формат isPreorderID"),
    ("/api/v1/supplies/1234", {}, 404, "поставка 1234 не найдена"),
    ("/api/v1/supplies/1234", {"isPreorderID": "true"}, 404, "поставка 1234 не найдена"),
])
def test_supply_details_errors(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs, path: str,
                               params: dict[str, str], status: int, detail: str) -> None:
    response = client.get(path, params=params, headers=auth)
    assert response.status_code == status
    assert wb_specs.validate(response)["detail"] == detail


def test_preorder_search_of_a_planned_supply_is_400(client: httpx.Client, auth: dict[str, str],
                                                    wb_specs: WBSpecs, supplies: dict[str, Any]) -> None:
    planned = supplies["planned"]
    response = client.get(f"/api/v1/supplies/{planned.id}", params={"isPreorderID": "true"}, headers=auth)
    assert response.status_code == 400
    assert f"найдена поставка {planned.supply_id}" in wb_specs.validate(response)["detail"]


def test_other_sellers_supplies_are_invisible(client: httpx.Client, wb_specs: WBSpecs,
                                              supplies: dict[str, Any]) -> None:
    other = {"Authorization": new_seller(client)["api_token"]}
    assert wb_specs.validate(client.post("/api/v1/supplies", json={}, headers=other)) == []
    response = client.get(f"/api/v1/supplies/{supplies['planned'].supply_id}", headers=other)
    assert response.status_code == 404


def test_disabled_switch(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs) -> None:
    assert client.post("/sandbox/public-api", json={"disabled": True}).json() == {"public_api_disabled": True}
    for method, path, body in [("GET", COEFFICIENTS, None), ("GET", "/api/v1/warehouses", None),
                               ("POST", "/api/v1/acceptance/options", [{"barcode": "2040000000017", "quantity": 1}])]:
        response = client.request(method, path, json=body, headers=auth)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        problem = wb_specs.validate(response)
        assert set(problem) == GATEWAY_FIELDS
        assert "temporarily disabled" in problem["detail"] and "временно отключён" in problem["detail"]
    # the supplies methods keep working, as at WB
    assert client.post("/api/v1/supplies", json={}, headers=auth).status_code == 200
    client.post("/sandbox/public-api", json={"disabled": False})
    assert client.get(COEFFICIENTS, headers=auth).status_code == 200


def test_coefficients_rate_limit(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                                 sandbox: RunningSandbox) -> None:
    params = {"warehouseIDs": "507"}
    for remaining in range(5, -1, -1):
        response = client.get(COEFFICIENTS, params=params, headers=auth)
        assert response.status_code == 200
        assert response.headers["X-Ratelimit-Remaining"] == str(remaining)
    limited = client.get(COEFFICIENTS, params=params, headers=auth)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    problem = wb_specs.validate(limited)
    assert set(problem) == GATEWAY_FIELDS and problem["statusText"] == "Too Many Requests"
    headers = limited.headers
    assert (headers["X-Ratelimit-Retry"], headers["X-Ratelimit-Limit"], headers["X-Ratelimit-Remaining"],
            headers["X-Ratelimit-Reset"]) == ("10", "6", "0", "60")
    # the limit is per seller account: another seller is not affected
    other = {"Authorization": new_seller(client)["api_token"]}
    assert client.get(COEFFICIENTS, params=params, headers=other).status_code == 200
    # one token every 10 s of sandbox time
    sandbox.market.clock.advance(9)
    assert client.get(COEFFICIENTS, params=params, headers=auth).headers["X-Ratelimit-Retry"] == "1"
    sandbox.market.clock.advance(1)
    assert client.get(COEFFICIENTS, params=params, headers=auth).status_code == 200
    assert client.get(COEFFICIENTS, params=params, headers=auth).status_code == 429
    sandbox.market.clock.advance(60)  # a full bucket again: a burst of 6
    assert [client.get(COEFFICIENTS, params=params, headers=auth).status_code for _ in range(7)] == [200] * 6 + [429]


def test_supplies_rate_limit(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs,
                             sandbox: RunningSandbox) -> None:
    codes = [client.post("/api/v1/supplies", json={}, headers=auth).status_code for _ in range(10)]
    assert codes == [200] * 10
    limited = client.post("/api/v1/supplies", json={}, headers=auth)
    assert limited.status_code == 429 and limited.headers["X-Ratelimit-Retry"] == "2"
    assert limited.headers["X-Ratelimit-Limit"] == "10" and limited.headers["X-Ratelimit-Reset"] == "20"
    wb_specs.validate(limited)
    # supply details have their own bucket
    assert client.get("/api/v1/supplies/1", headers=auth).status_code == 404
    sandbox.market.clock.advance(2)
    assert client.post("/api/v1/supplies", json={}, headers=auth).status_code == 200


def test_ping_rate_limit(client: httpx.Client, auth: dict[str, str], wb_specs: WBSpecs) -> None:
    assert [client.get("/ping", headers=auth).status_code for _ in range(4)] == [200, 200, 200, 429]
    wb_specs.validate(client.get("/ping", headers=auth))


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(seed=7, speed=600, simulation=SimulationConfig.frozen(),
                                                          background_steps=False)])
def test_fast_clock_refills_faster(client: httpx.Client, auth: dict[str, str], sandbox: RunningSandbox) -> None:
    codes = [client.get("/api/v1/warehouses", headers=auth).status_code for _ in range(6)]
    assert codes == [200] * 6
    clock, emptied = sandbox.market.clock, sandbox.market.clock.now()
    # 30 s of sandbox time: 50 ms of ours at 600× (within 2 s of ours, so only a fast clock gets there)
    wait_until(lambda: clock.now() - emptied >= timedelta(seconds=30), 2, "30 s of sandbox time", step=0.01)
    assert client.get("/api/v1/warehouses", headers=auth).status_code == 200
