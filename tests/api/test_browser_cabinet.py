"""What sellers and the admin see at a glance, in a real browser: the notification feed, the admin's alerts
after a crashed bot, the API docs offline, and every page on a phone (390 px) without sideways scrolling.

Screenshots go to ``artifacts/screenshots/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from apihelpers import PASSWORD
from playwright.sync_api import Browser, Page, Route, expect
from sqlmodel import select
from test_browser import Cabinet, browser, cabinet, login, page, shot  # noqa: F401  (fixtures)
from test_journey import SLOW, WAREHOUSE_ID, Product, connect_wb, product, running_product  # noqa: F401

from wbsupply.api.logic import users
from wbsupply.control.base import Notice
from wbsupply.crypto import session_box
from wbsupply.domain.slots import Slot, SlotEvent, SlotEventKind, SlotKey
from wbsupply.domain.statuses import BoxType, Role, TaskPhase
from wbsupply.notify import outbox
from wbsupply.notify.kinds import NoticeKind
from wbsupply.store import SupplyTask, User, WbAccount, make_engine, quota, session_factory, session_scope
from wbsupply.store.journal import NotificationOutbox
from wbsupply.testkit import free_port, fresh_preorder, fresh_seller, new_phone
from wbsupply.worker import main as worker_main

pytestmark = pytest.mark.slow

PHONE_WIDTH = 390


def test_feed_shows_a_notify_only_slot_without_telegram(product: Product, page: Page) -> None:  # noqa: F811
    market = product.sandbox.market
    seller = fresh_seller(market)
    supplier_id = seller.suppliers[0].id
    preorder = fresh_preorder(market, seller, WAREHOUSE_ID, BoxType.BOXES)
    assert product.runtime.settings.telegram_bot_token is None  # the default: no Telegram, no e-mail
    engine = make_engine(product.runtime.settings.resolved_database_url())
    with session_factory(engine)() as session:
        users.create_user(session, "notify@example.com", PASSWORD)
    login(page, product, "notify@example.com")  # type: ignore[arg-type]
    connect_wb(page, product, seller.phone)

    page.goto(product.url + "/tasks/new")
    page.fill("input[name=preorder_id]", str(preorder.id))
    page.check(f"input[name=wh][value='{WAREHOUSE_ID}']")
    page.fill("input[name=lead_time_days]", "10")
    page.check("input[name=mode][value=notify]")
    page.click("form.task-form button[type=submit]")
    page.goto(product.url + "/")
    expect(page.locator("[data-task-phase]").first).to_have_text("Ищем слот", timeout=SLOW)

    day = market.clock.today_msk() + dt.timedelta(days=4)
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0)
    slot = Slot(SlotKey(WAREHOUSE_ID, day, BoxType.BOXES), 0, True, None, "Коледино")
    product.publish([SlotEvent(SlotEventKind.OPENED, slot, None, dt.datetime.now(dt.UTC)).to_dict()])
    # The menu counts the new notice while the seller looks at another page (no reload).
    expect(page.locator("header [data-unread]")).to_have_text("1", timeout=SLOW)
    shot(page, "30-dashboard-unread")
    page.click("header >> text=Уведомления")
    notice = page.locator("[data-notice=slot_found]")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Найден подходящий слот")
    expect(notice).to_contain_text("Коледино")
    expect(notice).to_contain_text("бесплатно")
    expect(notice).to_contain_text("МСК")
    expect(page.locator("header [data-unread]")).to_be_hidden(timeout=10_000)  # seen now
    shot(page, "31-feed-slot-found")
    page.click("nav.filters >> text=Бронирования")
    expect(page.locator("[data-notice]")).to_have_count(0)
    page.click("nav.filters >> text=Найденные слоты")
    page.click("[data-notice=slot_found] >> text=Открыть")  # the task's page keeps what the seller was told
    history = page.locator("[data-history]")
    expect(history).to_contain_text("Уведомление: Найден подходящий слот")
    expect(page.locator("[data-task-phase]")).to_have_text("Ищем слот")
    # Pausing asks nothing; cancelling asks first, and «Нет» leaves the task alone.
    page.click("form[action$='/pause?back=task'] button")
    expect(page.locator("[data-task-phase]")).to_have_text("Приостановлена")
    expect(history).to_contain_text("Вы поставили задачу на паузу")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("form[action$='/cancel?back=task'] button")
    expect(page.locator("[data-task-phase]")).to_have_text("Приостановлена")
    shot(page, "34-task-history-notify-only")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[action$='/cancel?back=task'] button")
    expect(page.locator("[data-task-phase]")).to_have_text("Отменено")
    assert market.preorder(supplier_id, preorder.id).status_id == 1  # notify-only: nothing booked
    engine.dispose()


def test_admin_sees_a_crashed_bot_in_alerts(sqlite_database_url: str, tmp_path: Path, page: Page,  # noqa: F811
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # WB's cabinet cannot be reached (nothing listens there): a bot with a saved session crashes when it starts.
    monkeypatch.setattr(worker_main, "RESTART_BACKOFF_S", 1.0)  # restarts come quicker than in production
    unreachable = f"http://127.0.0.1:{free_port()}"
    engine = make_engine(sqlite_database_url)
    with session_factory(engine)() as session:
        users.create_user(session, "ops@example.com", PASSWORD, role=Role.ADMIN)
        owner = users.create_user(session, "crashy@example.com", PASSWORD)
        state = session_box("journey-secret").encrypt(json.dumps({"cookies": [], "origins": []}).encode())
        owner_id = owner.id or 0
        session.add(WbAccount(owner_id=owner_id, phone=new_phone(), label="ИП Сбой", session_blob=state))
        session.commit()
    with running_product(sqlite_database_url, tmp_path, wb_cabinet_url=unreachable) as running:
        login(page, running, "ops@example.com")  # type: ignore[arg-type]
        expect(page).to_have_url(running.url + "/admin")  # the admin lands on the panel, not a seller dashboard
        page.click("nav.sub >> text=Оповещения")
        expect(page.locator("header [data-unread]")).to_have_text("1", timeout=SLOW)  # arrives while looking
        page.reload()
        alert = page.locator("[data-notice=bot_error]")
        expect(alert).to_contain_text("Бот остановился с ошибкой")
        expect(alert).to_contain_text("ИП Сбой")
        expect(page.locator("[data-troubled-bot]")).to_contain_text("crashy@example.com")
        expect(page.locator("[data-troubled-bot]")).to_contain_text("Ошибка")
        shot(page, "32-admin-alerts-crash")
        # It keeps crashing on every restart: the admins are told it is a loop, once.
        page.reload()
        expect(page.locator("[data-notice=bot_crash_loop]")).to_have_count(1, timeout=SLOW)
        expect(page.locator("[data-notice=bot_crash_loop]")).to_contain_text("остановился 3 раза подряд")
        page.click("nav.sub >> text=Ошибки")
        expect(page.locator("table.list").last).to_contain_text("Бот аварийно остановился")
        shot(page, "33-admin-errors")
    with session_scope(engine) as session:  # the seller was told too, on every channel
        rows = session.exec(select(NotificationOutbox).where(NotificationOutbox.kind == NoticeKind.BOT_ERROR.value))
        told = {(row.user_id, row.channel.value) for row in rows}
        assert {(owner_id, "cabinet"), (owner_id, "telegram"), (owner_id, "email")} <= told
    engine.dispose()


def test_api_docs_render_offline(cabinet: Cabinet, page: Page) -> None:  # noqa: F811
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if route.request.url.startswith(cabinet.url):
            route.continue_()
        else:
            outside.append(f"{route.request.resource_type} {route.request.url}")
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(cabinet.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("wbsupply", timeout=20_000)
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    shot(page, "40-docs-offline")
    page.goto(cabinet.url + "/redoc")
    expect(page.locator("h1").first).to_contain_text("wbsupply", timeout=20_000)
    shot(page, "41-redoc-offline")
    # Scripts, styles and fonts all come from the installed package; ReDoc's «powered by» badge is the one
    # remote image it asks for, and the page renders without it.
    assert [url for url in outside if not url.startswith("image ")] == []


def _seed(cabinet: Cabinet) -> None:  # noqa: F811
    """A seller with an account, tasks in several states, a booking and notices; an admin."""
    admin = cabinet.user("phone-admin@example.com", role=Role.ADMIN)
    seller = cabinet.user("phone-seller@example.com", plan_limit=50)
    with session_scope(cabinet.engine) as session:
        user = session.exec(select(User).where(User.email == seller)).one()
        account = WbAccount(owner_id=user.id or 0, phone=new_phone(), label="ИП Очень Длинное Название Магазина",
                            last_error="Подключите аккаунт WB: введите код из СМС")
        session.add(account)
        session.flush()
        today = dt.date.today()
        spec = {"account_id": str(account.id), "warehouses": [507, 117501, 120762, 686], "box_type": "boxes",
                "max_coefficient": 1, "date_from": (today + dt.timedelta(days=2)).isoformat(),
                "date_to": (today + dt.timedelta(days=20)).isoformat(), "mode": "book",
                "draft_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "weekdays": [], "skip_dates": []}
        for phase in (TaskPhase.WATCHING, TaskPhase.PENDING, TaskPhase.BOOKED):
            session.add(SupplyTask(owner_id=user.id or 0, account_id=account.id or 0, spec=spec, phase=phase,
                                   message="Приостановлено вами" if phase is TaskPhase.PENDING else None))
        session.flush()
        booked = session.exec(select(SupplyTask).where(SupplyTask.phase == TaskPhase.BOOKED)).one()
        booked.booked_date, booked.booked_warehouse_id, booked.booked_warehouse_name = today, 507, "Коледино"
        booked.booked_coefficient = 0
        outbox.enqueue_notice(session, Notice(user.id or 0, NoticeKind.AUTH_LOST, "a1",
                                              {"account_id": account.id, "phone": account.phone}, admins=True))
        user_id, task_id = user.id or 0, booked.id or 0
    reservation = quota.reserve(cabinet.engine, user_id, quota.month_key(), 50, task_id)
    assert reservation is not None
    quota.commit(reservation, warehouse_id=507, warehouse_name="Коледино", slot_date=dt.date.today(),
                 box_type=BoxType.BOXES, coefficient=0, supply_id=123456789)
    assert admin


SELLER_PAGES = ["/", "/wb", "/tasks", "/tasks/new", "/tasks/3", "/tasks/1/edit", "/calendar", "/bookings",
                "/notifications", "/settings", "/tokens", "/honesty"]
ADMIN_PAGES = ["/admin", "/admin/alerts", "/admin/sellers", "/admin/bots", "/admin/errors"]


def test_every_page_fits_a_phone(cabinet: Cabinet, browser: Browser) -> None:  # noqa: F811
    _seed(cabinet)
    context = browser.new_context(locale="ru-RU", viewport={"width": PHONE_WIDTH, "height": 844},
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    phone_page = context.new_page()
    wide = []
    for email, paths in (("phone-seller@example.com", SELLER_PAGES), ("phone-admin@example.com", ADMIN_PAGES)):
        phone_page.context.clear_cookies()
        login(phone_page, cabinet, email)
        for path in paths:
            response = phone_page.goto(cabinet.url + path)
            assert response is not None and response.status == 200, path
            width = phone_page.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE_WIDTH:
                wide.append((path, width))
            name = path.strip("/").replace("/", "-") or "dashboard"
            shot(phone_page, f"50-phone-{name}")
    context.close()
    assert wide == [], f"pages wider than the phone: {wide}"
