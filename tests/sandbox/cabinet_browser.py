"""Playwright helpers for the cabinet tests: the system Chromium and a login through the UI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from wbsupply.config import Settings
from wbsupply.domain.statuses import BoxType
from wbsupply.testkit import fresh_preorder, fresh_seller
from wbsupply.wb import cabinet_spec as spec
from wbsupply.wb.cabinet_spec import by_testid

# Root on a closed network: no sandbox, no background traffic; images off as the worker runs.
BROWSER_ARGS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-gpu", "--blink-settings=imagesEnabled=false",
]
WAREHOUSE_ID = 507  # Коледино takes every box type


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = Settings().resolved_browser_executable()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable) if executable else None, headless=True, args=BROWSER_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Browser) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(locale="ru-RU")
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def enter_code(page: Page, market: Any, phone: str) -> None:
    page.locator(by_testid(spec.Login.CODE_INPUT)).wait_for()
    page.fill(by_testid(spec.Login.CODE_INPUT), market.inbox(phone)[0].code)
    page.click(by_testid(spec.Login.SUBMIT_CODE_BUTTON))


def request_code(page: Page, base_url: str, phone: str) -> None:
    page.goto(base_url + spec.SUPPLIES_PATH)
    page.wait_for_url(f"**{spec.LOGIN_PATH}**")
    page.fill(by_testid(spec.Login.PHONE_INPUT), phone)
    page.click(by_testid(spec.Login.GET_CODE_BUTTON))


def login(page: Page, base_url: str, market: Any, phone: str) -> None:
    """Phone → code from the sandbox inbox → the supplies page."""
    request_code(page, base_url, phone)
    enter_code(page, market, phone)
    page.locator(by_testid(spec.Supplies.PAGE)).wait_for()
    page.wait_for_function("() => window.wbCabinet !== undefined")  # the page's script, not only its markup


def seller_with_preorder(market: Any, suppliers: int = 1) -> tuple[Any, Any]:
    """A fresh seller and a preorder of its first supplier to :data:`WAREHOUSE_ID`."""
    seller = fresh_seller(market, suppliers=suppliers)
    return seller, fresh_preorder(market, seller, WAREHOUSE_ID, BoxType.BOXES)


def msk_day(market: Any, days_ahead: int) -> date:
    return market.clock.today_msk() + timedelta(days=days_ahead)


def preorder_row(page: Page, preorder_id: int) -> Any:
    return page.locator(spec.preorder_row(preorder_id))


def calendar_day(page: Page, day: date) -> Any:
    return page.locator(spec.calendar_day(day))


def choose_day(page: Page, preorder_id: int, day: date) -> None:
    """Open the planning dialog of a preorder and choose ``day`` («Запланировать» is then enabled)."""
    preorder_row(page, preorder_id).locator(by_testid(spec.Supplies.PLAN_BUTTON)).click()
    calendar_day(page, day).locator(by_testid(spec.Calendar.CHOOSE_BUTTON)).click()

