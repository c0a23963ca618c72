"""Cabinet pages that tell the truth at a glance: feed and unread count, tokens, offline API docs, words."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

from apihelpers import PASSWORD
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from wbsupply.api.logic import admin_views
from wbsupply.api.logic.load_history import LoadHistory
from wbsupply.api.web import charts
from wbsupply.control.base import Notice
from wbsupply.domain.ruformat import coefficient, msk, plural, ru_date, ru_month
from wbsupply.domain.statuses import Role
from wbsupply.monitor.metrics import MonitorMetrics
from wbsupply.notify import outbox
from wbsupply.notify.kinds import NoticeKind
from wbsupply.process import ProcessContext
from wbsupply.store import session_scope


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def test_russian_dates_and_moscow_time() -> None:
    assert ru_date("2026-12-04") == "4 декабря 2026" and ru_date(dt.date(2026, 12, 4), True) == "4 декабря 2026, пт"
    assert ru_month("2026-12") == "декабрь 2026"
    assert msk(dt.datetime(2026, 12, 4, 11, 5)) == "4 декабря 2026, 14:05 МСК"  # naive = UTC, as SQLite gives it
    assert msk("2026-12-31T22:30:00+00:00") == "1 января 2027, 01:30 МСК"
    assert (coefficient(0), coefficient(2.0), coefficient(None)) == ("бесплатно", "×2", "—")
    assert [plural(n, "раз", "раза", "раз") for n in (1, 2, 5, 11, 12, 21, 22)] == [
        "раз", "раза", "раз", "раз", "раз", "раз", "раза"]


def test_feed_shows_notices_counts_unread_and_filters(make_person, engine: Engine) -> None:
    seller = make_person()
    slot = {"warehouse_id": 507, "warehouse_name": "Коледино", "date": "2026-12-04", "box_type": "boxes",
            "coefficient": 0}
    with session_scope(engine) as session:
        outbox.enqueue_notice(session, Notice(seller.id, NoticeKind.SLOT_FOUND, "s1", {"task_id": 1, "slot": slot}))
        outbox.enqueue_notice(session, Notice(seller.id, NoticeKind.BOOKED, "b1",
                                              {"task_id": 2, "slot": slot, "supply_id": 77}))
    assert seller.client.get("/api/v1/live").json()["unread"] == 2
    page = seller.client.get("/notifications").text
    assert "Найден подходящий слот" in page and "Поставка запланирована" in page and "Коледино" in page
    assert page.count('class="notice unread') == 2
    assert seller.client.get("/api/v1/live").json()["unread"] == 0  # opening the feed marks it read
    booked_only = seller.client.get("/notifications?group=booked").text
    assert "Поставка запланирована" in booked_only and "Найден подходящий слот" not in booked_only
    assert 'class="notice unread' not in booked_only


def test_admin_alerts_page_shows_admin_notices(make_person, engine: Engine) -> None:
    admin = make_person(role=Role.ADMIN)
    with session_scope(engine) as session:
        outbox.enqueue_admin_alert(session, NoticeKind.WB_API_DISABLED, {"detail": "temporarily disabled"}, "w1")
    page = admin.client.get("/admin/alerts")
    assert page.status_code == 200 and "WB API недоступен" in page.text
    assert "Админка" in admin.client.get("/admin").text and "<svg" in admin.client.get("/admin").text


def test_api_tokens_page_creates_a_token_shown_once(make_person) -> None:
    seller = make_person()
    token = _csrf(seller.client, "/tokens")
    page = seller.client.post("/tokens", data={"csrf_token": token, "name": "склад-1С"}).text
    created = re.search(r"data-new-token>([^<]+)<", page)
    assert created and "склад-1С" in page
    with TestClient(seller.client.app) as other:  # a program with only the token
        me = other.get("/api/v1/me", headers={"Authorization": f"Bearer {created.group(1)}"})
    assert me.status_code == 200 and me.json()["email"] == seller.email
    assert "data-new-token" not in seller.client.get("/tokens").text


def test_telegram_link_step_names_the_bot(runtime: ProcessContext, make_person) -> None:
    runtime.settings.telegram_bot_username = "wbsupply_test_bot"
    seller = make_person()
    page = seller.client.post("/settings/telegram", data={"csrf_token": _csrf(seller.client, "/settings")}).text
    assert "@wbsupply_test_bot" in page and "https://t.me/wbsupply_test_bot" in page


def test_api_docs_use_installed_assets(app: FastAPI) -> None:
    with TestClient(app) as client:
        for path, asset in (("/docs", "/static/docs/swagger-ui-bundle.js"),
                            ("/redoc", "/static/docs/redoc.standalone.js")):
            html = client.get(path).text
            assert asset in html and "cdn." not in html and "fonts.googleapis" not in html
            assert client.get(asset).status_code == 200


def test_admin_lands_on_the_admin_panel(make_person, app: FastAPI) -> None:
    admin = make_person(role=Role.ADMIN, login=False)
    with TestClient(app, follow_redirects=False) as client:
        token = _csrf(client, "/login")
        answer = client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token,
                                             "next": "/"})
        assert answer.status_code == 303 and answer.headers["location"] == "/admin"


def test_admin_charts_read_the_monitor_and_the_load_history() -> None:
    metrics = MonitorMetrics()
    for seconds in (0.3, 0.4, 5.0):
        metrics.detection_lag.observe(seconds)
    lag = dict(admin_views.detection_lag(SimpleNamespace(metrics=metrics)))
    assert (lag["≤0.5"], lag["≤6"], lag["≤0.1"]) == (2, 1, 0)
    assert admin_views.detection_lag(None) == []  # the monitor runs in another process
    history = LoadHistory()
    for minute in (0, 30, 61):
        history.sample(dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute))
    assert [hour for hour, _ in history.hourly()] == ["12:00", "13:00"]  # Moscow hours
    svg = str(charts.bars([("12:00", 1.5), ("13:00", 0.5)], title="Нагрузка"))
    assert svg.startswith("<svg") and svg.count("<rect") == 2 and "12:00: 1.5" in svg
