"""Logging into the sandbox cabinet with a real Chromium: codes, throttling, captcha, suppliers, sessions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cabinet_browser import chromium, enter_code, login, new_page, request_code
from playwright.sync_api import Browser, Page, expect

from wbsupply.sandbox.accounts import ACCESS_TTL, THROTTLE_BLOCK_HOURS, THROTTLE_MAX_REQUESTS
from wbsupply.testkit import as_typed, fresh_seller
from wbsupply.wb import cabinet_spec as spec
from wbsupply.wb.cabinet_spec import by_testid

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def cookies(page: Page) -> dict[str, dict[str, Any]]:
    return {c["name"]: dict(c) for c in page.context.cookies()}


def list_supplies(page: Page) -> Any:
    return page.evaluate("m => wbCabinet.rpc(m)", spec.RPC_LIST_SUPPLIES)


def test_wrong_code_is_refused_and_the_right_one_opens_the_cabinet(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market)
    with new_page(browser) as page:
        request_code(page, sandbox.url, as_typed(seller.phone, "+7"))  # a formatted phone is accepted too
        real = market.inbox(seller.phone)[0].code
        page.fill(by_testid(spec.Login.CODE_INPUT), "000000" if real != "000000" else "111111")
        page.click(by_testid(spec.Login.SUBMIT_CODE_BUTTON))
        expect(page.locator(by_testid(spec.Login.ERROR))).to_have_text(spec.TEXT_WRONG_CODE)

        enter_code(page, market, seller.phone)
        expect(page.locator(by_testid(spec.Supplies.PAGE))).to_be_visible()
        assert page.url == sandbox.url + spec.SUPPLIES_PATH
        jar = cookies(page)
        assert jar[spec.COOKIE_REFRESH]["httpOnly"] and jar[spec.COOKIE_VALIDATION]["httpOnly"]
        assert not jar[spec.COOKIE_ACCESS]["httpOnly"]  # the page sends it as a header
        assert jar[spec.COOKIE_SUPPLIER]["value"] == str(seller.suppliers[0].id)


def test_invalid_phone_is_refused(browser: Browser, sandbox: Any) -> None:
    with new_page(browser) as page:
        request_code(page, sandbox.url, "+7 917 000")
        expect(page.locator(by_testid(spec.Login.ERROR))).to_have_text(spec.TEXT_BAD_PHONE)


def test_too_many_code_requests_block_for_hours(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market)
    with new_page(browser) as page:
        request_code(page, sandbox.url, seller.phone)
        for _ in range(THROTTLE_MAX_REQUESTS - 1):
            page.click(by_testid(spec.Login.RESEND_BUTTON))
            page.locator(by_testid(spec.Login.CODE_INPUT)).wait_for()
        page.click(by_testid(spec.Login.RESEND_BUTTON))
        blocked = page.locator(by_testid(spec.Login.BLOCKED))
        expect(blocked).to_have_text(spec.blocked_text(THROTTLE_BLOCK_HOURS))
        assert blocked.inner_text() == "Слишком много попыток. Попробуйте через 3 ч."

        market.block_login(seller.phone, 5)  # a block set by WB shows its own hours
        page.click(by_testid(spec.Login.GET_CODE_BUTTON))
        expect(page.locator(by_testid(spec.Login.BLOCKED))).to_have_text(spec.blocked_text(5))


def test_captcha_before_the_code(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market)
    market.force_captcha(seller.phone)
    with new_page(browser) as page:
        request_code(page, sandbox.url, seller.phone)
        expect(page.locator(by_testid(spec.Login.CAPTCHA_IMAGE))).to_be_visible()
        page.fill(by_testid(spec.Login.CAPTCHA_INPUT), "wrong")
        page.click(by_testid(spec.Login.CAPTCHA_SUBMIT))
        expect(page.locator(by_testid(spec.Login.ERROR))).to_have_text(spec.TEXT_CAPTCHA_WRONG)

        answer = page.locator(by_testid(spec.Login.CAPTCHA_IMAGE)).inner_text().replace("\n", "").strip()
        assert answer == market.captcha_challenge(seller.phone)
        page.fill(by_testid(spec.Login.CAPTCHA_INPUT), answer.lower())
        page.click(by_testid(spec.Login.CAPTCHA_SUBMIT))
        enter_code(page, market, seller.phone)
        expect(page.locator(by_testid(spec.Supplies.PAGE))).to_be_visible()


def test_a_phone_with_two_suppliers_chooses_one(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market, suppliers=2)
    first, second = seller.suppliers
    with new_page(browser) as page:
        request_code(page, sandbox.url, seller.phone)
        enter_code(page, market, seller.phone)
        page.wait_for_url(f"**{spec.SUPPLIER_SELECT_PATH}**")
        items = page.locator(by_testid(spec.Suppliers.ITEM))
        expect(items).to_have_count(2)
        page.goto(sandbox.url + spec.SUPPLIES_PATH)  # no choice yet: the cabinet insists
        page.wait_for_url(f"**{spec.SUPPLIER_SELECT_PATH}**")

        page.locator(spec.supplier_item(second.id)) \
            .locator(by_testid(spec.Suppliers.SELECT_BUTTON)).click()
        expect(page.locator(by_testid(spec.Supplies.PAGE))).to_be_visible()
        expect(page.locator(by_testid(spec.Suppliers.CURRENT))).to_have_text(second.name)
        assert cookies(page)[spec.COOKIE_SUPPLIER]["value"] == str(second.id)
        session = market.session(cookies(page)[spec.COOKIE_ACCESS]["value"])
        assert session is not None and session.supplier_id == second.id

        page.click(by_testid(spec.Suppliers.SWITCH_LINK))
        page.locator(spec.supplier_item(first.id)) \
            .locator(by_testid(spec.Suppliers.SELECT_BUTTON)).click()
        expect(page.locator(by_testid(spec.Suppliers.CURRENT))).to_have_text(first.name)


def test_refresh_keeps_the_session_across_access_token_expiry(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market)
    with new_page(browser) as page:
        login(page, sandbox.url, market, seller.phone)
        before = cookies(page)[spec.COOKIE_ACCESS]["value"]

        market.clock.advance((ACCESS_TTL * 1.1).total_seconds())
        assert market.session(before) is None
        assert list_supplies(page) == {"drafts": [], "preorders": []}  # 401 → refresh → retried
        after = cookies(page)[spec.COOKIE_ACCESS]["value"]
        assert after != before and market.session(after) is not None

        # A page load with an expired token passes through the restore page and comes back.
        page.goto("about:blank")  # no heartbeat may refresh first
        market.clock.advance((ACCESS_TTL * 1.1).total_seconds())
        visited: list[str] = []
        page.on("framenavigated", lambda frame: visited.append(frame.url))
        page.goto(sandbox.url + spec.SUPPLIES_PATH)
        expect(page.locator(by_testid(spec.Supplies.PAGE))).to_be_visible()
        assert any(spec.RESTORE_PATH in url for url in visited)
        assert page.url == sandbox.url + spec.SUPPLIES_PATH
        assert cookies(page)[spec.COOKIE_ACCESS]["value"] not in (before, after)


def test_expired_session_sends_the_page_back_to_login(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market)
    with new_page(browser) as page:
        login(page, sandbox.url, market, seller.phone)
        market.expire_sessions(seller.id)
        # Nobody touches the page: its heartbeat finds the session gone and the refresh refused.
        page.wait_for_url(f"**{spec.LOGIN_PATH}?next=**", timeout=15_000)
        expect(page.locator(by_testid(spec.Login.PHONE_INPUT))).to_be_visible()
        assert spec.COOKIE_REFRESH not in cookies(page)

        login(page, sandbox.url, market, seller.phone)
        assert list_supplies(page) == {"drafts": [], "preorders": []}


def test_logout_clears_the_session(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market)
    with new_page(browser) as page:
        login(page, sandbox.url, market, seller.phone)
        page.click(by_testid(spec.Nav.LOGOUT))
        page.wait_for_url(f"**{spec.LOGIN_PATH}")
        assert not set(spec.SESSION_COOKIES) & set(cookies(page))
        page.goto(sandbox.url + spec.SUPPLIES_PATH)
        page.wait_for_url(f"**{spec.LOGIN_PATH}?next=**")
