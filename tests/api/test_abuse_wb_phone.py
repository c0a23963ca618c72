"""Issue 16, item 2: a seller cannot make WB text codes to another seller's phone (and get its login blocked)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import col, func, select

from wbsupply.api.logic import phone_guard
from wbsupply.domain.statuses import Role
from wbsupply.store import WbAccount, session_scope
from wbsupply.store.auth import WbAuthRequest
from wbsupply.testkit import new_phone


def _code_requests(engine: Engine, phone: str) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(WbAuthRequest).join(
            WbAccount, col(WbAccount.id) == col(WbAuthRequest.account_id)).where(col(WbAccount.phone) == phone)
        ).one())


def test_a_phone_connected_by_another_seller_needs_proof_before_any_code(make_person, engine: Engine) -> None:
    seller_b, seller_a, admin = make_person(), make_person(), make_person(role=Role.ADMIN)
    b_phone = new_phone()
    assert seller_b.post("/api/v1/wb-accounts", json={"phone": b_phone}).status_code == 201
    assert _code_requests(engine, b_phone) == 1  # B's own login

    squat = seller_a.post("/api/v1/wb-accounts", json={"phone": b_phone})
    assert squat.status_code == 201
    assert "другого продавца" in squat.json()["last_error"]
    account = squat.json()["id"]
    for step in ({"kind": "phone", "value": b_phone}, {"kind": "reconnect"}, {"kind": "phone", "value": b_phone},
                 {"kind": "reconnect"}):
        refused = seller_a.post(f"/api/v1/wb-accounts/{account}/auth", json=step)
        assert refused.status_code == 409 and "другого продавца" in refused.json()["detail"]
    assert _code_requests(engine, b_phone) == 1, "WB was asked to text B's phone on A's behalf"

    # A's own account may not switch to B's phone either.
    own = seller_a.post("/api/v1/wb-accounts", json={"phone": new_phone()})
    assert own.status_code == 409  # one account on A's plan: the squatting one
    assert seller_a.post(f"/api/v1/admin/wb-accounts/{account}/approve-phone").status_code == 403

    assert admin.post(f"/api/v1/admin/wb-accounts/{account}/approve-phone").status_code == 200
    allowed = seller_a.post(f"/api/v1/wb-accounts/{account}/auth", json={"kind": "phone", "value": b_phone})
    assert allowed.status_code == 200
    assert _code_requests(engine, b_phone) == 2


def test_code_requests_are_limited_per_phone(make_person, engine: Engine) -> None:
    seller = make_person()
    b_phone = new_phone()
    account = seller.post("/api/v1/wb-accounts", json={"phone": b_phone}).json()["id"]
    for _ in range(phone_guard.PER_PHONE - 1):
        assert seller.post(f"/api/v1/wb-accounts/{account}/auth", json={"kind": "reconnect"}).status_code == 200
    limited = seller.post(f"/api/v1/wb-accounts/{account}/auth", json={"kind": "reconnect"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert _code_requests(engine, b_phone) == phone_guard.PER_PHONE
    # Steps that send no code (the code itself) still pass.
    assert seller.post(f"/api/v1/wb-accounts/{account}/auth", json={"kind": "code", "value": "123456"}) \
        .status_code == 200


def test_code_requests_are_limited_per_seller(make_person, engine: Engine) -> None:
    seller = make_person(plan_limit=500)
    ids = []
    for _ in range(phone_guard.PER_SELLER):
        response = seller.post("/api/v1/wb-accounts", json={"phone": new_phone(), "accept_risk": True})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    limited = seller.post(f"/api/v1/wb-accounts/{ids[0]}/auth", json={"kind": "reconnect"})
    assert limited.status_code == 429


def test_the_admin_panel_approves_a_shared_phone(make_person, engine: Engine) -> None:
    seller_b, seller_a, admin = make_person(), make_person(), make_person(role=Role.ADMIN)
    b_phone = new_phone()
    seller_b.post("/api/v1/wb-accounts", json={"phone": b_phone})
    account = seller_a.post("/api/v1/wb-accounts", json={"phone": b_phone}).json()["id"]
    page = admin.client.get("/admin/bots")
    assert f'action="/admin/bots/{account}/approve-phone"' in page.text
    approved = admin.client.post(f"/admin/bots/{account}/approve-phone",
                                 data={"csrf_token": admin.client.cookies.get("wbsupply_csrf")},
                                 follow_redirects=False)
    assert approved.status_code == 303
    assert seller_a.post(f"/api/v1/wb-accounts/{account}/auth", json={"kind": "reconnect"}).status_code == 200
