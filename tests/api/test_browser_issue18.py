"""Issue 18 as a seller does it in the cabinet, in a real browser against the sandbox WB with the real bots:
a booked supply moved to an earlier slot («После бронирования переносить поставку»), and one task booked by
the first of two racing WB accounts («Бронировать несколькими аккаунтами WB»).
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from apihelpers import PASSWORD
from playwright.sync_api import Page, expect
from sqlmodel import select
from test_browser import browser, login, page, shot  # noqa: F401  (fixtures)
from test_journey import SLOW, WAREHOUSE_ID, Product, connect_wb, product  # noqa: F401

from wbsupply.api.logic import users
from wbsupply.api.logic.wb import MULTI_ACCOUNT_MIN_PLAN
from wbsupply.domain.ruformat import ru_date
from wbsupply.domain.slots import Slot, SlotEvent, SlotEventKind, SlotKey
from wbsupply.domain.statuses import BoxType
from wbsupply.store import Booking, BookingState, SupplyTask, WbAccount, make_engine, session_factory, session_scope

pytestmark = pytest.mark.slow


def open_slot(running: Product, day: dt.date, coefficient: int = 0, capacity: int = 3) -> None:
    """WB opens a slot and the monitor publishes it (as test_journey does)."""
    running.sandbox.market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=coefficient, capacity=capacity)
    slot = Slot(SlotKey(WAREHOUSE_ID, day, BoxType.BOXES), coefficient, True, None, "Коледино")
    running.publish([SlotEvent(SlotEventKind.OPENED, slot, None, dt.datetime.now(dt.UTC)).to_dict()])


def wb_bookings(running: Product) -> list[dict]:
    """What WB has: every booking and reschedule made in the (sandbox) cabinet, through its control API."""
    return httpx.get(running.sandbox.url + "/sandbox/bookings", timeout=10).json()


def test_a_seller_sets_a_task_to_move_its_supply_and_sees_it_moved(product: Product, page: Page) -> None:  # noqa: F811
    market = product.sandbox.market
    phone = "+79270000181"
    seller = market.create_seller(phone=phone)
    supplier_id = seller.suppliers[0].id
    preorder = market.create_preorder(supplier_id, market.create_draft(supplier_id, [("2040000000017", 6)]).id,
                                      WAREHOUSE_ID, BoxType.BOXES)
    engine = make_engine(product.runtime.settings.resolved_database_url())
    with session_factory(engine)() as session:
        users.create_user(session, "mover@example.com", PASSWORD, plan_limit=5)
    login(page, product, "mover@example.com")  # type: ignore[arg-type]
    connect_wb(page, product, phone)

    page.goto(product.url + "/tasks/new")
    page.fill("input[name=preorder_id]", str(preorder.id))
    page.check(f"input[name=wh][value='{WAREHOUSE_ID}']")
    page.fill("input[name=lead_time_days]", "12")
    page.select_option("select[name=improve]", "earlier")  # «После бронирования переносить поставку»
    page.click("form.task-form button[type=submit]")
    expect(page).to_have_url(product.url + "/tasks")
    with session_scope(engine) as session:
        task = session.exec(select(SupplyTask)).one()
        task_id = task.id
        assert (task.spec["improve"], task.spec["max_moves"]) == ("earlier", 2)

    page.goto(product.url + "/")
    expect(page.locator(f"[data-task-phase='{task_id}']")).to_have_text("Ищем слот", timeout=SLOW)
    today = market.clock.today_msk()
    late, early = today + dt.timedelta(days=9), today + dt.timedelta(days=4)
    open_slot(product, late)
    booked = page.locator(f"[data-booked='{task_id}']")
    expect(booked).to_contain_text(ru_date(late, True), timeout=SLOW)  # the dashboard redraws itself
    expect(page.locator(f"[data-task-phase='{task_id}']")).to_have_text("Забронировано")
    supply_id = market.preorder(supplier_id, preorder.id).supply_id
    assert supply_id

    # An earlier fitting slot opens: the bot moves the supply (plan/update); the dashboard redraws with it.
    open_slot(product, early)
    expect(booked).to_contain_text(ru_date(early, True), timeout=SLOW)
    expect(booked.locator("[data-moved]")).to_have_text("Поставка перенесена")
    expect(page.locator(f"[data-task-phase='{task_id}']")).to_have_text("Забронировано")
    expect(page.locator(".usage [data-usage-used]")).to_have_text("1")  # a move is not a booking
    recent = page.locator("section:has(h2[data-bookings])")
    expect(recent).to_contain_text(ru_date(early, True))
    expect(recent).not_to_contain_text(ru_date(late, True))
    shot(page, "40-dashboard-supply-moved")

    page.click(f"a[href='/tasks/{task_id}']")
    expect(page.locator("[data-task-phase]")).to_have_text("Забронировано")
    on_task = page.locator(f"[data-booked='{task_id}']")
    expect(on_task).to_contain_text(ru_date(early, True))
    expect(on_task.locator("[data-supply]")).to_have_text(str(supply_id))
    expect(on_task.locator("[data-moved]")).to_contain_text("Поставка перенесена на лучший слот (переносов: 1 из 2)")
    history = page.locator("[data-history]")
    expect(history).to_contain_text("Поставка перенесена на лучший слот")
    expect(history).to_contain_text("Уведомление: Поставка перенесена")
    expect(page.locator("[data-task-bookings] tr")).to_have_count(2)  # the header and the one booking
    shot(page, "41-task-supply-moved")

    page.goto(product.url + "/bookings")
    rows = page.locator("table.list tr:has(td)")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(ru_date(early, True))
    expect(rows).to_contain_text(str(supply_id))
    expect(page.locator("header [data-unread]")).to_have_text("2")  # booked, then moved
    page.click("header >> text=Уведомления")
    expect(page.locator("[data-notice]").filter(has_text="Поставка перенесена")).to_have_count(1)

    # WB: one supply, the same number, moved to the earlier date.
    mine = [b for b in wb_bookings(product) if b["supplier_id"] == supplier_id]
    assert [(b["supply_id"], b["date"], b["rescheduled"]) for b in mine] == [
        (supply_id, late.isoformat(), False), (supply_id, early.isoformat(), True)]
    planned = market.preorder(supplier_id, preorder.id)
    assert (planned.supply_id, planned.supply_date, planned.status_id) == (supply_id, early, 2)
    with session_scope(engine) as session:
        [booking] = session.exec(select(Booking)).all()
        assert (booking.state, booking.slot_date, booking.supply_id) == (BookingState.CONFIRMED, early, supply_id)
        assert session.get(SupplyTask, task_id).moves == 1
    engine.dispose()


def test_a_seller_races_two_wb_accounts_for_one_task_and_sees_which_booked(product: Product,  # noqa: F811
                                                                            page: Page) -> None:  # noqa: F811
    market = product.sandbox.market
    phones = ("+79270000182", "+79270000183")
    sellers = [market.create_seller(phone=phone) for phone in phones]
    suppliers = [s.suppliers[0].id for s in sellers]
    drafts = [market.create_draft(supplier, [("2040000000017", 4)]).id for supplier in suppliers]
    engine = make_engine(product.runtime.settings.resolved_database_url())
    with session_factory(engine)() as session:
        users.create_user(session, "racer@example.com", PASSWORD, plan_limit=MULTI_ACCOUNT_MIN_PLAN)
    login(page, product, "racer@example.com")  # type: ignore[arg-type]
    connect_wb(page, product, phones[0])
    # The second account: the seller confirms the ban risk of several accounts, then types WB's code.
    page.fill("input[name=phone]", phones[1])
    page.check("input[name=accept_risk]")
    page.click("form[action='/wb/connect'] button")
    code_input = page.locator("form input[name=value][autocomplete=one-time-code]")
    expect(code_input).to_be_visible(timeout=SLOW)
    code_input.fill(market.inbox(phones[1])[0].code)
    page.click("form:has(input[name=value][autocomplete=one-time-code]) button")
    expect(page.locator("[data-bot-status]")).to_have_text(["Активен", "Активен"], timeout=SLOW)
    with session_scope(engine) as session:
        accounts = {row.phone: row.id for row in session.exec(select(WbAccount)).all()}
    first, second = accounts[phones[0]], accounts[phones[1]]

    page.goto(product.url + "/tasks/new")
    page.select_option("select[name=account_id]", str(first))
    page.fill("input[name=draft_id]", drafts[0])
    page.click("details.racers summary")  # «Бронировать несколькими аккаунтами WB»
    page.fill(f"[data-testid=racer-{second}]", drafts[1])
    page.check(f"input[name=wh][value='{WAREHOUSE_ID}']")
    page.fill("input[name=lead_time_days]", "10")
    page.click("form.task-form button[type=submit]")
    expect(page).to_have_url(product.url + "/tasks")
    with session_scope(engine) as session:
        task = session.exec(select(SupplyTask)).one()
        task_id = task.id
        assert task.spec["racers"] == {str(second): drafts[1]}

    page.goto(f"{product.url}/tasks/{task_id}")
    expect(page.locator("[data-racers]")).to_have_text(phones[1])
    expect(page.locator("[data-task-phase]")).to_have_text("Ищем слот", timeout=SLOW)
    day = market.clock.today_msk() + dt.timedelta(days=5)
    open_slot(product, day, capacity=5)  # room for both supplies: only the race decides
    expect(page.locator("[data-task-phase]")).to_have_text("Забронировано", timeout=SLOW)

    with session_scope(engine) as session:
        [booking] = session.exec(select(Booking)).all()
    winner = phones[0] if booking.account_id == first else phones[1]
    assert booking.account_id in (first, second) and booking.state is BookingState.CONFIRMED
    supplies = [b for b in wb_bookings(product) if b["supplier_id"] in suppliers]
    assert [(b["supply_id"], b["date"]) for b in supplies] == [(booking.supply_id, day.isoformat())]
    assert supplies[0]["seller_id"] == sellers[phones.index(winner)].id
    loser = suppliers[1 - phones.index(winner)]
    assert all(p.status_id == 1 for p in market.list_preorders(loser))  # the other account planned nothing

    booked = page.locator(f"[data-booked='{task_id}']")
    expect(booked.locator("[data-supply]")).to_have_text(str(booking.supply_id))
    expect(booked.locator("[data-booked-account]")).to_have_text(winner)
    shot(page, "42-task-raced")
    page.goto(product.url + "/bookings")
    rows = page.locator("table.list tr:has(td)")
    expect(rows).to_have_count(1)
    expect(rows.locator("[data-booking-account]")).to_have_text(winner)
    page.goto(product.url + "/")
    expect(page.locator(".usage [data-usage-used]")).to_have_text("1")
    engine.dispose()
