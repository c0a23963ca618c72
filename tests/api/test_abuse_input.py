"""Issue 16: limits on every task field, 4xx (never 500) for absurd ids, dates and form values, security
headers, a health check that sees a locked database, idempotent task creation."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest
from apihelpers import task_body
from sqlalchemy import Engine, make_url
from sqlmodel import Session

from wbsupply.domain import tasks as domain
from wbsupply.domain.statuses import BoxType, Role
from wbsupply.store.journal import SlotHistory

TODAY = dt.date.today()


def _errors(response: Any) -> str:
    body = response.json()
    return " ".join([body["detail"], *body.get("errors", [])])


@pytest.mark.parametrize(("override", "expected"), [
    ({"draft_id": "d" * 900_000}, "слишком длинное"),
    ({"warehouses": list(range(1, 100_001))}, None),  # over 1 MiB: refused before parsing (413)
    ({"warehouses": list(range(1, domain.MAX_WAREHOUSES + 2))}, "слишком много"),
    ({"skip_dates": [str(TODAY + dt.timedelta(days=n % 300)) for n in range(40_000)]}, None),
    ({"skip_dates": [str(TODAY + dt.timedelta(days=n)) for n in range(domain.MAX_SKIP_DATES + 1)]},
     "слишком много"),
    ({"warehouses": [424242]}, "Неизвестный склад WB: 424242"),
    ({"max_coefficient": 10**30}, "слишком большое"),
    ({"max_logistics_coefficient": 10**30}, "слишком большое"),
    ({"lead_time_days": None, "date_from": "0001-01-01", "date_to": str(TODAY)}, "не дальше года"),
    ({"lead_time_days": None, "date_from": str(TODAY), "date_to": "9999-12-31"}, "не дальше года"),
    ({"skip_dates": ["9999-12-31"]}, "не дальше года"),
    ({"deadline": "9999-12-31T23:59:59-12:00"}, "Крайний срок"),
    ({"deadline": str(TODAY + dt.timedelta(days=800)) + "T12:00"}, "Крайний срок"),
    ({"preorder_id": 2**64}, "слишком большое"),
    ({"account_id": 2**64}, None),
    ({"account_id": 2**40}, None),
    ({"warehouses": [2**64]}, "слишком большое"),
])
def test_absurd_task_fields_are_refused_and_nothing_is_saved(make_person, engine: Engine, override, expected) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    response = seller.post("/api/v1/tasks", json={**task_body(account), **override})
    assert response.status_code in (404, 413, 422), response.text[:300]
    if expected:
        assert expected in _errors(response)
    assert seller.client.get("/api/v1/tasks").json() == []


def test_a_warehouse_beyond_the_reference_is_known_once_the_monitor_recorded_it(make_person, engine: Engine) -> None:
    """Known warehouses come from the database, not from what one API process happened to see."""
    seller = make_person()
    account = seller.add_account(engine)
    refused = seller.post("/api/v1/tasks", json={**task_body(account), "warehouses": [424243]})
    assert refused.status_code == 422 and "Неизвестный склад WB: 424243" in _errors(refused)
    with Session(engine) as session:
        session.add(SlotHistory(warehouse_id=424243, slot_date=TODAY, box_type=BoxType.BOXES, coefficient=0,
                                allow_unload=True, kind="opened"))
        session.commit()
    accepted = seller.post("/api/v1/tasks", json={**task_body(account), "warehouses": [424243]})
    assert accepted.status_code == 201, accepted.text[:300]


def test_limits_are_documented_in_the_schema(app) -> None:
    schema = app.openapi()
    task_in = schema["components"]["schemas"]["TaskIn"]["properties"]
    assert task_in["draft_id"]["anyOf"][0]["maxLength"] == domain.MAX_DRAFT_ID_LENGTH
    assert task_in["warehouses"]["anyOf"][0]["maxItems"] == domain.MAX_WAREHOUSES
    assert task_in["skip_dates"]["anyOf"][0]["maxItems"] == domain.MAX_SKIP_DATES
    assert task_in["max_coefficient"]["anyOf"][0]["maximum"] == domain.MAX_COEFFICIENT
    create = schema["paths"]["/api/v1/tasks"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TaskIn")
    assert any(p["name"] == "idempotency-key" for p in create["parameters"])


@pytest.mark.parametrize("path", [
    "/api/v1/tasks/{big}", "/api/v1/tasks/{wide}", "/api/v1/wb-accounts/{big}", "/api/v1/tasks/{big}/cancel",
    "/tasks/{big}",
    "/api/v1/slots/stats?warehouse_id={big}", "/api/v1/slots/stats?warehouse_id=-{big}",
    "/api/v1/slots/stats?warehouse_id=-2147483649",  # below PostgreSQL's integer (found by schemathesis)
])
def test_ids_beyond_64_bits_are_4xx(make_person, path: str) -> None:
    seller = make_person()
    url = path.format(big=2**64, wide=2**40)
    response = seller.post(url) if url.endswith("/cancel") else seller.client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)


def test_a_nul_byte_in_the_login_email_is_a_failed_login(make_person) -> None:
    person = make_person()  # found by schemathesis: PostgreSQL refuses NUL in a query (was a 500)
    response = person.client.post("/api/v1/auth/login", json={"email": person.email + "\x00", "password": "a"})
    assert response.status_code == 401, response.text


def test_admin_ids_beyond_64_bits_are_4xx(make_person) -> None:
    admin = make_person(role=Role.ADMIN)
    assert admin.patch(f"/api/v1/admin/users/{2**64}", json={"active": False}).status_code == 422
    assert admin.post(f"/api/v1/admin/bots/{2**63}/stop").status_code == 422


def test_unknown_box_type_in_the_task_form_is_a_form_error(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    form = {"account_id": str(account), "box_type": "crates", "wh": "507", "draft_id": "d-1",
            "max_coefficient": "0", "mode": "book", "csrf_token": seller.client.cookies.get("wbsupply_csrf")}
    response = seller.client.post("/tasks/new", data=form)
    assert response.status_code == 422
    assert "Тип поставки" in response.text and "<form" in response.text


def test_admin_form_refuses_a_plan_that_is_not_a_number(make_person) -> None:
    admin = make_person(role=Role.ADMIN)
    seller = make_person()
    csrf = admin.client.cookies.get("wbsupply_csrf")
    refused = admin.client.post(f"/admin/sellers/{seller.id}", data={"plan_limit": "abc", "csrf_token": csrf})
    assert refused.status_code == 422 and "Тариф задаётся числом" in refused.text
    assert next(u for u in admin.client.get("/api/v1/admin/users").json() if u["id"] == seller.id)[
        "plan_limit"] == 5
    created = admin.client.post("/admin/sellers", data={"email": "new@example.com", "plan_limit": "abc",
                                                         "csrf_token": csrf})
    assert created.status_code == 422
    assert all(u["email"] != "new@example.com" for u in admin.client.get("/api/v1/admin/users").json())


def test_security_headers_on_pages_api_and_errors(make_person, app) -> None:
    seller = make_person()
    for response in (seller.client.get("/"), seller.client.get("/api/v1/me"), seller.client.get("/login"),
                     seller.client.get("/api/v1/tasks/999")):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_task_creation_with_an_idempotency_key_is_done_once(make_person, engine: Engine) -> None:
    seller, other = make_person(), make_person()
    account = seller.add_account(engine)
    body = task_body(account)
    first = seller.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": "order-17"})
    retry = seller.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": "order-17"})
    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"] and retry.headers["idempotent-replayed"] == "true"
    assert len(seller.client.get("/api/v1/tasks").json()) == 1
    another = seller.post("/api/v1/tasks", json=task_body(account, draft_id="d-2"),
                          headers={"Idempotency-Key": "order-18"})
    assert another.status_code == 201 and another.json()["id"] != first.json()["id"]
    # A refused request does not use the key up; keys are per seller.
    bad = seller.post("/api/v1/tasks", json=task_body(account, warehouses=[]), headers={"Idempotency-Key": "k"})
    assert bad.status_code == 422
    assert seller.post("/api/v1/tasks", json=task_body(account, draft_id="d-3"),
                       headers={"Idempotency-Key": "k"}).status_code == 201
    other_account = other.add_account(engine)
    assert other.post("/api/v1/tasks", json=task_body(other_account),
                      headers={"Idempotency-Key": "order-17"}).json()["account_id"] == other_account


def test_healthz_reports_a_locked_database(make_person, database_url: str, app) -> None:
    seller = make_person()
    healthy = seller.client.get("/healthz")
    assert healthy.status_code == 200 and healthy.json()["database"] == "ok"
    if not database_url.startswith("sqlite"):
        return
    blocker = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # a writer that never lets go
        locked = seller.client.get("/healthz")
        assert locked.status_code == 503
        assert locked.json()["database"] == "locked" and locked.json()["status"] == "degraded"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert seller.client.get("/healthz").status_code == 200
