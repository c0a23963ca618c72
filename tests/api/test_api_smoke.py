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
