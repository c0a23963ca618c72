"""Seller A can neither read nor change seller B's accounts, tasks or bookings — not even by guessing ids.

Someone else's object answers exactly like a missing one (404, same message): no 403 that confirms it exists.
"""

from __future__ import annotations

import datetime as dt

import pytest
from apihelpers import task_body
from sqlalchemy import Engine

from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.store import Booking, BookingState, SupplyTask, WbAccount, session_scope
from wbsupply.testkit import new_phone


@pytest.fixture
def two_sellers(make_person, engine: Engine):
    a, b = make_person(), make_person()
    b_account = b.add_account(engine)
    b_task = b.post("/api/v1/tasks", json=task_body(b_account)).json()["id"]
    with session_scope(engine) as session:
        session.add(Booking(task_id=b_task, user_id=b.id, month="2026-11", state=BookingState.CONFIRMED,
                            warehouse_id=507, slot_date=dt.date(2026, 12, 1), confirmed_at=dt.datetime.now(dt.UTC)))
    return a, b, b_account, b_task


def _snapshot(engine: Engine, account_id: int, task_id: int) -> tuple:
    with session_scope(engine) as session:
        account, task = session.get(WbAccount, account_id), session.get(SupplyTask, task_id)
        return account.status, account.phone, task.phase, task.spec, task.account_id


def test_lists_show_only_own_objects(two_sellers) -> None:
    a, b, _b_account, b_task = two_sellers
    assert a.client.get("/api/v1/wb-accounts").json()["accounts"] == []
    assert a.client.get("/api/v1/tasks").json() == []
    assert a.client.get("/api/v1/bookings").json() == []
    live = a.client.get("/api/v1/live").json()
    assert live["tasks"] == [] and live["bots"] == []
    assert [t["id"] for t in b.client.get("/api/v1/tasks").json()] == [b_task]
    assert len(b.client.get("/api/v1/bookings").json()) == 1


def test_reading_by_id_is_404_like_a_missing_id(two_sellers) -> None:
    a, _, b_account, b_task = two_sellers
    for own_missing, foreign in ((f"/api/v1/tasks/{b_task + 1000}", f"/api/v1/tasks/{b_task}"),
                                 (f"/api/v1/wb-accounts/{b_account + 1000}", f"/api/v1/wb-accounts/{b_account}")):
        missing, guessed = a.client.get(own_missing), a.client.get(foreign)
        assert guessed.status_code == missing.status_code == 404
        assert guessed.json() == missing.json()
    assert a.client.get(f"/tasks/{b_task}").status_code == 404  # the cabinet page as well


def test_changing_by_id_is_404_and_changes_nothing(two_sellers, engine: Engine) -> None:
    a, _, b_account, b_task = two_sellers
    before = _snapshot(engine, b_account, b_task)
    attempts = [
        ("patch", f"/api/v1/tasks/{b_task}", {"max_coefficient": 20}),
        ("post", f"/api/v1/tasks/{b_task}/pause", None),
        ("post", f"/api/v1/tasks/{b_task}/cancel", None),
        ("post", f"/api/v1/tasks/{b_task}/resume", None),
        ("post", f"/api/v1/wb-accounts/{b_account}/auth", {"kind": "phone", "value": new_phone()}),
        ("post", f"/api/v1/wb-accounts/{b_account}/disconnect", None),
        ("post", "/api/v1/tasks", task_body(b_account)),
        ("post", f"/tasks/{b_task}/cancel", None),
        ("post", f"/wb/{b_account}/disconnect", None),
    ]
    for method, url, body in attempts:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(a, method)(url, **kwargs)
        assert response.status_code == 404, (url, response.status_code, response.text[:300])
    assert _snapshot(engine, b_account, b_task) == before
    assert before[0] is BotStatus.INITIALIZING and before[2] is TaskPhase.PENDING


def test_moving_own_task_onto_a_foreign_account_is_404(two_sellers, engine: Engine) -> None:
    a, _, b_account, _ = two_sellers
    own_account = a.add_account(engine)
    own_task = a.post("/api/v1/tasks", json=task_body(own_account)).json()["id"]
    response = a.patch(f"/api/v1/tasks/{own_task}", json={"account_id": b_account})
    assert response.status_code == 404
    with session_scope(engine) as session:
        assert session.get(SupplyTask, own_task).account_id == own_account
