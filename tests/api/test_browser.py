"""The cabinet in a real browser (Chromium via Playwright): the main journeys, with a screenshot of each page.

Screenshots go to ``artifacts/screenshots/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from apihelpers import PASSWORD
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine

from wbsupply.api.app import create_app
from wbsupply.api.logic import users
from wbsupply.config import Settings
from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BoxType, Role, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.process import ProcessContext
from wbsupply.store import SupplyTask, make_engine, session_factory, session_scope
from wbsupply.testkit import as_typed, new_phone, serve_in_thread

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-gpu"]


class Cabinet:
    def __init__(self, url: str, engine: Engine, feed: MemoryFeed) -> None:
        self.url, self.engine, self.feed = url, engine, feed

    def user(self, email: str, role: Role = Role.SELLER, plan_limit: int = 25) -> str:
        with session_factory(self.engine)() as session:
            users.create_user(session, email, PASSWORD, role=role, plan_limit=plan_limit)
        return email


@pytest.fixture
def cabinet(sqlite_database_url: str, tmp_path: Path) -> Iterator[Cabinet]:
    settings = Settings(database_url=sqlite_database_url, data_dir=tmp_path, secret_key="browser-test",
                        sandbox_enabled=False)
    engine = make_engine(sqlite_database_url)
    feed = MemoryFeed(1000)
    app = create_app(ProcessContext(settings=settings, feed=feed, engine=engine))
    served = serve_in_thread(app, name="cabinet", timeout=20)
    try:
        yield Cabinet(served.url, engine, feed)
    finally:
        served.stop()
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = Settings().resolved_browser_executable()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable) if executable else None,
                                             headless=True, args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ru-RU", viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page: Page, cabinet: Cabinet, email: str, password: str = PASSWORD) -> None:
    page.goto(cabinet.url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_have_text(email)


def test_admin_creates_a_seller_who_then_signs_in(cabinet: Cabinet, page: Page, browser: Browser) -> None:
    admin = cabinet.user("admin@example.com", role=Role.ADMIN)
    page.goto(cabinet.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/"))
    shot(page, "01-login")
    login(page, cabinet, admin)
    page.click("text=Админка")
    shot(page, "10-admin-overview")
    page.click("nav.sub >> text=Продавцы")
    page.fill("form[action='/admin/sellers'] input[name=email]", "shop@example.com")
    page.select_option("form[action='/admin/sellers'] select[name=plan_limit]", "50")
    page.click("form[action='/admin/sellers'] button")
    password = page.locator("[data-created-password]").inner_text()
    assert len(password) >= 12
    shot(page, "11-admin-sellers")
    page.click("nav.sub >> text=Боты")
    shot(page, "12-admin-bots")
    page.click("nav.sub >> text=Ошибки")
    shot(page, "13-admin-errors")

    seller_context = browser.new_context(locale="ru-RU")
    seller_page = seller_context.new_page()
    login(seller_page, cabinet, "shop@example.com", password)
    expect(seller_page.locator(".usage")).to_contain_text("из 50 бронирований")
    seller_context.close()


def test_seller_connects_wb_creates_a_task_and_sees_it_live(cabinet: Cabinet, page: Page) -> None:
    seller = cabinet.user("seller@example.com")
    login(page, cabinet, seller)
    shot(page, "02-dashboard-empty")
    page.click("header >> text=Аккаунты WB")
    page.fill("input[name=phone]", as_typed(new_phone(), "+7"))
    page.fill("input[name=label]", "ИП Ромашка")
    page.click("form[action='/wb/connect'] button")
    expect(page.locator("article.card h2")).to_contain_text("ИП Ромашка")
    expect(page.locator(".wb-answer")).to_contain_text("Запрашиваем код")
    shot(page, "03-connect-wb")

    page.click("header >> text=Задачи")
    page.click("text=Новая задача")
    page.fill("input[name=draft_id]", "draft-42")
    page.select_option("select[name=box_type]", "boxes")
    for warehouse_id, priority in ((117501, "2"), (507, "1")):
        page.check(f"input[name=wh][value='{warehouse_id}']")
        page.fill(f"input[name=prio_{warehouse_id}]", priority)
    page.fill("input[name=lead_time_days]", "10")
    page.fill("input[name=max_coefficient]", "1")
    shot(page, "04-task-form")
    page.click("form.task-form button[type=submit]")
    expect(page).to_have_url(cabinet.url + "/tasks")
    row = page.locator("table.list tr").nth(1)
    expect(row).to_contain_text("Коледино, Подольск")
    expect(row.locator("[data-task-phase]")).to_have_text("Ожидает запуска")
    shot(page, "05-tasks")

    page.click("header >> text=Главная")
    phase = page.locator("[data-task-phase]").first
    expect(phase).to_have_text("Ожидает запуска")
    with session_scope(cabinet.engine) as session:  # the bot moves the task: the page follows without reload
        task = session.query(SupplyTask).one()
        task.phase, task.message = TaskPhase.WATCHING, "Ищем слот"
    expect(phase).to_have_text("Ищем слот", timeout=8_000)
    shot(page, "06-dashboard")

    for path, name in (("/bookings", "07-bookings"), ("/settings", "08-settings"), ("/honesty", "09-honesty")):
        page.goto(cabinet.url + path)
        shot(page, name)


def test_calendar_renders_the_heat_map(cabinet: Cabinet, page: Page) -> None:
    today = dt.datetime.now(MOSCOW).date()
    slots = {}
    for n, (warehouse_id, name) in enumerate(((507, "Коледино"), (117501, "Подольск"), (686, "Новосибирск"))):
        for offset in range(30):
            coefficient = [-1, 0, 1, 3, 8][(n + offset) % 5]
            slot = Slot(SlotKey(warehouse_id, today + dt.timedelta(days=offset), BoxType.BOXES), coefficient,
                        coefficient >= 0, 120, name)
            slots[f"{warehouse_id}:{offset}"] = slot.to_dict()
    # Playwright's sync API runs an event loop in this thread: publish from another one, as the monitor would.
    publisher = threading.Thread(target=asyncio.run, args=(cabinet.feed.set_calendar(slots),))
    publisher.start()
    publisher.join()
    login(page, cabinet, cabinet.user("calendar@example.com"))
    page.click("header >> text=Календарь слотов")
    heatmap = page.locator("#heatmap")
    expect(heatmap.locator("tr")).to_have_count(4)
    expect(heatmap.locator("td.c-free")).to_have_count(18)
    expect(heatmap.locator("td.c-closed")).to_have_count(18)
    shot(page, "14-calendar")
