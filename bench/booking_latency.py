"""Slot event → booking confirmed, and slot event → supply moved, with a real bot in a real browser against
the sandbox cabinet.

For each round a fresh preorder and task wait in Watching; a slot opens in the sandbox and its event is
published to the bot's feed. Latency is from publishing the event to the moment the bot committed the
confirmed booking (``bookings.confirmed_at``: after ``plan/add`` and WB's supplies API said «Запланировано»).
Both booking strategies: the page's JSON-RPC ``plan/add`` and the click-through dialog. The captcha has the
sandbox's default difficulty, so the page's proof of work is part of the figure.

The reschedule path (``move_*``): a task with ``improve: earlier`` is booked on a late date first (not timed),
then an earlier slot's event is published; latency is from publishing it to the committed move (the
"supply moved" event log row: after ``plan/update`` and WB showing the supply on the new date).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from wbsupply.benchkit import BenchResult, machine_setup, percentile
from wbsupply.testkit import eventually

SECRET = "bench-secret"
WAREHOUSE_ID = 507
BUSY_BOTS = 10  # a packed worker pod's default: bots sharing one browser, all booking at once


def main(quick: bool = False) -> BenchResult:
    from wbsupply.sandbox.app import SandboxConfig
    from wbsupply.sandbox.simulation import SimulationConfig
    from wbsupply.sandbox.testing import run_sandbox_in_thread

    rounds = 4 if quick else 20
    sandbox = run_sandbox_in_thread(SandboxConfig(seed=5, simulation=SimulationConfig.frozen(),
                                                  background_steps=False))
    try:
        with tempfile.TemporaryDirectory() as folder:
            latencies = asyncio.run(_run(sandbox, Path(folder), rounds, busy=BUSY_BOTS))
    finally:
        sandbox.stop()
    result = BenchResult("booking_latency", "")
    for path, values in latencies.items():
        # busy_pod_rpc: BUSY_BOTS bots in one browser whose slots open in the same instant; move: plan/update.
        founding = (None, None) if path == "move" else (20.0, 30.0)
        result.add(f"{path}_p50", percentile(values, 50), "s", target=2.0, founding=founding[0])
        result.add(f"{path}_p95", percentile(values, 95), "s", target=2.0, founding=founding[1])
        result.add(f"{path}_max", max(values), "s")
    result.setup = (f"{machine_setup()}; {rounds} bookings per strategy and {rounds} moves (plan/update), one bot; "
                    f"then {BUSY_BOTS} bots in one browser (a packed pod) booking at once, 2 rounds (busy_pod_rpc); "
                    f"sandbox on loopback, captcha "
                    f"difficulty {sandbox.market.pow_difficulty} bits, SQLite, confirmation via the public API "
                    "(the cabinet while the API rate-limits)")
    return result


async def _run(sandbox: Any, folder: Path, rounds: int, busy: int = 0) -> dict[str, list[float]]:
    from wbsupply.config import Settings
    from wbsupply.control.local import LocalControlPlane
    from wbsupply.feed.memory import MemoryFeed
    from wbsupply.store import make_engine, upgrade
    from wbsupply.worker.bot import Bot, BotConfig
    from wbsupply.worker.browser import BrowserHost, BrowserOptions

    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    market = sandbox.market
    host = BrowserHost(BrowserOptions(executable=Settings().resolved_browser_executable()))
    await host.start()
    results: dict[str, list[float]] = {}
    try:
        for number, strategy in enumerate(("rpc", "ui"), start=1):
            phone = f"+7932000000{number}"
            seller, user_id, account_id = _seller(engine, market, phone)
            config = BotConfig(cabinet_url=sandbox.url, supplies_api_url=sandbox.url, secret=SECRET,
                               strategies=(strategy,), tasks_refresh_s=0.2, idle_wake_s=0.5)
            feed, stop = MemoryFeed(), asyncio.Event()
            bot = asyncio.create_task(Bot(account_id, LocalControlPlane(engine), feed, host, config).run(stop))
            await _login(engine, market, account_id, phone)
            results[strategy] = [await _one_booking(engine, market, feed, seller, user_id, account_id, i)
                                 for i in range(rounds)]
            if strategy == "rpc":  # plan/update is a JSON-RPC call whatever the booking strategy
                results["move"] = [await _one_move(engine, market, feed, seller, user_id, account_id, i)
                                   for i in range(rounds)]
            stop.set()
            await bot
        if busy:
            results["busy_pod_rpc"] = await _busy_pod(engine, market, host, sandbox.url, busy)
    finally:
        await host.stop()
        engine.dispose()
    return results


def _seller(engine: Any, market: Any, phone: str) -> tuple[Any, int, int]:
    """A sandbox seller with its WB API token, and our user and WB account for it."""
    from sqlmodel import Session

    from wbsupply.crypto import api_token_box
    from wbsupply.store.models import User, WbAccount

    seller = market.create_seller(phone=phone)
    with Session(engine) as session:
        user = User(email=f"{phone[1:]}@bench.test", password_hash="x", plan_limit=1000)
        session.add(user)
        session.flush()
        assert user.id is not None
        account = WbAccount(owner_id=user.id, phone=phone,
                            api_token_blob=api_token_box(SECRET).encrypt(seller.api_token.encode()))
        session.add(account)
        session.commit()
        assert account.id is not None
        return seller, user.id, account.id


async def _login(engine: Any, market: Any, account_id: int, phone: str) -> None:
    from wbsupply.control.local import auth_status, submit_auth_step

    await eventually(lambda: auth_status(engine, account_id).auth_state == "need_phone")
    submit_auth_step(engine, account_id, "phone", phone)
    await eventually(lambda: auth_status(engine, account_id).auth_state == "code_sent")
    submit_auth_step(engine, account_id, "code", market.inbox(phone)[0].code)
    await eventually(lambda: auth_status(engine, account_id).auth_state == "authorized")


async def _busy_pod(engine: Any, market: Any, host: Any, url: str, bots: int) -> list[float]:
    """``bots`` bots in one browser (a packed pod) all booking at once: every bot's slot opens in the same
    instant, two rounds. Each task wants its own day, so the bots do not compete for one slot."""
    from wbsupply.control.local import LocalControlPlane
    from wbsupply.feed.memory import MemoryFeed
    from wbsupply.worker.bot import Bot, BotConfig

    config = BotConfig(cabinet_url=url, supplies_api_url=url, secret=SECRET, strategies=("rpc",),
                       tasks_refresh_s=0.2, idle_wake_s=0.5)
    feed, stop = MemoryFeed(), asyncio.Event()
    sellers = [_seller(engine, market, f"+793300000{n:02d}") for n in range(bots)]
    running = [asyncio.create_task(Bot(account, LocalControlPlane(engine), feed, host, config).run(stop))
               for _, _, account in sellers]
    latencies: list[float] = []
    try:
        for n, (_, _, account) in enumerate(sellers):
            await _login(engine, market, account, f"+793300000{n:02d}")
        for round_ in range(2):
            latencies += await asyncio.gather(*(
                _one_booking(engine, market, feed, seller, user, account, round_ * bots + n, own_day=True)
                for n, (seller, user, account) in enumerate(sellers)))
    finally:
        stop.set()
        await asyncio.gather(*running, return_exceptions=True)
    return latencies


async def _one_booking(engine: Any, market: Any, feed: Any, seller: Any, user_id: int, account_id: int,
                       index: int, own_day: bool = False, **spec: Any) -> float:
    """One booking on day 1 + index % 28; returns its latency. ``own_day``: the task wants exactly that day, so
    bots booking at once do not race for one slot."""
    days_ahead = 1 + index % 28
    if own_day:
        day = (market.clock.today_msk() + dt.timedelta(days=days_ahead)).isoformat()
        spec |= {"date_from": day, "date_to": day}
    task_id, published = await _booked_task(engine, market, feed, seller, user_id, account_id, days_ahead, **spec)
    return await _confirmed_after(engine, task_id, published)


async def _booked_task(engine: Any, market: Any, feed: Any, seller: Any, user_id: int, account_id: int,
                       days_ahead: int, **spec: Any) -> tuple[int, dt.datetime]:
    from sqlmodel import Session

    from wbsupply.domain.statuses import BoxType, TaskPhase
    from wbsupply.store.models import SupplyTask

    supplier_id = seller.suppliers[0].id
    draft = market.create_draft(supplier_id, [("2040000000017", 5)])
    preorder = market.create_preorder(supplier_id, draft.id, WAREHOUSE_ID, BoxType.BOXES)
    with Session(engine) as session:
        task = SupplyTask(owner_id=user_id, account_id=account_id, spec={
            "account_id": str(account_id), "preorder_id": preorder.id, "warehouses": [WAREHOUSE_ID],
            "box_type": "boxes", **spec})
        session.add(task)
        session.commit()
        task_id = task.id
    assert task_id is not None

    def phase() -> TaskPhase:
        with Session(engine) as session:
            found = session.get(SupplyTask, task_id)
            assert found is not None
            return found.phase

    await eventually(lambda: phase() is TaskPhase.WATCHING)
    published = await _open(market, feed, days_ahead)
    await eventually(lambda: phase() is TaskPhase.BOOKED, within=60)
    return task_id, published


async def _open(market: Any, feed: Any, days_ahead: int) -> dt.datetime:
    """Open a free slot at the warehouse in the sandbox and publish its event; returns when it was published."""
    from wbsupply.domain.slots import Slot, SlotEvent, SlotEventKind, SlotKey
    from wbsupply.domain.statuses import BoxType

    day = market.clock.today_msk() + dt.timedelta(days=days_ahead)
    market.open_slot(WAREHOUSE_ID, day, BoxType.BOXES, capacity=1)
    slot = Slot(SlotKey(WAREHOUSE_ID, day, BoxType.BOXES), 0, True, None, "Коледино")
    published = dt.datetime.now(dt.UTC)
    await feed.publish([SlotEvent(SlotEventKind.OPENED, slot, None, published).to_dict()])
    return published


async def _confirmed_after(engine: Any, task_id: int, published: dt.datetime) -> float:
    from sqlmodel import Session, select

    from wbsupply.store.models import Booking

    with Session(engine) as session:
        booking = session.exec(select(Booking).where(Booking.task_id == task_id)).one()
        assert booking.confirmed_at is not None
        return (booking.confirmed_at - published).total_seconds()


async def _one_move(engine: Any, market: Any, feed: Any, seller: Any, user_id: int, account_id: int,
                    index: int) -> float:
    """A task booked on a late date, then an earlier slot: event → supply moved (committed)."""
    from sqlmodel import Session, col, select

    from wbsupply.store.journal import EventLog

    task_id, _ = await _booked_task(engine, market, feed, seller, user_id, account_id, 15 + index % 14,
                                    improve="earlier", max_moves=1)
    published = await _open(market, feed, 1 + index % 14)

    def moved() -> EventLog | None:
        with Session(engine) as session:
            return session.exec(select(EventLog).where(col(EventLog.task_id) == task_id,
                                                       col(EventLog.message) == "supply moved")).first()

    await eventually(moved, within=60)
    row = moved()
    assert row is not None
    return (row.at - published).total_seconds()




if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv).print()
