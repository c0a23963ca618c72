"""A packed worker pod: the bots of its pool file in one browser, picked up and let go while the others run.

The pool file is what the operator's ConfigMap puts into the pod; here it is written by the test. One bot's
crash restarts only its context, and it comes back logged in from its saved session (no new SMS code).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from bot_harness import SECRET, add_seller, eventually, login_through_relay, row
from sqlalchemy import Engine

from wbsupply.config import Settings
from wbsupply.domain.statuses import BotStatus
from wbsupply.feed.memory import MemoryFeed
from wbsupply.process import ProcessContext
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store.models import WbAccount
from wbsupply.testkit import free_port, new_phone
from wbsupply.worker.main import PoolSupervisor

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_A_WORKER = ("fastapi", "starlette", "jinja2", "alembic", "uvicorn", "wbsupply.api", "wbsupply.sandbox",
                   "wbsupply.runtime", "wbsupply.monitor", "wbsupply.operator.handlers", "kopf")


def test_the_worker_entry_imports_no_web_framework_templates_migrations_or_sandbox() -> None:
    code = ("import sys, wbsupply.cli, wbsupply.worker.main; "
            "print('\\n'.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = done.stdout.split()
    heavy = [name for name in loaded if name.startswith(NOT_IN_A_WORKER)]
    assert heavy == []
    assert "playwright.async_api" in loaded and "wbsupply.worker.bot" in loaded  # it is the real worker entry


def test_bot_memory_compares_the_worker_imports_with_what_a_worker_used_to_pull_in() -> None:
    # bench bot_memory's python_* figures stand for these children: the comparison must measure what it claims.
    spec = importlib.util.spec_from_file_location("bench_bot_memory_imports", ROOT / "bench" / "bot_memory.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def heavy(modules: list[str]) -> set[str]:
        return {prefix for prefix in NOT_IN_A_WORKER for name in modules
                if name == prefix or name.startswith(f"{prefix}.")}

    bare, bare_modules = bench.import_footprint("bare")
    worker, worker_modules = bench.import_footprint("worker_imports")
    full, full_modules = bench.import_footprint("full_imports")
    assert "wbsupply" not in bare_modules
    assert heavy(worker_modules) == set()
    assert {"wbsupply.cli", "wbsupply.worker.main", "wbsupply.feed.redis", "playwright.async_api"} <= set(
        worker_modules)
    assert heavy(full_modules) >= {"fastapi", "starlette", "jinja2", "alembic", "uvicorn", "wbsupply.api",
                                   "wbsupply.sandbox"}
    assert "alembic.script" in full_modules and set(worker_modules) < set(full_modules)
    assert bare < worker < full


def write_pool(path: Path, bots: dict[int, str]) -> None:
    temporary = path.with_suffix(".tmp")  # swapped in at once, as the kubelet does with a ConfigMap
    temporary.write_text(json.dumps({"bots": [{"name": name, "accountId": str(i)} for i, name in bots.items()]}))
    temporary.replace(path)



@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_a_pool_picks_bots_up_and_lets_them_go_without_touching_the_others(
    sandbox: RunningSandbox, db: Engine, sqlite_database_url: str, tmp_path: Path
) -> None:
    market = sandbox.market
    phones = [new_phone() for _ in range(3)]
    first, second, third = (add_seller(db, market, phone)[1] for phone in phones)
    pool_file = tmp_path / "bots.json"
    write_pool(pool_file, {first: "bot-a", second: "bot-b"})
    settings = Settings(database_url=sqlite_database_url, data_dir=tmp_path, secret_key=SECRET,
                        wb_cabinet_url=sandbox.url, wb_supplies_api_url=sandbox.url, health_port=free_port())
    pool = PoolSupervisor(ProcessContext(settings, MemoryFeed()), pool_file)
    stop = asyncio.Event()
    running = asyncio.create_task(pool.run(stop))
    try:
        await login_through_relay(db, market, first, phones[0])
        await login_through_relay(db, market, second, phones[1])
        assert row(db, WbAccount, third).status is not BotStatus.ACTIVE  # not in this pod's file
        host = pool._host
        assert host is not None and len(host.browser.contexts) == 2  # one browser, one context per bot
        bot_a, context_a = pool.instances[first], pool.instances[first].context

        write_pool(pool_file, {first: "bot-a", second: "bot-b", third: "bot-c"})  # the operator adds a bot
        await login_through_relay(db, market, third, phones[2])
        assert len(host.browser.contexts) == 3
        write_pool(pool_file, {first: "bot-a", third: "bot-c"})  # ... and moves one away
        await eventually(lambda: second not in pool.instances and len(host.browser.contexts) == 2, what="let go")
        assert pool.instances[first] is bot_a and bot_a.context is context_a  # never restarted meanwhile
        bot_c, context_c = pool.instances[third], pool.instances[third].context

        # Bot A's page dies under it: only bot A restarts, with a new context, logged in from its saved session.
        assert bot_a.cabinet is not None
        await bot_a.cabinet.page.close()
        bot_a.timers.due["session"] = 0.0  # the hourly cabinet reload comes now
        bot_a.wake.set()
        await eventually(lambda: row(db, WbAccount, first).status is BotStatus.ERROR, what="bot A crashed")
        await eventually(lambda: first in pool.instances and pool.instances[first] is not bot_a
                         and row(db, WbAccount, first).status is BotStatus.ACTIVE, within=40, what="bot A back")
        assert len(market.inbox(phones[0])) == 1  # no second SMS code: the saved session was enough
        assert pool.instances[third] is bot_c and bot_c.context is context_c
        assert len(host.browser.contexts) == 2

        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{pool.health.port}/healthz")
        assert answer.status_code == 200, answer.text
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    assert pool._host is None or not pool._host.connected
