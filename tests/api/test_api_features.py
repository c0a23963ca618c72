"""Tasks, WB accounts, slots, usage, notifications and the admin figures through the JSON API."""

from __future__ import annotations

import asyncio
import datetime as dt

from apihelpers import task_body
from sqlalchemy import Engine

from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BotStatus, BoxType, Role, TaskPhase
from wbsupply.store import (
    Booking,
    BookingState,
    EventLog,
    MonthlyUsage,
    SlotHistory,
    SupplyTask,
    WbAccount,
    session_scope,
)
from wbsupply.store.accounts import TelegramLinkCode
from wbsupply.store.auth import WbAuthRequest
from wbsupply.store.quota import month_key
from wbsupply.testkit import as_typed, new_phone


def _set_phase(engine: Engine, task_id: int, phase: TaskPhase) -> None:
    with session_scope(engine) as session:
        session.get(SupplyTask, task_id).phase = phase


def test_task_lifecycle(make_person, engine: Engine) -> None:
    seller = make_person(plan_limit=50)
    account = seller.add_account(engine)
    year = dt.datetime.now(dt.UTC).year + 1  # deadlines are at most a year ahead
    created = seller.post("/api/v1/tasks", json=task_body(account, deadline=f"{year}-01-01T12:00"))
    assert created.status_code == 201
    task = created.json()
    assert task["phase"] == "Pending" and task["phase_label"] == "Ожидает запуска"
    assert [w["name"] for w in task["warehouses"]] == ["Коледино", "Подольск"]
    # A naive deadline is Moscow time.
    assert dt.datetime.fromisoformat(task["deadline"]) == dt.datetime(year, 1, 1, 9, 0, tzinfo=dt.UTC)
    with session_scope(engine) as session:
        assert session.get(SupplyTask, task["id"]).plan_rank == 4  # «Бизнес»

    edited = seller.patch(f"/api/v1/tasks/{task['id']}", json={"max_coefficient": 3, "warehouses": [117501]})
    assert edited.status_code == 200 and edited.json()["spec"]["max_coefficient"] == 3
    assert edited.json()["spec"]["draft_id"] == task["spec"]["draft_id"]  # a partial edit keeps the rest

    _set_phase(engine, task["id"], TaskPhase.WATCHING)
    paused = seller.post(f"/api/v1/tasks/{task['id']}/pause").json()
    assert paused["phase"] == "Pending" and paused["message"] == "Приостановлено вами"
    resumed = seller.post(f"/api/v1/tasks/{task['id']}/resume").json()
    assert (resumed["phase"], resumed["message"], resumed["paused"]) == ("Pending", None, False)

    _set_phase(engine, task["id"], TaskPhase.BOOKING)
    assert seller.post(f"/api/v1/tasks/{task['id']}/pause").status_code == 409
    refused = seller.post(f"/api/v1/tasks/{task['id']}/cancel")
    assert refused.status_code == 409 and "бронирует" in refused.json()["detail"]
    assert seller.patch(f"/api/v1/tasks/{task['id']}", json={"max_coefficient": 1}).status_code == 409

    _set_phase(engine, task["id"], TaskPhase.WATCHING)
    assert seller.post(f"/api/v1/tasks/{task['id']}/cancel").json()["phase"] == "Cancelled"
    assert seller.post(f"/api/v1/tasks/{task['id']}/resume").status_code == 409
    assert seller.client.get("/api/v1/tasks?active=true").json() == []
    assert len(seller.client.get("/api/v1/tasks").json()) == 1


def test_an_alert_without_a_draft_and_the_slot_filters_through_the_api(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    body = task_body(account, draft_id=None, mode="notify", box_type="monopallets", max_storage_coefficient=150,
                     min_days_ahead=2, pallet_count=3, skip_holidays=True, weekdays=[0, 1, 2, 3, 4])
    created = seller.post("/api/v1/tasks", json=body)
    assert created.status_code == 201, created.text
    spec = created.json()["spec"]
    assert spec["draft_id"] is None and spec["mode"] == "notify" and spec["skip_holidays"] is True
    assert (spec["max_storage_coefficient"], spec["min_days_ahead"], spec["pallet_count"]) == (150, 2, 3)
    edited = seller.patch(f"/api/v1/tasks/{created.json()['id']}", json={"min_days_ahead": 5})
    assert edited.status_code == 200 and edited.json()["spec"]["min_days_ahead"] == 5
    refused = seller.post("/api/v1/tasks", json={**body, "mode": "book"})
    assert refused.status_code == 422 and "Только уведомить" in refused.json()["detail"]
    no_day = seller.post("/api/v1/tasks", json={**body, "lead_time_days": 3, "min_days_ahead": 5})
    assert no_day.status_code == 422 and "не осталось подходящих дней" in no_day.json()["detail"]
    assert seller.post("/api/v1/tasks", json={**body, "pallet_count": 0}).status_code == 422


def test_live_snapshot_follows_the_bot(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    task = seller.post("/api/v1/tasks", json=task_body(account)).json()["id"]
    with session_scope(engine) as session:
        session.get(WbAccount, account).status = BotStatus.ACTIVE
        row = session.get(SupplyTask, task)
        row.phase, row.message = TaskPhase.BOOKING, "Бронируем Коледино на 01.12"
    live = seller.client.get("/api/v1/live").json()
    assert live["tasks"] == [{"id": task, "phase": "Booking", "phase_label": "Бронируем",
                              "message": "Бронируем Коледино на 01.12", "paused": False, "moves": 0}]
    assert live["bots"][0]["status_label"] == "Активен"


def test_connect_wb_relays_steps_to_the_bot(make_person, engine: Engine) -> None:
    seller, phone = make_person(), new_phone()
    connected = seller.post("/api/v1/wb-accounts", json={"phone": as_typed(phone), "label": "Мой ИП"})
    assert connected.status_code == 201, connected.text
    account = connected.json()
    assert account["phone"] == phone and account["status_label"] == "Создание бота"
    code = seller.post(f"/api/v1/wb-accounts/{account['id']}/auth", json={"kind": "code", "value": "123456"})
    assert code.status_code == 200 and code.json()["auth_message"] == "Проверяем код…"
    with session_scope(engine) as session:
        steps = [(r.kind.value, r.status.value) for r in session.query(WbAuthRequest).order_by(WbAuthRequest.id)]
    assert steps == [("phone", "pending"), ("code", "pending")]

    second = seller.post("/api/v1/wb-accounts", json={"phone": new_phone()})
    assert second.status_code == 409 and "«Бизнес»" in second.json()["detail"]
    listed = seller.client.get("/api/v1/wb-accounts").json()
    assert listed["max_accounts"] == 1 and "блокир" in listed["ban_risk_warning"]

    off = seller.post(f"/api/v1/wb-accounts/{account['id']}/disconnect").json()
    assert off["status"] == "STOPPED" and off["auth_state"] == "idle"


def test_premium_seller_must_accept_the_ban_risk(make_person) -> None:
    seller = make_person(plan_limit=50)
    assert seller.post("/api/v1/wb-accounts", json={"phone": new_phone()}).status_code == 201
    phone = new_phone()
    risky = seller.post("/api/v1/wb-accounts", json={"phone": phone})
    assert risky.status_code == 422 and "риск блокировки" in risky.json()["detail"]
    accepted = seller.post("/api/v1/wb-accounts", json={"phone": phone, "accept_risk": True})
    assert accepted.status_code == 201
    assert seller.post("/api/v1/wb-accounts", json={"phone": phone, "accept_risk": True}).status_code == 409


def test_calendar_comes_from_the_feed(make_person, runtime) -> None:
    seller = make_person()
    today = dt.datetime.now(MOSCOW).date()
    slots = [Slot(SlotKey(507, today + dt.timedelta(days=2), BoxType.BOXES), 0, True, 120, "Коледино"),
             Slot(SlotKey(507, today + dt.timedelta(days=3), BoxType.BOXES), -1, False, 120, "Коледино"),
             Slot(SlotKey(999001, today, BoxType.BOXES), 7, True, None, "Новый склад"),
             Slot(SlotKey(507, today, BoxType.MONOPALLETS), 1, True, None, "Коледино")]
    asyncio.run(runtime.feed.set_calendar({str(i): s.to_dict() for i, s in enumerate(slots)}))
    grid = seller.client.get("/api/v1/slots/calendar?box_type=boxes").json()
    assert len(grid["dates"]) == 30 and grid["dates"][0] == today.isoformat()
    rows = {row["name"]: row["cells"] for row in grid["rows"]}
    assert rows["Коледино"][2] == 0 and rows["Коледино"][3] is None and rows["Новый склад"][0] == 7
    known = {row["name"]: row["known"] for row in grid["rows"]}
    assert known["Коледино"][3] and not known["Коледино"][20]  # closed is reported; day 20 nobody covers
    assert grid["covered_days"] == 3
    assert seller.client.get("/api/v1/slots/calendar?box_type=pallets").status_code == 422
    page = seller.client.get("/calendar")
    assert page.status_code == 200 and 'class="cell c-free"' in page.text and "Новый склад" in page.text
    assert "нет данных" in page.text and 'class="cell c-unknown"' in page.text


def test_history_statistics(make_person, engine: Engine) -> None:
    seller = make_person()
    now = dt.datetime.now(dt.UTC)
    day = now.date() + dt.timedelta(days=5)
    with session_scope(engine) as session:
        for minutes, kind, coefficient in ((-120, "opened", 0), (-119, "closed", -1), (-60, "opened", 1),
                                           (-58, "closed", -1)):
            session.add(SlotHistory(warehouse_id=507, slot_date=day, box_type=BoxType.BOXES, coefficient=coefficient,
                                    allow_unload=coefficient >= 0, kind=kind,
                                    observed_at=now + dt.timedelta(minutes=minutes)))
    stats = seller.client.get("/api/v1/slots/stats?warehouse_id=507&box_type=boxes").json()
    item = stats["stats"][0]
    assert (item["warehouse_name"], item["openings"], item["free_openings"]) == ("Коледино", 2, 1)
    assert item["median_open_seconds"] == 90.0
    # Two hours of history are no basis for "N a day": too little data, and never "did not open".
    assert (item["enough_history"], item["calendar_days"]) == (False, 0)
    assert stats["chances"][0].startswith("Коледино, Короба: мало данных")


def test_usage_counts_the_ledger(make_person, engine: Engine) -> None:
    seller = make_person(plan_limit=10)
    with session_scope(engine) as session:
        session.add(MonthlyUsage(user_id=seller.id, month=month_key(), used=3, reserved=1))
    usage = seller.client.get("/api/v1/usage").json()
    assert (usage["used"], usage["reserved"], usage["remaining"], usage["percent"]) == (3, 1, 6, 40)


def test_notification_settings_and_telegram_code(make_person, engine: Engine) -> None:
    seller = make_person()
    prefs = seller.client.get("/api/v1/notifications").json()
    assert prefs["channels"] == {"telegram": True, "email": True} and prefs["telegram_linked"] is False
    updated = seller.client.put("/api/v1/notifications", json={"events": {"quota": False}}, headers=seller.csrf())
    assert updated.json()["events"]["quota"] is False and updated.json()["events"]["booked"] is True
    assert seller.client.put("/api/v1/notifications", json={"events": {"spam": True}},
                             headers=seller.csrf()).status_code == 422
    first = seller.post("/api/v1/notifications/telegram-code").json()["code"]
    second = seller.post("/api/v1/notifications/telegram-code").json()["code"]
    with session_scope(engine) as session:
        codes = [row.code for row in session.query(TelegramLinkCode).all()]
    assert codes == [second] and first != second and len(second) == 8


def test_admin_figures(make_person, engine: Engine) -> None:
    admin, seller = make_person(role=Role.ADMIN), make_person()
    account = seller.add_account(engine)
    tasks = [seller.post("/api/v1/tasks", json=task_body(account)).json()["id"] for _ in range(3)]
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        for task_id, state in zip(tasks, (BookingState.CONFIRMED, BookingState.CONFIRMED, BookingState.RELEASED),
                                  strict=True):
            session.add(Booking(task_id=task_id, user_id=seller.id, month=month_key(), state=state, warehouse_id=507,
                                confirmed_at=now if state is BookingState.CONFIRMED else None))
        session.add(EventLog(level="ERROR", source="worker", account_id=account, message="browser crashed"))
        row = session.get(WbAccount, account)
        row.memory_bytes, row.last_error = 180 * 2**20, "browser crashed"
    stats = admin.client.get("/api/v1/admin/stats/bookings").json()
    assert (stats["confirmed"], stats["released"], stats["success_rate"]) == (2, 1, 0.667)
    assert stats["per_warehouse"][0] == {"warehouse_id": 507, "warehouse_name": "Коледино", "confirmed": 2,
                                         "released": 1}
    assert stats["per_day"] == [{"date": now.date().isoformat(), "bookings": 2}]
    assert admin.client.get("/api/v1/admin/errors").json()[0]["message"] == "browser crashed"
    bots = admin.client.get("/api/v1/admin/bots").json()
    assert bots[0]["memory_mb"] == 180.0 and bots[0]["owner_email"] == seller.email
    load = admin.client.get("/api/v1/admin/load").json()
    assert len(load["loadavg"]) == 3 and load["memory_total_mb"] > 0

    assert admin.post(f"/api/v1/admin/bots/{account}/stop").json()["status"] == "STOPPED"
    assert admin.post(f"/api/v1/admin/bots/{account}/start").json()["status"] == "INITIALIZING"
    assert admin.post(f"/api/v1/admin/bots/{account}/restart").status_code == 200
    with session_scope(engine) as session:
        assert session.get(WbAccount, account).next_restart_at is not None
    assert admin.post(f"/api/v1/admin/bots/{account}/explode").status_code == 422
    assert admin.post("/api/v1/admin/bots/99999/stop").status_code == 404


def test_wb_api_token_is_stored_encrypted(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    url = f"/api/v1/wb-accounts/{account}/api-token"
    short = seller.client.put(url, json={"token": "abc"}, headers=seller.csrf())
    assert short.status_code == 422 and "неполным" in short.json()["detail"]
    token = "eyJhbGciOiJFUzI1NiJ9.sandbox-token-value"
    saved = seller.client.put(url, json={"token": token}, headers=seller.csrf())
    assert saved.status_code == 200 and saved.json()["has_api_token"] is True
    with session_scope(engine) as session:
        blob = session.get(WbAccount, account).api_token_blob
    assert blob and token.encode() not in blob
    assert seller.client.put(url, json={"token": ""}, headers=seller.csrf()).json()["has_api_token"] is False


def test_racing_accounts_are_the_sellers_own(make_person, engine: Engine) -> None:
    """A task may list the seller's other WB accounts (each with its own draft); another seller's account is
    «not found», exactly like a missing one, and no task is made."""
    seller, stranger = make_person(plan_limit=50), make_person()
    primary, second, foreign = seller.add_account(engine), seller.add_account(engine), stranger.add_account(engine)
    created = seller.post("/api/v1/tasks", json=task_body(primary, racers={str(second): "draft-of-second"}))
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["racers"] == {str(second): "draft-of-second"}

    refused = seller.post("/api/v1/tasks", json=task_body(primary, racers={str(foreign): "draft-x"}))
    assert refused.status_code == 404
    edited = seller.patch(f"/api/v1/tasks/{created.json()['id']}", json={"racers": {str(foreign): "draft-x"}})
    assert edited.status_code == 404
    assert seller.post("/api/v1/tasks", json=task_body(primary, racers={str(primary): "d"})).status_code == 422
    no_draft = seller.post("/api/v1/tasks", json=task_body(primary, racers={str(second): " "}))
    assert no_draft.status_code == 422 and "черновик" in no_draft.json()["detail"]
    with session_scope(engine) as session:
        specs = [task.spec for task in session.query(SupplyTask).all()]
    assert [spec.get("racers") for spec in specs] == [{str(second): "draft-of-second"}]
