"""What the worker's end-to-end tests share: database rows, a running bot, the relayed login, slot events."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import col, select

from wbsupply.control.local import LocalControlPlane, auth_status, submit_auth_step
from wbsupply.crypto import api_token_box
from wbsupply.domain.slots import Slot, SlotEvent, SlotEventKind, SlotKey
from wbsupply.domain.statuses import BotStatus, BoxType, Role, TaskPhase
from wbsupply.feed.memory import MemoryFeed
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store.engine import session_scope
from wbsupply.store.models import SupplyTask, User, WbAccount
from wbsupply.testkit import eventually, fresh_preorder
from wbsupply.worker.booking import CRASH_POINT_ENV
from wbsupply.worker.bot import Bot, BotConfig
from wbsupply.worker.browser import BrowserHost

SECRET = "test-secret-of-the-worker-tests"
WAREHOUSE_ID = 507  # Коледино takes every box type
T = TypeVar("T")


def bot_config(sandbox: RunningSandbox, **overrides: Any) -> BotConfig:
    values: dict[str, Any] = {
        "cabinet_url": sandbox.url, "supplies_api_url": sandbox.url, "secret": SECRET,
        "idle_wake_s": 0.2, "tasks_refresh_s": 0.3, "heartbeat_s": 1.0, "session_check_s": 2.0,
        # The bot's own calendar reads (test_slot_sources) stay out of tests about what the feed tells it.
        "calendar_check_s": 3600.0,
    }
    values.update(overrides)
    return BotConfig(**values)


def add_seller(engine: Engine, market: Any, phone: str, *, suppliers: int = 1, plan_limit: int = 5,
               with_api_token: bool = True) -> tuple[int, int, Any]:
    """A user with one WB account for a new sandbox seller; returns (user id, account id, sandbox seller)."""
    seller = market.create_seller(phone=phone, suppliers=suppliers)
    with session_scope(engine) as session:
        user = User(email=f"{phone[1:]}@example.test", password_hash="x", plan_limit=plan_limit)
        session.add(user)
        session.flush()
        assert user.id is not None
        token = api_token_box(SECRET).encrypt(seller.api_token.encode()) if with_api_token else None
        account = WbAccount(owner_id=user.id, phone=phone, api_token_blob=token)
        session.add(account)
        session.flush()
        assert account.id is not None
        return user.id, account.id, seller


def add_account(engine: Engine, market: Any, user_id: int, phone: str) -> tuple[int, Any]:
    """A second WB account (a new sandbox seller) of an existing user; returns (account id, sandbox seller)."""
    seller = market.create_seller(phone=phone)
    with session_scope(engine) as session:
        token = api_token_box(SECRET).encrypt(seller.api_token.encode())
        account = WbAccount(owner_id=user_id, phone=phone, api_token_blob=token)
        session.add(account)
        session.flush()
        assert account.id is not None
        return account.id, seller


def add_admin(engine: Engine) -> int:
    with session_scope(engine) as session:
        admin = User(email="admin@example.test", password_hash="x", role=Role.ADMIN)
        session.add(admin)
        session.flush()
        assert admin.id is not None
        return admin.id


def new_preorder(market: Any, seller: Any, warehouse_id: int = WAREHOUSE_ID, box_type: BoxType = BoxType.BOXES
                 ) -> int:
    return int(fresh_preorder(market, seller, warehouse_id, box_type).id)


def add_task(engine: Engine, user_id: int, account_id: int, preorder_id: int | None, *,
             deadline: dt.datetime | None = None, mode: str = "book", plan_rank: int = 1,
             warehouses: tuple[int, ...] = (WAREHOUSE_ID,), **spec_fields: Any) -> int:
    spec = {"account_id": str(account_id), "preorder_id": preorder_id, "warehouses": list(warehouses),
            "box_type": "boxes", "max_coefficient": 0, "mode": mode,
            "deadline": deadline.isoformat() if deadline else None, **spec_fields}
    with session_scope(engine) as session:
        task = SupplyTask(owner_id=user_id, account_id=account_id, spec=spec, deadline=deadline, plan_rank=plan_rank)
        session.add(task)
        session.flush()
        assert task.id is not None
        return task.id


def msk_day(market: Any, days_ahead: int) -> dt.date:
    return market.clock.today_msk() + dt.timedelta(days=days_ahead)


def opened(day: dt.date, coefficient: int = 0, warehouse_id: int = WAREHOUSE_ID, *,
           storage_coefficient: int | None = None, box_type: BoxType = BoxType.BOXES) -> dict[str, Any]:
    slot = Slot(SlotKey(warehouse_id, day, box_type), coefficient, True, None, f"Склад {warehouse_id}",
                storage_coefficient)
    return SlotEvent(SlotEventKind.OPENED, slot, None, dt.datetime.now(dt.UTC)).to_dict()


def row(engine: Engine, model: type[T], ident: int) -> T:
    with session_scope(engine) as session:
        found = session.get(model, ident)
        assert found is not None
        return found


def rows(engine: Engine, model: type[T], *where: Any) -> list[T]:
    with session_scope(engine) as session:
        return list(session.exec(select(model).where(*where).order_by(col(model.id))).all())  # type: ignore[attr-defined]


@dataclass
class RunningBot:
    bot: Bot
    stop: asyncio.Event
    task: asyncio.Task[None]


@contextlib.asynccontextmanager
async def running_bot(account_id: int, engine: Engine, feed: MemoryFeed, host: BrowserHost,
                      config: BotConfig) -> AsyncIterator[RunningBot]:
    stop = asyncio.Event()
    bot = Bot(account_id, LocalControlPlane(engine), feed, host, config)
    task = asyncio.create_task(bot.run(stop))
    try:
        yield RunningBot(bot, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def status_of(engine: Engine, account_id: int) -> Any:
    return auth_status(engine, account_id)


async def login_through_relay(engine: Engine, market: Any, account_id: int, phone: str) -> None:
    """The seller's side: phone and code typed into our cabinet (auth relay), code read from the SMS inbox."""
    await eventually(lambda: status_of(engine, account_id).auth_state == "need_phone", what="need_phone")
    submit_auth_step(engine, account_id, "phone", phone)
    await eventually(lambda: status_of(engine, account_id).auth_state == "code_sent", what="code_sent")
    submit_auth_step(engine, account_id, "code", market.inbox(phone)[0].code)
    await eventually(lambda: row(engine, WbAccount, account_id).status is BotStatus.ACTIVE, what="ACTIVE")


def phase_of(engine: Engine, task_id: int) -> TaskPhase:
    return row(engine, SupplyTask, task_id).phase


CRASH_RUNNER = Path(__file__).with_name("crash_worker.py")


async def kill_9_at(step: str, sandbox: RunningSandbox, account_id: int, event: dict[str, Any], database_url: str,
                    data_dir: Path) -> None:
    """Run the bot in a worker process of its own (crash_worker.py) that takes ``event`` and stops at the crash
    point ``step``; then SIGKILL it with its Playwright driver and Chromium, as an OOM kill or a power cut would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WBSUPPLY_")}
    env.update(WBSUPPLY_DATABASE_URL=database_url, WBSUPPLY_SECRET_KEY=SECRET,
               WBSUPPLY_WB_CABINET_URL=sandbox.url, WBSUPPLY_WB_SUPPLIES_API_URL=sandbox.url,
               WBSUPPLY_DATA_DIR=str(data_dir), **{CRASH_POINT_ENV: step})
    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(CRASH_RUNNER), str(account_id), json.dumps(event), env=env,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        await asyncio.wait_for(_wait_for_line(worker, f"CRASH POINT {step} reached"), 60)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), 10)


async def _wait_for_line(process: asyncio.subprocess.Process, wanted: str) -> None:
    assert process.stderr is not None
    seen = []
    while line := (await process.stderr.readline()).decode():
        if wanted in line:
            return
        seen.append(line)
    raise AssertionError(f"the worker ended before {wanted!r}; its stderr:\n{''.join(seen[-30:])}")
