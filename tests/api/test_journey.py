"""The whole product in a browser: a seller connects WB through the code relay, creates a task, the sandbox
opens a slot and the cabinet shows the supply booked — with the real worker (supervisor, Chromium) at work.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from apihelpers import PASSWORD
from playwright.sync_api import Page, expect
from test_browser import browser, login, page, shot  # noqa: F401  (fixtures)

from wbsupply.api.app import create_app
from wbsupply.api.logic import users
from wbsupply.config import Settings
from wbsupply.domain.ruformat import ru_date
from wbsupply.domain.slots import Slot, SlotEvent, SlotEventKind, SlotKey
from wbsupply.domain.statuses import BoxType
from wbsupply.feed.memory import MemoryFeed
from wbsupply.process import ProcessContext
from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import RunningSandbox, run_sandbox_in_thread
from wbsupply.store import Booking, BookingState, make_engine, session_factory, session_scope
from wbsupply.testkit import free_port, fresh_preorder, fresh_seller

pytestmark = pytest.mark.slow

WAREHOUSE_ID = 507
SLOW = 60_000  # ms: a bot logs in and books through a real browser


@dataclass
class Product:
    url: str
    runtime: ProcessContext
    loop: asyncio.AbstractEventLoop
    sandbox: RunningSandbox

    def publish(self, events: list[dict[str, Any]]) -> None:
        """What the monitor does when it sees a slot open (on the loop the bots read the feed from)."""
        asyncio.run_coroutine_threadsafe(self.runtime.feed.publish(events), self.loop).result(10)


@contextlib.contextmanager
def running_product(database_url: str, data_dir: Path, **overrides: Any) -> Iterator[Product]:
    """The cabinet and the bots' supervisor on one loop, as in `wbsupply up`, against a sandbox WB."""
    from wbsupply.worker.main import Supervisor

    sandbox = run_sandbox_in_thread(SandboxConfig(seed=7, pow_difficulty=8, simulation=SimulationConfig.frozen(),
                                                  background_steps=False))
    port = free_port()
    settings = Settings(database_url=database_url, data_dir=data_dir, secret_key="journey-secret",
                        sandbox_enabled=True, sandbox_host="127.0.0.1", sandbox_port=int(sandbox.url.rsplit(":", 1)[1]),
                        api_port=port, **overrides)
    runtime = ProcessContext(settings=settings, feed=MemoryFeed(1000))
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:  # the API and the bots share one loop, as in `wbsupply up`
        supervisor = asyncio.create_task(Supervisor(runtime).run(stop))
        await server.serve()
        stop.set()
        await supervisor

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the cabinet did not start"
        time.sleep(0.05)
    try:
        yield Product(f"http://127.0.0.1:{port}", runtime, loop, sandbox)
    finally:
        server.should_exit = True
        thread.join(60)
        sandbox.stop()


@pytest.fixture
def product(sqlite_database_url: str, tmp_path: Path) -> Iterator[Product]:
    with running_product(sqlite_database_url, tmp_path) as running:
        yield running


def connect_wb(page: Page, product: Product, phone: str) -> None:  # noqa: F811
    """The seller connects a WB account through the code relay (the sandbox delivers the SMS)."""
    page.goto(product.url + "/wb")
    page.fill("input[name=phone]", phone)
    page.click("form[action='/wb/connect'] button")
    code_input = page.locator("form input[name=value][autocomplete=one-time-code]")
    expect(code_input).to_be_visible(timeout=SLOW)
    code_input.fill(product.sandbox.market.inbox(phone)[0].code)
    page.click("form:has(input[name=value][autocomplete=one-time-code]) button")
    expect(page.locator("[data-bot-status]").first).to_have_text("Активен", timeout=SLOW)


def test_seller_connects_wb_and_sees_the_supply_booked(product: Product, page: Page) -> None:  # noqa: F811
    market = product.sandbox.market
    seller = fresh_seller(market)
    supplier_id = seller.suppliers[0].id
    preorder = fresh_preorder(market, seller, WAREHOUSE_ID, BoxType.BOXES)
    engine = make_engine(product.runtime.settings.resolved_database_url())
    with session_factory(engine)() as session:
        users.create_user(session, "journey@example.com", PASSWORD, plan_limit=5)

    login(page, product, "journey@example.com")  # type: ignore[arg-type]
    page.goto(product.url + "/wb")
    page.fill("input[name=phone]", seller.phone)
    page.click("form[action='/wb/connect'] button")
    # The bot asks WB for a code; the page redraws itself with the code form (live status, no manual reload).
    code_input = page.locator("form input[name=value][autocomplete=one-time-code]")
    expect(code_input).to_be_visible(timeout=SLOW)
    card = page.locator("article.card")
    expect(card.locator("button", has_text="Получить код")).to_have_count(0)  # the code is already on its way
    expect(card.locator(".error")).to_have_count(0)  # waiting for a login is not a bot error
    shot(page, "20-journey-code")
    right = market.inbox(seller.phone)[0].code
    code_input.fill("000000" if right != "000000" else "111111")
    page.click("form:has(input[name=value][autocomplete=one-time-code]) button")
    # The bot tries the code in WB; the card redraws itself with WB's answer and the code form again.
    expect(card.locator(".wb-answer")).to_contain_text("Неверный код", timeout=SLOW)
    expect(code_input).to_be_visible()
    shot(page, "20b-journey-wrong-code")
    code_input.fill(right)
    page.click("form:has(input[name=value][autocomplete=one-time-code]) button")
    expect(page.locator("[data-bot-status]").first).to_have_text("Активен", timeout=SLOW)
    expect(card.locator(".error")).to_have_count(0)
    page.fill("input[name=token]", seller.api_token)
    page.click("form[action$='/api-token'] button")
    expect(page.locator("article.card")).to_contain_text("сохранён")
    shot(page, "21-journey-connected")

    page.goto(product.url + "/tasks/new")
    page.fill("input[name=preorder_id]", str(preorder.id))
    page.check(f"input[name=wh][value='{WAREHOUSE_ID}']")
    page.fill("input[name=lead_time_days]", "10")
    page.click("form.task-form button[type=submit]")
    expect(page).to_have_url(product.url + "/tasks")

    page.goto(product.url + "/")
    phase = page.locator("[data-task-phase]").first
    expect(phase).to_have_text("Ищем слот", timeout=SLOW)
    day = market.clock.today_msk() + dt.timedelta(days=3)
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, coefficient=0)
    slot = Slot(SlotKey(WAREHOUSE_ID, day, BoxType.BOXES), 0, True, None, "Коледино")
    product.publish([SlotEvent(SlotEventKind.OPENED, slot, None, dt.datetime.now(dt.UTC)).to_dict()])
    # Once the task is booked the dashboard redraws itself (no reload by the seller): the booking is listed.
    expect(page.locator("section:has(h2[data-bookings])")).to_contain_text("Коледино", timeout=SLOW)
    expect(page.locator(".usage [data-usage-used]")).to_have_text("1", timeout=10_000)
    with session_scope(engine) as session:
        booking = session.query(Booking).one()
        assert (booking.state, booking.slot_date, booking.warehouse_id) == (BookingState.CONFIRMED, day, WAREHOUSE_ID)
        supply = str(booking.supply_id)
    assert booking.supply_id
    # At a glance: the task reads «Забронировано» with the slot and the supply number, the list has both too.
    expect(page.locator("[data-task-phase]").first).to_have_text("Забронировано")
    expect(page.locator("[data-booked] [data-supply]")).to_have_text(supply)
    recent = page.locator("section:has(h2[data-bookings])")
    expect(recent).to_contain_text(f"поставка № {supply}")
    expect(recent).to_contain_text("коэффициент: бесплатно")
    expect(recent).to_contain_text(ru_date(day))
    shot(page, "22-journey-booked")

    page.goto(product.url + "/bookings")
    expect(page.locator("table.list")).to_contain_text(ru_date(day, True))
    expect(page.locator("table.list")).to_contain_text(supply)
    shot(page, "23-journey-bookings")

    # The task's own page: its status, its bookings and what happened.
    page.click(f"table.list a[href='/tasks/{booking.task_id}']")
    expect(page.locator("[data-task-phase]")).to_have_text("Забронировано")
    expect(page.locator("[data-task-bookings]")).to_contain_text(supply)
    history = page.locator("[data-history]")
    expect(history).to_contain_text("Забронировано")
    expect(history).to_contain_text("МСК")
    expect(page.locator("[data-attempts]")).to_have_text("1")
    shot(page, "24-journey-task-history")
    assert market.preorder(supplier_id, preorder.id).status_id == 2  # planned in the (sandbox) WB cabinet
    engine.dispose()
