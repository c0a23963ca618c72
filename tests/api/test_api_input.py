"""Bad input gets a 4xx with a clear (Russian) message and changes nothing."""

from __future__ import annotations

import pytest
from apihelpers import task_body
from sqlalchemy import Engine, func
from sqlmodel import select

from wbsupply.store import SupplyTask, session_scope


def _task_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(SupplyTask)).one()


@pytest.fixture
def seller(make_person, engine: Engine):
    person = make_person()
    person.account_id = person.add_account(engine)
    return person


def test_malformed_json(seller, engine: Engine) -> None:
    headers = {"content-type": "application/json"}
    response = seller.post("/api/v1/tasks", content=b'{"warehouses": [507,', headers=headers)
    assert response.status_code == 422
    assert "корректным JSON" in " ".join(response.json()["errors"])
    assert _task_count(engine) == 0


def test_wrong_types_get_the_domain_messages(seller, engine: Engine) -> None:
    response = seller.post("/api/v1/tasks", json=task_body(seller.account_id, warehouses="507", max_coefficient="x",
                                                           box_type="crate"))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "Склады: ожидается список" in errors
    assert "Максимальный коэффициент приёмки: введите целое число" in errors
    assert "Тип поставки: выберите значение из списка" in errors
    assert _task_count(engine) == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"warehouses": []}, "Выберите хотя бы один склад"),
        ({"warehouses": [507, 507]}, "Склад 507 выбран дважды: каждый склад указывается один раз"),
        ({"max_coefficient": -1}, "Коэффициент приёмки не может быть меньше 0"),
        ({"draft_id": None}, "Укажите черновик поставки или номер заказа WB либо выберите режим «Только уведомить»"),
        ({"lead_time_days": None, "date_from": "2020-01-01", "date_to": "2020-01-05"},
         "Дата окончания периода уже прошла"),
        ({"unexpected": 1}, "unexpected: такого поля нет"),
        ({"account_id": "abc"}, "Аккаунт WB: введите целое число"),
    ],
)
def test_rule_violations_are_russian(seller, engine: Engine, override: dict, message: str) -> None:
    response = seller.post("/api/v1/tasks", json={**task_body(seller.account_id), **override})
    assert response.status_code == 422, response.text
    assert message in response.json().get("errors", [response.json()["detail"]])
    assert _task_count(engine) == 0


def test_json_array_instead_of_object(seller) -> None:
    response = seller.post("/api/v1/tasks", json=[1, 2, 3])
    assert response.status_code == 422
    assert response.json()["detail"] == "Проверьте данные запроса"


def test_huge_payloads_are_413(seller, engine: Engine) -> None:
    big = {**task_body(seller.account_id), "draft_id": "x" * (1024 * 1024 + 10)}
    response = seller.post("/api/v1/tasks", json=big)
    assert response.status_code == 413
    assert response.json()["detail"] == "Слишком большой запрос: не более 1 МиБ"

    def chunks():
        for _ in range(20):
            yield b"x" * 100_000

    streamed = seller.post("/api/v1/tasks", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert _task_count(engine) == 0


def test_unknown_ids_and_bad_ids(seller) -> None:
    assert seller.client.get("/api/v1/tasks/999999").json() == {"detail": "Задача не найдена"}
    assert seller.client.get("/api/v1/tasks/abc").status_code == 422
    assert seller.post("/api/v1/tasks/999999/cancel").status_code == 404
    assert seller.post("/api/v1/wb-accounts/999999/auth", json={"kind": "code", "value": "123456"}).status_code == 404


def test_bad_auth_steps(seller) -> None:
    url = f"/api/v1/wb-accounts/{seller.account_id}/auth"
    assert seller.post(url, json={"kind": "hack", "value": "1"}).status_code == 422
    response = seller.post(url, json={"kind": "code", "value": "abc"})
    assert response.status_code == 422 and "цифры" in response.json()["detail"]
    bad_phone = seller.post("/api/v1/wb-accounts", json={"phone": "12345"})
    assert bad_phone.status_code == 422 and "+7" in bad_phone.json()["detail"]


def test_unknown_page_is_404_page(seller) -> None:
    response = seller.client.get("/no-such-page")
    assert response.status_code == 404 and "Не найдено" in response.text
