"""Sign-in: session cookie, bearer tokens, argon2, rate limiting, CSRF, roles, invitations."""

from __future__ import annotations

import time_machine
from apihelpers import PASSWORD
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from wbsupply.domain.statuses import Role
from wbsupply.store import User, session_scope
from wbsupply.store.accounts import ApiToken


def test_login_sets_a_signed_httponly_lax_cookie(make_person) -> None:
    person = make_person(login=False)
    response = person.client.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert response.status_code == 200
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("wbsupply_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert person.client.get("/api/v1/me").json()["email"] == person.email


def test_tampered_cookie_is_not_a_session(make_person, app) -> None:
    person = make_person()
    value = person.client.cookies.get("wbsupply_session")
    with TestClient(app) as other:
        other.cookies.set("wbsupply_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert other.get("/api/v1/me").status_code == 401


def test_passwords_are_argon2id_hashes(make_person, engine: Engine) -> None:
    person = make_person()
    with session_scope(engine) as session:
        stored = session.get(User, person.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_wrong_password_is_401_in_russian(make_person) -> None:
    person = make_person(login=False)
    response = person.client.post("/api/v1/auth/login", json={"email": person.email, "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Неверный e-mail или пароль"


def test_five_failures_slow_that_ip_and_email_down(make_person) -> None:
    person = make_person(login=False)
    with time_machine.travel("2026-11-26 10:00:00+00:00", tick=False) as clock:
        for _ in range(5):
            bad = person.client.post("/api/v1/auth/login", json={"email": person.email, "password": "wrong-pass"})
            assert bad.status_code == 401
        locked = person.client.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
        assert locked.status_code == 429
        assert "Слишком много неудачных попыток" in locked.json()["detail"]
        assert int(locked.headers["retry-after"]) <= 15 * 60
        # Another e-mail from the same address is not affected.
        assert person.client.post("/api/v1/auth/login", json={"email": "x@example.com", "password": "a"}).status_code \
            == 401
        clock.shift(int(locked.headers["retry-after"]) + 1)
        assert person.client.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD}) \
            .status_code == 200


def test_bearer_token_needs_no_csrf_and_is_stored_hashed(make_person, app, engine: Engine) -> None:
    person = make_person(login=False)
    token = person.client.post("/api/v1/auth/token", json={"email": person.email, "password": PASSWORD}).json()
    assert token["token_type"] == "bearer"
    with TestClient(app) as api_client:
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert api_client.get("/api/v1/me", headers=headers).json()["id"] == person.id
        assert api_client.put("/api/v1/notifications", json={"channels": {"email": False}},
                              headers=headers).status_code == 200
        assert api_client.get("/api/v1/me", headers={"Authorization": "Bearer wbs_forged"}).status_code == 401
    with session_scope(engine) as session:
        rows = session.exec(select(ApiToken)).all()
    assert [row.token_hash for row in rows] != [token["access_token"]] and len(rows[0].token_hash) == 64


def test_cookie_requests_without_csrf_token_are_refused_and_change_nothing(make_person) -> None:
    person = make_person()
    refused = person.client.put("/api/v1/notifications", json={"channels": {"email": False}})
    assert refused.status_code == 403
    assert "обновите страницу" in refused.json()["detail"]
    forged = person.client.put("/api/v1/notifications", json={"channels": {"email": False}},
                               headers={"x-csrf-token": "forged"})
    assert forged.status_code == 403
    assert person.client.get("/api/v1/notifications").json()["channels"]["email"] is True
    ok = person.client.put("/api/v1/notifications", json={"channels": {"email": False}}, headers=person.csrf())
    assert ok.status_code == 200 and ok.json()["channels"]["email"] is False


def test_password_change_ends_other_sessions(make_person, app) -> None:
    person = make_person()
    with TestClient(app) as second:
        assert second.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD}).status_code == 200
        changed = person.post("/api/v1/me/password", json={"old_password": PASSWORD, "new_password": "new-secret-1"})
        assert changed.status_code == 200
        assert second.get("/api/v1/me").status_code == 401
    assert person.client.get("/api/v1/me").status_code == 200  # the changing session got a fresh cookie


def test_logout_forgets_the_session(make_person) -> None:
    person = make_person()
    assert person.post("/api/v1/auth/logout").status_code == 200
    assert person.client.get("/api/v1/me").status_code == 401


def test_admin_only_endpoints(make_person) -> None:
    seller, admin = make_person(), make_person(role=Role.ADMIN)
    assert seller.client.get("/api/v1/admin/users").status_code == 403
    assert seller.post("/api/v1/admin/users", json={"email": "new@example.com"}).status_code == 403
    assert seller.client.get("/admin/bots").status_code == 403
    assert admin.client.get("/api/v1/admin/users").status_code == 200


def test_admin_creates_a_seller_with_a_password_shown_once(make_person, app) -> None:
    admin = make_person(role=Role.ADMIN)
    created = admin.post("/api/v1/admin/users", json={"email": "New@Example.com", "plan_limit": 25})
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "new@example.com" and body["plan_limit"] == 25 and body["role"] == "seller"
    with TestClient(app) as client:
        login = client.post("/api/v1/auth/login", json={"email": "new@example.com", "password": body["password"]})
        assert login.status_code == 200
    listed = admin.client.get("/api/v1/admin/users").json()
    assert all("password" not in user for user in listed)
    assert admin.post("/api/v1/admin/users", json={"email": "new@example.com"}).status_code == 409


def test_invitation_link_signs_up_once(make_person, app) -> None:
    admin = make_person(role=Role.ADMIN)
    invitation = admin.post("/api/v1/admin/invitations", json={"plan_limit": 10}).json()
    with TestClient(app) as client:
        assert client.get(invitation["path"]).status_code == 200
        signup = {"token": invitation["token"], "email": "invited@example.com", "password": "invited-pass"}
        first = client.post("/api/v1/auth/signup", json=signup)
        assert first.status_code == 201 and first.json()["plan_limit"] == 10
        again = client.post("/api/v1/auth/signup", json={**signup, "email": "second@example.com"})
        assert again.status_code == 404
        assert "уже использовано" in again.json()["detail"]
        assert client.get(invitation["path"]).status_code == 404


def test_admin_sets_plans_and_usage_follows(make_person) -> None:
    admin, seller = make_person(role=Role.ADMIN), make_person()
    assert seller.client.get("/api/v1/usage").json()["limit"] == 5
    bad = admin.patch(f"/api/v1/admin/users/{seller.id}", json={"plan_limit": 7})
    assert bad.status_code == 422 and "5, 10, 25, 50, 100, 500" in bad.json()["detail"]
    assert admin.patch(f"/api/v1/admin/users/{seller.id}", json={"plan_limit": 100}).status_code == 200
    usage = seller.client.get("/api/v1/usage").json()
    assert usage["limit"] == 100 and usage["remaining"] == 100 and usage["plan_label"] == "Профи"
    assert admin.patch(f"/api/v1/admin/users/{seller.id}", json={"active": False}).status_code == 200
    assert seller.client.get("/api/v1/me").status_code == 401
