"""Monitor accounts: saved sessions from the database, accounts taking turns, and WB's 429 / 401 / session
loss never making the cabinet source poll faster.

The cabinet's report endpoint is played by an ``httpx.MockTransport`` (as WB is in ``test_resilience``): its
429s and 401s are hard to get from the sandbox on cue. Everything of ours is real: the monitor accounts in a
real database, their sessions encrypted as the bots save them, the roster, the pool, the monitor loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections import defaultdict
from statistics import mean

import httpx

from wbsupply.crypto import session_box
from wbsupply.domain.statuses import BotStatus
from wbsupply.feed.memory import MemoryFeed
from wbsupply.monitor.clock import FollowClock
from wbsupply.monitor.roster import DbRoster
from wbsupply.monitor.service import Monitor
from wbsupply.monitor.sources import CabinetSource, SourceSwitch
from wbsupply.store import make_engine, session_scope
from wbsupply.store.models import User, WbAccount
from wbsupply.store.monitor_accounts import add_monitor_account, monitor_accounts
from wbsupply.testkit import eventually, new_phone
from wbsupply.wb import cabinet_spec as spec

SECRET = "monitor-accounts-test-secret"
CABINET = "https://seller.wildberries.ru"
SPEEDUP = 100.0
GOOD = {"date": "2030-01-02T00:00:00Z", "coefficient": 0, "warehouseID": 507, "warehouseName": "Коледино",
        "allowUnload": True, "boxTypeID": 2, "deliveryCoef": "120"}


def fast_clock() -> FollowClock:
    t0, start = time.monotonic(), dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC)
    return FollowClock(lambda: start + dt.timedelta(seconds=(time.monotonic() - t0) * SPEEDUP), SPEEDUP)


def saved_state(access: str) -> bytes:
    """A Playwright storage state as a bot saves it (encrypted), with the cabinet's cookies and another site's."""
    cookies = [{"name": spec.COOKIE_ACCESS, "value": access, "domain": "seller.wildberries.ru", "path": "/"},
               {"name": spec.COOKIE_VALIDATION, "value": f"v-{access}", "domain": ".wildberries.ru", "path": "/"},
               {"name": "tracker", "value": "x", "domain": "ads.example", "path": "/"}]
    return session_box(SECRET).encrypt(json.dumps({"cookies": cookies, "origins": []}).encode())


def connect(engine, phones: list[str], rpm: int = 5) -> list[int]:
    with session_scope(engine) as session:
        admin = User(email="admin@example.test", password_hash="x", role="admin")
        session.add(admin)
        session.flush()
        admin_id = admin.id
    ids = [add_monitor_account(engine, admin_id, phone, requests_per_minute=rpm) for phone in phones]
    for account_id in ids:
        save_session(engine, account_id, f"token-{account_id}")
    return ids


def save_session(engine, account_id: int, access: str, status: BotStatus = BotStatus.ACTIVE) -> None:
    with session_scope(engine) as session:
        account = session.get(WbAccount, account_id)
        account.session_blob, account.status = saved_state(access), status
        account.session_saved_at = dt.datetime.now(dt.UTC)


class FakeCabinet:
    """The report endpoint: who asked when (clock seconds), and per access token what to answer."""

    def __init__(self, clock: FollowClock) -> None:
        self.clock = clock
        self.mode: dict[str, str] = defaultdict(lambda: "ok")
        self.times: list[tuple[float, str]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == spec.rpc_path(spec.RPC_COEFFICIENTS_REPORT)
        access = request.headers[spec.AUTH_HEADER]
        assert "tracker" not in request.headers["Cookie"]  # other sites' cookies stay home
        self.times.append((self.clock.monotonic(), access))
        mode = self.mode[access]
        if mode == "429":
            return httpx.Response(429, json={"error": {"code": 429, "message": "too many requests"}})
        if mode == "401":
            return httpx.Response(401, json={"error": {"code": 401, "message": "unauthorized"}})
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": {"report": [GOOD]}})

    def source(self, engine, interval_s: float = 12.0) -> CabinetSource:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return CabinetSource(DbRoster(engine, SECRET, CABINET), interval_s, http=http, clock=self.clock)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def run_for(monitor: Monitor, seconds: float, during=None) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    await monitor.clock.sleep(seconds)
    stop.set()
    await task


async def test_three_accounts_take_turns_each_within_its_budget(sqlite_database_url):
    engine = make_engine(sqlite_database_url)
    ids = connect(engine, [new_phone() for _ in range(3)], rpm=5)
    clock = fast_clock()
    wb = FakeCabinet(clock)
    source = wb.source(engine, interval_s=12.0)
    monitor = Monitor(SourceSwitch(source), MemoryFeed(), interval_s=12.0, clock=clock)
    await run_for(monitor, 600)
    await source.aclose()
    by_account = defaultdict(list)
    for at, access in wb.times:
        by_account[access].append(at)
    assert sorted(by_account) == sorted(f"token-{i}" for i in ids)
    # 5 a minute each, 12 s spread over 3 accounts (a poll may go up to 2 s late and the next one on time;
    # the clock runs 100x, so a busy machine's few ms of scheduling noise add up to a second or two more)
    assert all(min(gaps(times)) >= 12.0 - 4.0 and mean(gaps(times)) >= 12.0 - 0.5 for times in by_account.values())
    assert min(gaps([at for at, _ in wb.times])) >= 4.0 - 3.0 and mean(gaps([at for at, _ in wb.times])) >= 3.9
    assert len(wb.times) >= 600 / 4 * 0.6  # and they did take turns, not wait for each other
    health = monitor.health()
    assert health["monitor_accounts"] == 3 and health["sources"]["cabinet"]["interval_s"] == 4.0
    views = monitor_accounts(engine)
    assert all(v.last_ok_at is not None and v.last_error is None for v in views)
    engine.dispose()


async def test_429_401_and_session_loss_never_make_the_monitor_poll_faster(sqlite_database_url):
    engine = make_engine(sqlite_database_url)
    first, second, third = connect(engine, [new_phone() for _ in range(3)], rpm=5)
    clock = fast_clock()
    wb = FakeCabinet(clock)
    source = wb.source(engine, interval_s=12.0)
    monitor = Monitor(SourceSwitch(source), MemoryFeed(), interval_s=12.0, clock=clock)
    intervals: list[float] = []

    async def watch() -> None:
        while True:
            interval = monitor.health()["sources"]["cabinet"]["interval_s"]
            if interval is not None:
                intervals.append(interval)
            await asyncio.sleep(0.005)

    stop = asyncio.Event()
    task, watcher = asyncio.create_task(monitor.run(stop)), asyncio.create_task(watch())
    await eventually(lambda: monitor.health()["ready"])
    wb.mode[f"token-{first}"] = "429"  # WB throttles one account (no Retry header)
    wb.mode[f"token-{second}"] = "401"  # and refuses another's session; no newer one gets saved
    await clock.sleep(300)
    save_session(engine, third, "token-3-lost", BotStatus.WAITING_AUTH)  # the third bot lost its login
    lost_at = clock.monotonic()
    await clock.sleep(300)
    stop.set()
    await task
    watcher.cancel()
    await source.aclose()

    all_times = [at for at, _ in wb.times]
    assert min(gaps(all_times)) >= 4.0 - 3.0  # never faster than three healthy accounts would poll
    per_account = defaultdict(list)
    for at, access in wb.times:
        per_account[access].append(at)
    assert all(min(gaps(times)) >= 12.0 - 4.0 for times in per_account.values() if len(times) > 1)
    assert not [t for t in per_account[f"token-{third}"] if t > lost_at + 30 + 12]  # left at the roster's reload
    assert not per_account["token-3-lost"]  # a session its bot could not keep is never used
    throttled = per_account[f"token-{first}"]
    assert sum(1 for t in throttled if t > all_times[0] + 60) <= 600 / 60 + 2  # rested a minute after each 429
    # The scheduled spacing grew while accounts rested, and was never below three healthy accounts' 4 s.
    assert min(intervals) == 4.0 and max(intervals) >= 6.0
    health = monitor.health()
    assert health["monitor_accounts"] <= 2 and not health["ready"]  # the third left the roster with its login
    assert health["sources"]["cabinet"]["last_error"] is not None
    [lost] = [a for a in monitor.alerts if a.kind == "monitor_account_lost"]  # told once, not every poll
    assert f"monitor#{third}" in lost.message and "подключите аккаунт заново" in lost.message
    assert monitor.metrics.registry.get_sample_value("wbsupply_monitor_rate_limited_total") >= 1
    views = {v.account_id: v for v in monitor_accounts(engine)}
    assert "429" in (views[first].last_error or "") and "session" in (views[second].last_error or "")
    engine.dispose()
