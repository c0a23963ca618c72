"""One draft or preorder, one task; failed tasks are fixed and restarted; the cabinet's drafts for the form."""

from __future__ import annotations

from typing import Any

import pytest
from apihelpers import task_body
from sqlalchemy import Engine

from wbsupply.domain.statuses import TaskPhase
from wbsupply.store import SupplyTask, WbAccount, session_scope
from wbsupply.store.types import utcnow

DRAFT = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def _set_phase(engine: Engine, task_id: int, phase: TaskPhase, message: str | None = None) -> None:
    with session_scope(engine) as session:
        task = session.get(SupplyTask, task_id)
        task.phase, task.message = phase, message


def test_a_second_task_on_a_claimed_draft_or_preorder_is_refused_with_the_reason(make_person, engine: Engine) -> None:
    seller = make_person(plan_limit=50)
    account = seller.add_account(engine)
    first = seller.post("/api/v1/tasks", json=task_body(account, draft_id=DRAFT))
    assert first.status_code == 201
    again = seller.post("/api/v1/tasks", json=task_body(account, draft_id=DRAFT.upper()))
    assert again.status_code == 409
    detail = again.json()["detail"]
    assert f"уже выбран в задаче № {first.json()['id']}" in detail and "Одна поставка — одна задача" in detail

    by_preorder = seller.post("/api/v1/tasks", json=task_body(account, draft_id=None, preorder_id=34600123))
    assert by_preorder.status_code == 201
    assert seller.post("/api/v1/tasks", json=task_body(account, draft_id=None, preorder_id=34600123)).status_code == 409
    # Notify-only tasks book nothing and hold nothing.
    assert seller.post("/api/v1/tasks", json=task_body(account, draft_id=DRAFT, mode="notify")).status_code == 201

    # Booked still holds the supply; cancelled frees it.
    _set_phase(engine, first.json()["id"], TaskPhase.BOOKED)
    booked = seller.post("/api/v1/tasks", json=task_body(account, draft_id=DRAFT))
    assert booked.status_code == 409 and "уже забронирована" in booked.json()["detail"]
    assert seller.post(f"/api/v1/tasks/{by_preorder.json()['id']}/cancel").status_code == 200
    assert seller.post("/api/v1/tasks", json=task_body(account, draft_id=None, preorder_id=34600123)).status_code == 201

    # Another WB account of the seller has its own drafts.
    other = seller.add_account(engine)
    assert seller.post("/api/v1/tasks", json=task_body(other, draft_id=DRAFT)).status_code == 201
    # Editing a task onto a claimed draft is refused the same way.
    spare = seller.post("/api/v1/tasks", json=task_body(account)).json()
    moved = seller.patch(f"/api/v1/tasks/{spare['id']}", json={"draft_id": DRAFT})
    assert moved.status_code == 409


def test_a_failed_task_is_fixed_and_restarted(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    task = seller.post("/api/v1/tasks", json=task_body(account, draft_id="не-черновик")).json()
    _set_phase(engine, task["id"], TaskPhase.FAILED, "Черновик поставки «не-черновик» не найден в кабинете WB")
    fixed = seller.patch(f"/api/v1/tasks/{task['id']}", json={"draft_id": DRAFT})
    assert fixed.status_code == 200
    body = fixed.json()
    assert (body["phase"], body["spec"]["draft_id"], body["message"]) == (
        "Pending", DRAFT, "Задача исправлена и запущена снова")
    with session_scope(engine) as session:
        assert session.get(SupplyTask, task["id"]).claim_key == f"draft:{DRAFT}"
    _set_phase(engine, task["id"], TaskPhase.FAILED, "Черновик поставки «x» не найден в кабинете WB")
    assert "Исправить и запустить" in seller.client.get(f"/tasks/{task['id']}").text
    # A 5,000-character «draft id» is refused at once with a plain reason.
    long = seller.post("/api/v1/tasks", json=task_body(account, draft_id="x" * 5000))
    assert long.status_code == 422
    assert any("слишком длинное значение" in line for line in long.json()["errors"]), long.json()


def test_the_cabinet_drafts_the_bot_read_are_listed_for_the_form(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    empty = seller.client.get(f"/api/v1/wb-accounts/{account}/supplies")
    assert empty.status_code == 200 and empty.json()["drafts"] == [] and empty.json()["checked_at"] is None
    with session_scope(engine) as session:
        row = session.get(WbAccount, account)
        row.cabinet_supplies = {
            "drafts": [{"id": DRAFT, "quantity": 12, "goods": 2, "created_at": "2026-12-01T10:00:00+00:00"}],
            "preorders": [{"id": 34600001, "draft_id": DRAFT, "warehouse_id": 507, "warehouse_name": "Коледино",
                           "box_type": "boxes", "quantity": 12, "created_at": "2026-12-01T10:05:00+00:00"}]}
        row.cabinet_supplies_at = utcnow()
    task = seller.post("/api/v1/tasks", json=task_body(account, draft_id=DRAFT)).json()
    listed = seller.client.get(f"/api/v1/wb-accounts/{account}/supplies").json()
    assert listed["drafts"][0] | {} == {"id": DRAFT, "quantity": 12, "goods": 2,
                                        "created_at": "2026-12-01T10:00:00+00:00", "claimed_by": task["id"]}
    assert listed["preorders"][0]["claimed_by"] is None and listed["checked_at"]
    page = seller.client.get("/tasks/new").text
    assert "Черновик 3fa85f64… — 12 шт." in page and f"уже в задаче № {task['id']}" in page
    assert "Заказ 34600001 — Коледино, 12 шт." in page

    stranger = make_person()
    assert stranger.client.get(f"/api/v1/wb-accounts/{account}/supplies").status_code == 404


def test_the_form_books_the_draft_picked_from_the_list_and_refuses_a_claimed_one(make_person, engine: Engine) -> None:
    import re

    seller = make_person()
    account = seller.add_account(engine)
    with session_scope(engine) as session:
        session.get(WbAccount, account).cabinet_supplies = {
            "drafts": [{"id": DRAFT, "quantity": 3, "goods": 1, "created_at": None}], "preorders": []}
    page = seller.client.get("/tasks/new").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "account_id": str(account), "pick": f"draft:{DRAFT}", "draft_id": "typed-ignored",
            "box_type": "boxes", "wh": ["507"], "max_coefficient": "0", "mode": "book"}
    created = seller.client.post("/tasks/new", data=form, follow_redirects=False)
    assert created.status_code == 303
    with session_scope(engine) as session:
        task = session.query(SupplyTask).one()
        assert (task.spec["draft_id"], task.claim_key) == (DRAFT, f"draft:{DRAFT}")
    again = seller.client.post("/tasks/new", data=form)
    assert again.status_code == 409 and "Одна поставка — одна задача" in again.text


def test_a_preorder_already_planned_in_wb_is_offered_for_moving_and_needs_the_improve_option(
        make_person, engine: Engine) -> None:
    """Issue 18: the list marks a preorder WB shows planned; picking it asks where to move it; a task failed on
    it is fixed from its edit form with the option («Исправить и запустить»)."""
    import re

    from sqlmodel import select

    from wbsupply.control.bookings import cabinet_supplies

    seller = make_person()
    account = seller.add_account(engine)
    listing = {"drafts": [], "preorders": [  # the cabinet's supply/listSupplies, as the bot reads it
        {"preorderID": 34600001, "warehouseID": 507, "warehouseName": "Коледино", "boxType": "boxes", "statusID": 1,
         "quantity": 5, "supplyID": None, "supplyDate": None},
        {"preorderID": 34600002, "warehouseID": 507, "warehouseName": "Коледино", "boxType": "boxes", "statusID": 2,
         "quantity": 7, "supplyID": 26600002, "supplyDate": "2026-12-10"},
        {"preorderID": 34600003, "warehouseID": 507, "warehouseName": "Коледино", "boxType": "boxes", "statusID": 5,
         "quantity": 9, "supplyID": 26600003, "supplyDate": "2026-11-20"}]}  # accepted already: nothing to do
    with session_scope(engine) as session:
        row = session.get(WbAccount, account)
        row.cabinet_supplies, row.cabinet_supplies_at = cabinet_supplies(listing), utcnow()
    listed = seller.client.get(f"/api/v1/wb-accounts/{account}/supplies").json()["preorders"]
    assert [(p["id"], p["planned"], p["supply_id"], p["supply_date"]) for p in listed] == [
        (34600001, False, None, None), (34600002, True, 26600002, "2026-12-10")]
    page = seller.client.get("/tasks/new").text
    assert ("Заказ 34600002 — Коледино, 7 шт. — уже запланирована на 10 декабря 2026 — бот может перенести на "
            "лучший слот") in page
    assert "Заказ 34600001 — Коледино, 5 шт.</option>" in page and "34600003" not in page

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "account_id": str(account), "pick": "preorder:34600002", "box_type": "boxes",
            "wh": ["507"], "max_coefficient": "0", "mode": "book"}
    refused = seller.client.post("/tasks/new", data=form)
    assert refused.status_code == 422
    assert "Заказ 34600002 уже запланирован в кабинете WB" in refused.text
    assert "«После бронирования переносить поставку»" in refused.text
    assert seller.client.post("/tasks/new", data={**form, "pick": "preorder:34600001"},
                              follow_redirects=False).status_code == 303  # not planned: no option needed
    created = seller.client.post("/tasks/new", data={**form, "improve": "earlier"}, follow_redirects=False)
    assert created.status_code == 303
    with session_scope(engine) as session:
        task = session.exec(select(SupplyTask).where(SupplyTask.claim_key == "preorder:34600002")).one()
        assert (task.spec["preorder_id"], task.spec["improve"]) == (34600002, "earlier")
        task_id = task.id

    # A task that failed on it without the option (made through the API) is fixed from its edit form.
    _set_phase(engine, task_id, TaskPhase.FAILED, "Поставка по заказу 34600002 уже запланирована в кабинете WB")
    with session_scope(engine) as session:
        failed = session.get(SupplyTask, task_id)
        failed.spec = {**failed.spec, "improve": None}
    assert "Исправить и запустить" in seller.client.get(f"/tasks/{task_id}").text
    edit = seller.client.get(f"/tasks/{task_id}/edit").text
    assert 'data-testid="improve"' in edit and 'value="34600002"' in edit
    fields = {**form, "pick": "", "preorder_id": "34600002"}
    assert seller.client.post(f"/tasks/{task_id}", data=fields).status_code == 422  # still without the option
    fixed = seller.client.post(f"/tasks/{task_id}", data={**fields, "improve": "both"}, follow_redirects=False)
    assert fixed.status_code == 303
    with session_scope(engine) as session:
        task = session.get(SupplyTask, task_id)
        assert (task.phase, task.spec["improve"], task.message) == (TaskPhase.PENDING, "both",
                                                                    "Задача исправлена и запущена снова")


def test_racing_accounts_drafts_are_claimed_like_the_main_draft(make_person, engine: Engine) -> None:
    """Issue 18: a racing task holds each racing account's draft too, against main drafts and racers alike."""
    seller = make_person(plan_limit=50)
    a = seller.add_account(engine)
    b = seller.add_account(engine, phone="+79001234568")
    racing = seller.post("/api/v1/tasks", json=task_body(a, racers={str(b): "B-DRAFT"}))
    assert racing.status_code == 201, racing.text
    racing_id = racing.json()["id"]

    def refused(response: Any, holder: int) -> bool:
        detail = response.json().get("detail", "")
        return (response.status_code == 409 and f"уже выбран в задаче № {holder}" in detail
                and "Одна поставка — одна задача" in detail)

    # Account B's draft as another task's own draft, or as another racing task's racer: refused, case aside.
    assert refused(seller.post("/api/v1/tasks", json=task_body(b, draft_id="b-draft")), racing_id)
    assert refused(seller.post("/api/v1/tasks", json=task_body(a, racers={str(b): "b-draft"})), racing_id)
    # The other way round: a racer on a draft another task holds as its own.
    own = seller.post("/api/v1/tasks", json=task_body(b, draft_id="B-OWN")).json()["id"]
    assert refused(seller.post("/api/v1/tasks", json=task_body(a, racers={str(b): "B-OWN"})), own)
    main_draft = racing.json()["spec"]["draft_id"]
    assert refused(seller.post("/api/v1/tasks", json=task_body(b, racers={str(a): main_draft})), racing_id)
    # The same draft id in another account is another draft.
    assert seller.post("/api/v1/tasks", json=task_body(a, draft_id="B-DRAFT")).status_code == 201
    # An edit that adds a racer on a held draft is refused the same way, and nothing of it is saved.
    spare = seller.post("/api/v1/tasks", json=task_body(a)).json()
    edit = seller.patch(f"/api/v1/tasks/{spare['id']}", json={"racers": {str(b): "B-OWN"}})
    assert refused(edit, own)
    assert seller.client.get(f"/api/v1/tasks/{spare['id']}").json()["spec"]["racers"] == {}
    # The form's list marks the draft as taken in account B's cabinet.
    with session_scope(engine) as session:
        session.get(WbAccount, b).cabinet_supplies = {
            "drafts": [{"id": "B-DRAFT", "quantity": 3, "goods": 1, "created_at": None}], "preorders": []}
    listed = seller.client.get(f"/api/v1/wb-accounts/{b}/supplies").json()["drafts"]
    assert [d["claimed_by"] for d in listed] == [racing_id]

    # A booked racing task still holds its racers' drafts.
    _set_phase(engine, racing_id, TaskPhase.BOOKED)
    booked = seller.post("/api/v1/tasks", json=task_body(b, draft_id="B-DRAFT"))
    assert refused(booked, racing_id) and "уже забронирована" in booked.json()["detail"]
    # An ended task releases them: the draft goes to the next task, and the old task, fixed, cannot take it back.
    failing = seller.post("/api/v1/tasks", json=task_body(a, racers={str(b): "B-LATER"})).json()["id"]
    _set_phase(engine, failing, TaskPhase.FAILED, "Черновик поставки не найден в кабинете WB")
    later = seller.post("/api/v1/tasks", json=task_body(b, draft_id="B-LATER"))
    assert later.status_code == 201, later.text
    assert refused(seller.patch(f"/api/v1/tasks/{failing}", json={"max_coefficient": 2}), later.json()["id"])
    assert seller.post(f"/api/v1/tasks/{later.json()['id']}/cancel").status_code == 200
    restarted = seller.patch(f"/api/v1/tasks/{failing}", json={"max_coefficient": 2})
    assert restarted.status_code == 200 and restarted.json()["phase"] == "Pending"
    assert refused(seller.post("/api/v1/tasks", json=task_body(b, draft_id="B-LATER")), failing)
    # An edit that drops the racer lets its draft go at once.
    assert seller.patch(f"/api/v1/tasks/{failing}", json={"racers": {}}).status_code == 200
    assert seller.post("/api/v1/tasks", json=task_body(b, draft_id="B-LATER")).status_code == 201


@pytest.mark.parametrize("case", ["fresh", "released", "crossed"])
def test_concurrent_tasks_on_one_racer_draft_give_exactly_one(make_person, engine: Engine, database_url: str,
                                                              case: str) -> None:
    """Tasks created at the same instant, each on its own connection, that all use account B's draft — as their
    own draft or as a racer's: exactly one is saved, every other is refused with its number. Also when the draft's
    claim row is left by a cancelled task (every contender takes it over at once), and when the contenders name
    the same two drafts crosswise (A's as their own and B's as a racer's, or the other way round)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from wbsupply.api.errors import Conflict
    from wbsupply.api.logic import tasks
    from wbsupply.store import TaskClaim, User, begin_immediate, make_engine, session_factory

    seller = make_person(plan_limit=50)
    a = seller.add_account(engine)
    b = seller.add_account(engine, phone="+79001234568")
    cancelled = None
    if case == "released":
        cancelled = seller.post("/api/v1/tasks", json=task_body(a, racers={str(b): "shared"})).json()["id"]
        assert seller.post(f"/api/v1/tasks/{cancelled}/cancel").status_code == 200
    bodies = [task_body(b, draft_id="shared") if n % 2 else task_body(a, racers={str(b): "SHARED"})
              for n in range(8)]
    if case == "crossed":
        bodies = [task_body(b, draft_id="shared", racers={str(a): "on-a"}) if n % 2
                  else task_body(a, draft_id="on-a", racers={str(b): "shared"}) for n in range(8)]
    engines = [make_engine(database_url) for _ in bodies]
    for each in engines:
        each.connect().close()
    start = threading.Barrier(len(bodies))

    def create(index: int) -> int | str:
        with session_factory(engines[index])() as reading:
            user = reading.get(User, seller.id)
        with session_factory(begin_immediate(engines[index]))() as session:  # as the API's writing sessions
            start.wait()
            try:
                return tasks.create_task(session, user, bodies[index]).id or 0
            except Conflict as exc:
                return exc.message

    try:
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            results = list(pool.map(create, range(len(bodies))))
    finally:
        for each in engines:
            each.dispose()
    [winner] = [result for result in results if isinstance(result, int)]
    assert all(f"уже выбран в задаче № {winner}" in str(result) for result in results if result != winner), results
    with session_scope(engine) as session:
        assert session.query(SupplyTask).filter(SupplyTask.id != cancelled).count() == 1
        held = session.query(TaskClaim).filter(TaskClaim.account_id == b).all()
        assert [(claim.claim_key, claim.task_id) for claim in held] == [("draft:shared", winner)]
