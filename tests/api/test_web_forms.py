"""The cabinet's HTML forms: login with CSRF, task form, admin forms, redirects for visitors."""

from __future__ import annotations

import re

from apihelpers import PASSWORD
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from wbsupply.domain.statuses import Role
from wbsupply.store import SupplyTask, session_scope


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_visitor_is_sent_to_login(app) -> None:
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/tasks?x=1")
        assert response.status_code == 303 and response.headers["location"] == "/login?next=/tasks%3Fx%3D1"
        assert client.get("/api/v1/tasks").status_code == 401  # the API answers JSON instead


def test_login_form_needs_the_csrf_token(make_person, app) -> None:
    person = make_person(login=False)
    with TestClient(app, follow_redirects=False) as client:
        token = _csrf(client, "/login")
        form = {"email": person.email, "password": PASSWORD, "next": "/tasks"}
        assert client.post("/login", data=form).status_code == 403
        assert client.post("/login", data={**form, "csrf_token": "forged"}).status_code == 403
        wrong = client.post("/login", data={**form, "password": "bad-password", "csrf_token": token})
        assert wrong.status_code == 401 and "Неверный e-mail или пароль" in wrong.text
        ok = client.post("/login", data={**form, "csrf_token": token})
        assert ok.status_code == 303 and ok.headers["location"] == "/tasks"
        evil = client.post("/login", data={**form, "csrf_token": token, "next": "//evil.example"})
        assert evil.headers["location"] == "/"


def test_task_form_creates_a_task_with_warehouses_in_priority_order(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    token = _csrf(seller.client, "/tasks/new")
    form = {"csrf_token": token, "account_id": str(account), "draft_id": "draft-7", "box_type": "monopallets",
            "wh": ["507", "117501", "120762"], "prio_507": "3", "prio_117501": "1", "prio_120762": "2",
            "lead_time_days": "10", "max_coefficient": "2", "mode": "notify", "weekdays": ["0", "2"]}
    response = seller.client.post("/tasks/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:3000]
    with session_scope(engine) as session:
        spec = session.query(SupplyTask).one().spec
    assert spec["warehouses"] == [117501, 120762, 507]
    assert (spec["box_type"], spec["mode"], sorted(spec["weekdays"])) == ("monopallets", "notify", [0, 2])

    bad = seller.client.post("/tasks/new", data={**form, "wh": [], "max_coefficient": "-1"})
    assert bad.status_code == 422
    assert "Выберите хотя бы один склад" in bad.text
    edit = seller.client.get("/tasks/1/edit")
    assert edit.status_code == 200 and 'value="draft-7"' in edit.text
    task = seller.client.get("/tasks/1")  # the task's own page: status, conditions, history
    assert task.status_code == 200 and "Ожидает запуска" in task.text and "draft-7" in task.text
    assert "None" not in task.text


def test_task_form_makes_an_alert_without_a_draft_with_every_filter(make_person, engine: Engine) -> None:
    seller = make_person()
    account = seller.add_account(engine)
    token = _csrf(seller.client, "/tasks/new")
    form = {"csrf_token": token, "account_id": str(account), "box_type": "monopallets", "wh": ["507"],
            "max_coefficient": "1", "mode": "notify", "max_storage_coefficient": "150", "min_days_ahead": "3",
            "pallet_count": "4", "preset": "workdays_holidays", "weekdays": ["0", "5"]}
    page = seller.client.get("/tasks/new")
    assert "без выходных и праздников" in page.text and "Не раньше чем через N дней" in page.text
    response = seller.client.post("/tasks/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:3000]
    with session_scope(engine) as session:
        spec = session.query(SupplyTask).one().spec
    assert spec["draft_id"] is None and spec["preorder_id"] is None and spec["mode"] == "notify"
    assert (spec["max_storage_coefficient"], spec["min_days_ahead"], spec["pallet_count"]) == (150, 3, 4)
    assert spec["skip_holidays"] is True and spec["weekdays"] == [0], "the preset keeps the ticked workdays"
    task = seller.client.get("/tasks/1")
    assert "хранение до 150%" in task.text and "паллет: 4" in task.text and "без праздников" in task.text
    assert "не раньше чем через 3 дн." in task.text

    edit = seller.client.get("/tasks/1/edit")
    assert 'name="skip_holidays" value="1" checked' in edit.text and 'value="150"' in edit.text
    cleared = {**form, "preset": "", "weekdays": [], "max_storage_coefficient": "", "min_days_ahead": "",
               "pallet_count": "", "csrf_token": _csrf(seller.client, "/tasks/1/edit")}
    assert seller.client.post("/tasks/1", data=cleared, follow_redirects=False).status_code == 303
    with session_scope(engine) as session:
        spec = session.query(SupplyTask).one().spec
    assert (spec["max_storage_coefficient"], spec["min_days_ahead"], spec["pallet_count"]) == (None, None, None)
    assert spec["skip_holidays"] is False and spec["weekdays"] == []

    booking = seller.client.post("/tasks/new", data={**form, "mode": "book", "csrf_token": token})
    assert booking.status_code == 422 and "либо выберите режим «Только уведомить»" in booking.text
    boxes = seller.client.post("/tasks/new", data={**form, "box_type": "boxes", "csrf_token": token})
    assert boxes.status_code == 422 and "только для монопаллет" in boxes.text
    improving = {**form, "mode": "book", "draft_id": "draft-9", "improve": "earlier", "max_moves": "3",
                 "csrf_token": token}
    assert seller.client.post("/tasks/new", data=improving, follow_redirects=False).status_code == 303
    page = seller.client.get("/tasks/2")
    assert "переносить на более раннюю дату (не больше 3 раз)" in page.text
    alert = seller.client.post("/tasks/new", data={**improving, "mode": "notify", "draft_id": ""})
    assert alert.status_code == 422 and "только в режиме «Бронировать»" in alert.text


def test_admin_creates_a_seller_in_the_panel(make_person) -> None:
    admin = make_person(role=Role.ADMIN)
    token = _csrf(admin.client, "/admin/sellers")
    page = admin.client.post("/admin/sellers", data={"csrf_token": token, "email": "shop@example.com",
                                                     "plan_limit": "25"})
    assert page.status_code == 200 and "shop@example.com" in page.text
    assert re.search(r"data-created-password>([^<]+)<", page.text)
    again = admin.client.get("/admin/sellers")
    assert "data-created-password" not in again.text  # shown once only
    invite = admin.client.post("/admin/invitations", data={"csrf_token": token, "plan_limit": "10"})
    assert "/invite/" in invite.text


def test_settings_form_creates_a_telegram_code(make_person) -> None:
    seller = make_person()
    token = _csrf(seller.client, "/settings")
    page = seller.client.post("/settings/telegram", data={"csrf_token": token})
    assert re.search(r"/start [A-Z2-9]{8}", page.text)
    assert "Telegram-бот сервиса ещё не настроен" in page.text  # no bot configured: said so, not a dead end


def test_task_form_lets_the_sellers_other_accounts_race_and_refuses_a_stranger_account(
    make_person, engine: Engine
) -> None:
    seller, stranger = make_person(), make_person()
    primary, second, foreign = seller.add_account(engine), seller.add_account(engine), stranger.add_account(engine)
    page = seller.client.get("/tasks/new")
    assert "Бронировать несколькими аккаунтами WB" in page.text and f'name="racer_{second}"' in page.text
    assert f'name="racer_{foreign}"' not in page.text  # only the seller's own accounts are offered
    token = _csrf(seller.client, "/tasks/new")
    form = {"csrf_token": token, "account_id": str(primary), "draft_id": "draft-a", "box_type": "boxes",
            "wh": ["507"], "max_coefficient": "0", "mode": "book", f"racer_{second}": " draft-b "}
    forged = seller.client.post("/tasks/new", data={**form, f"racer_{foreign}": "draft-x"}, follow_redirects=False)
    assert forged.status_code == 404
    with session_scope(engine) as session:
        assert session.query(SupplyTask).count() == 0
    response = seller.client.post("/tasks/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:3000]
    with session_scope(engine) as session:
        task = session.query(SupplyTask).one()
        assert (task.account_id, task.spec["racers"]) == (primary, {str(second): "draft-b"})
    edit = seller.client.get(f"/tasks/{task.id}/edit")
    assert edit.status_code == 200 and 'value="draft-b"' in edit.text
    cleared = seller.client.post(f"/tasks/{task.id}", data={**form, f"racer_{second}": ""}, follow_redirects=False)
    assert cleared.status_code == 303
    with session_scope(engine) as session:
        assert session.get(SupplyTask, task.id).spec["racers"] == {}
