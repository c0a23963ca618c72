"""Booking in the sandbox cabinet with a real Chromium: drafts, calendar, captcha-guarded plan/add, races."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cabinet_browser import (
    WAREHOUSE_ID,
    calendar_day,
    choose_day,
    chromium,
    login,
    msk_day,
    new_page,
    preorder_row,
    seller_with_preorder,
)
from playwright.sync_api import Browser, expect

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox import pow
from wbsupply.testkit import fresh_seller
from wbsupply.wb import cabinet_spec as spec
from wbsupply.wb.cabinet_spec import by_testid

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def test_login_create_and_book_through_the_ui(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller = fresh_seller(market)
    free_day, paid_day, closed_day = msk_day(market, 3), msk_day(market, 5), msk_day(market, 4)
    market.open_slot(WAREHOUSE_ID, free_day, BoxType.BOXES, coefficient=0, capacity=2)
    market.open_slot(WAREHOUSE_ID, paid_day, BoxType.BOXES, coefficient=3, capacity=2)
    with new_page(browser) as page:
        login(page, sandbox.url, market, seller.phone)

        page.click(by_testid(spec.Supplies.CREATE_BUTTON))
        page.fill(by_testid(spec.Supplies.BARCODE_INPUT), "2040000000017")
        page.fill(by_testid(spec.Supplies.QUANTITY_INPUT), "12")
        page.click(by_testid(spec.Supplies.SAVE_DRAFT_BUTTON))
        draft_row = page.locator(by_testid(spec.Supplies.DRAFT_ROW))
        expect(draft_row).to_have_count(1)
        draft_row.locator(by_testid(spec.Supplies.WAREHOUSE_SELECT)).select_option(str(WAREHOUSE_ID))
        draft_row.locator(by_testid(spec.Supplies.BOX_TYPE_SELECT)).select_option(label=BoxType.BOXES.label)
        draft_row.locator(by_testid(spec.Supplies.CREATE_PREORDER_BUTTON)).click()

        row = page.locator(by_testid(spec.Supplies.PREORDER_ROW))
        expect(row.locator(by_testid(spec.Supplies.PREORDER_STATUS))).to_have_text(spec.TEXT_NOT_PLANNED)
        preorder_id = int(row.get_attribute(spec.Attr.PREORDER_ID) or 0)

        row.get_by_role("button", name=spec.TEXT_PLAN_SUPPLY).click()
        expect(page.locator(by_testid(spec.Calendar.DAY))).to_have_count(30)
        coefficient = spec.Calendar.DAY_COEFFICIENT
        expect(calendar_day(page, closed_day).locator(by_testid(coefficient))).to_have_text(spec.TEXT_UNAVAILABLE)
        expect(calendar_day(page, closed_day).get_by_role("button")).to_have_count(0)
        expect(calendar_day(page, paid_day).locator(by_testid(coefficient))).to_have_text("×3")
        expect(calendar_day(page, free_day).locator(by_testid(coefficient))).to_have_text(spec.TEXT_FREE)
        calendar_day(page, free_day).get_by_role("button", name=spec.TEXT_CHOOSE).click()
        page.get_by_role("button", name=spec.TEXT_PLAN, exact=True).click()

        row = preorder_row(page, preorder_id)
        expect(row.locator(by_testid(spec.Supplies.PREORDER_STATUS))).to_have_text(spec.TEXT_PLANNED)
        supply_id = row.locator(by_testid(spec.Supplies.PREORDER_SUPPLY_ID)).inner_text()
        expect(row.locator(by_testid(spec.Supplies.PREORDER_DATE))).to_have_text(free_day.strftime("%d.%m.%Y"))

    booked = market.preorder(seller.suppliers[0].id, preorder_id)
    assert (booked.status_id, booked.supply_date, str(booked.supply_id)) == (2, free_day, supply_id)
    assert market.slot(WAREHOUSE_ID, free_day, BoxType.BOXES).capacity == 1


def test_plan_add_needs_the_pages_proof_of_work(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    seller, preorder = seller_with_preorder(market)
    day = msk_day(market, 2)
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=1, capacity=5)
    params = {"preorderID": preorder.id, "deliveryDate": day.isoformat()}
    call = "([method, params, headers]) => wbCabinet.rpc(method, params, headers).then(r => ({result: r}), " \
           "e => ({code: e.code, message: e.message}))"
    with new_page(browser) as page:
        login(page, sandbox.url, market, seller.phone)

        # Summarised in the page: shipping 5,000 records through the driver would dominate the test.
        summary = page.evaluate("""m => wbCabinet.rpc(m).then(({report}) => ({
            dates: new Set(report.map(r => r.date.slice(0, 10))).size,
            warehouses: [...new Set(report.map(r => r.warehouseID))],
            open: report.filter(r => r.allowUnload).map(r => [r.warehouseID, r.date.slice(0, 10), r.boxTypeID]),
        }))""", spec.RPC_COEFFICIENTS_REPORT)
        assert summary["dates"] == 30
        assert set(summary["warehouses"]) == {w.id for w in market.warehouses}
        assert summary["open"] == [[WAREHOUSE_ID, day.isoformat(), BoxType.BOXES.wb_box_type_id]]

        refused = page.evaluate(call, [spec.RPC_PLAN_ADD, params, {}])
        assert refused == {"code": spec.RPC_ERR_CAPTCHA, "message": spec.TEXT_CAPTCHA_FAILED}
        challenge = page.evaluate(call, [spec.RPC_CAPTCHA_CHALLENGE, {}, {}])["result"]["challenge"]
        wrong = {spec.CAPTCHA_HEADER: f"{challenge}:{_failing_nonce(challenge, market.pow_difficulty)}"}
        assert page.evaluate(call, [spec.RPC_PLAN_ADD, params, wrong])["code"] == spec.RPC_ERR_CAPTCHA
        assert market.preorder(preorder.supplier_id, preorder.id).status_id == 1

        headers = page.evaluate("() => wbCabinet.captchaHeaders()")
        booked = page.evaluate(call, [spec.RPC_PLAN_ADD, params, headers])["result"]
        assert booked["statusID"] == 2 and booked["supplyID"]
        # A solved challenge is spent: replaying the token does not move the supply.
        replay = page.evaluate(call, [spec.RPC_PLAN_UPDATE, params, headers])
        assert replay["code"] == spec.RPC_ERR_CAPTCHA

        later = msk_day(market, 9)
        market.open_slot(WAREHOUSE_ID, later, BoxType.BOXES, coefficient=2, capacity=1)
        moved_params = {"preorderID": preorder.id, "deliveryDate": later.isoformat()}
        fresh = page.evaluate("() => wbCabinet.captchaHeaders()")
        moved = page.evaluate(call, [spec.RPC_PLAN_UPDATE, moved_params, fresh])["result"]
        assert (moved["supplyID"], moved["supplyDate"]) == (booked["supplyID"], later.isoformat())

    assert market.preorder(preorder.supplier_id, preorder.id).supply_id == booked["supplyID"]


def _failing_nonce(challenge: str, difficulty: int) -> int:
    return next(n for n in range(1000) if not pow.check(challenge, n, difficulty))


def test_the_last_unit_goes_to_exactly_one_of_two_sessions(browser: Browser, sandbox: Any) -> None:
    market = sandbox.market
    day = msk_day(market, 7)
    first = seller_with_preorder(market)
    second = seller_with_preorder(market)
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0, capacity=1)
    with new_page(browser) as page_a, new_page(browser) as page_b:
        pages = [(page_a, *first), (page_b, *second)]
        for page, seller, _ in pages:
            login(page, sandbox.url, market, seller.phone)
        # Both see the open date and have chosen it before either presses «Запланировать».
        for page, _, preorder in pages:
            choose_day(page, preorder.id, day)
        for page, _, _ in pages:
            page.click(by_testid(spec.Calendar.CONFIRM_BUTTON))

        outcomes = []
        for page, _, preorder in pages:
            status = preorder_row(page, preorder.id).locator(by_testid(spec.Supplies.PREORDER_STATUS))
            error = page.locator(by_testid(spec.Calendar.ERROR))
            planned = status.filter(has_text=re.compile(f"^{spec.TEXT_PLANNED}$"))  # not «Не запланировано»
            expect(planned.or_(error.filter(has_text=spec.TEXT_SLOT_TAKEN))).to_be_visible()
            outcomes.append(error.is_visible())
            if error.is_visible():  # the loser's calendar was reloaded: the date is gone, nothing booked
                expect(calendar_day(page, day).locator(by_testid(spec.Calendar.DAY_COEFFICIENT))) \
                    .to_have_text(spec.TEXT_UNAVAILABLE)
    assert sorted(outcomes) == [False, True]
    statuses = sorted(market.preorder(p.supplier_id, p.id).status_id for _, _, p in pages)
    assert statuses == [1, 2]
    assert len(market.bookings()) == 1


def test_page_sha256_and_solver_agree_with_python(browser: Browser, sandbox: Any) -> None:
    samples = ["", "abc", "wbsupply-challenge-0", "я" * 100]
    with new_page(browser) as page:
        page.goto(sandbox.url + spec.LOGIN_PATH)
        hexed = "async ([fn, s]) => [...await wbCabinet[fn](new TextEncoder().encode(s))]" \
                ".map(b => b.toString(16).padStart(2, '0')).join('')"
        for sample in samples:
            expected = hashlib.sha256(sample.encode()).hexdigest()
            assert page.evaluate(hexed, ["sha256", sample]) == expected
            assert page.evaluate(hexed, ["sha256Fallback", sample]) == expected
        nonce = page.evaluate("([c, d]) => wbCabinet.solvePow(c, d)", ["fixed-challenge", 10])
    assert nonce == pow.solve("fixed-challenge", 10)


def test_rpc_without_a_session_is_a_401_json_rpc_error(sandbox: Any) -> None:
    body = {"params": {}, "jsonrpc": "2.0", "id": 7}
    response = httpx.post(sandbox.url + spec.rpc_path(spec.RPC_COEFFICIENTS_REPORT), json=body)
    assert response.status_code == 401
    assert response.json() == {"jsonrpc": "2.0", "id": 7,
                               "error": {"code": spec.RPC_ERR_UNAUTHORIZED, "message": "unauthorized"}}
