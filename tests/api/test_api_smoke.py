"""Every page and main endpoint answers for a signed-in seller and admin."""

from __future__ import annotations

from apihelpers import task_body
from sqlalchemy import Engine

from wbsupply.domain.statuses import Role


def test_pages_render(make_person, engine: Engine) -> None:
    seller = make_person()
    account_id = seller.add_account(engine)
    assert seller.post("/api/v1/tasks", json=task_body(account_id)).status_code == 201
    for path in ("/", "/wb", "/tasks", "/tasks/new", "/calendar", "/bookings", "/settings", "/honesty"):
        response = seller.client.get(path)
        assert response.status_code == 200, (path, response.text[:2000])
    admin = make_person(role=Role.ADMIN)
    for path in ("/admin", "/admin/sellers", "/admin/bots", "/admin/errors"):
        response = admin.client.get(path)
        assert response.status_code == 200, (path, response.text[:2000])


def test_openapi_docs(app) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        assert client.get("/docs").status_code == 200
        paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/tasks", "/api/v1/wb-accounts", "/api/v1/slots/calendar", "/api/v1/admin/bots",
            "/api/v1/usage", "/healthz"} <= set(paths)
    assert not any(path.startswith("/admin") or path == "/" for path in paths)  # pages stay out of the API docs
