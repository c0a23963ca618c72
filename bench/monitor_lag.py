"""Detection lag of the monitor against the WB sandbox, and the cost of one full 30-day poll.

- lag_mean_1_token / lag_p95_1_token, lag_mean_6_tokens / lag_p95_6_tokens: a slot opens in the sandbox at
  a random moment → its "opened" event is in the feed. Real time, sandbox at speed 1, poll interval 12 s;
  WB's own rate limits apply (the sandbox enforces 6/min per token). Target for the mean:
  interval / (2 · tokens) + 50 ms — half the effective interval of waiting, plus 50 ms of work.
- poll_full_30d: one poll whose answer is a full 30-day calendar (300 warehouses × 30 days × 5 box types =
  45,000 records) with 1% of the slots changed: normalise + calendar + diff + publish + snapshot.
- decode_full_30d: json.loads of that answer (what httpx does before the monitor sees it).
- work_mean_*: of the lag, the part after the poll's request went out (WB's answer — here the in-process
  sandbox's, ~2,500 records — decoding, normalise, diff, publish); the rest is waiting for the next poll.
- processing_mean_*: of that work, the monitor's own part (normalise + diff + publish, from its metrics).
- cabinet_lag_mean_1_account / _3_accounts (and p95, work): the same through the cabinet report source (WB's
  public method is switched off since 2026-08), each monitor account at the configured cadence of 12 s; target
  cadence / (2 · accounts) + 0.5 s (the report is a 30-day answer for every warehouse, heavier than the API's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import statistics
import time
from typing import Any

import httpx

from wbsupply.benchkit import BenchResult, machine_setup, mean, percentile
from wbsupply.domain.schedule import moscow_today
from wbsupply.domain.slots import HORIZON_DAYS, SlotEvent, SlotEventKind
from wbsupply.domain.statuses import BoxType
from wbsupply.feed.memory import MemoryFeed
from wbsupply.monitor.clock import RealClock
from wbsupply.monitor.normalize import Coverage
from wbsupply.monitor.pool import TokenPool
from wbsupply.monitor.roster import Account, StaticRoster
from wbsupply.monitor.service import Monitor
from wbsupply.monitor.sources import CabinetSource, Fetched, PublicApiSource, SourceSwitch
from wbsupply.sandbox.app import SandboxConfig
from wbsupply.sandbox.sessions import SandboxSessionProvider
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.testing import run_sandbox_in_thread
from wbsupply.wb.api_client import WbApiClient

INTERVAL_S = 12.0


def api_source(url: str, market: Any, tokens: int, http: httpx.AsyncClient) -> PublicApiSource:
    secrets = [market.create_seller(name=f"bench monitor {tokens}/{i}").api_token for i in range(tokens)]
    return PublicApiSource(WbApiClient(url, http=http), TokenPool.of(secrets, INTERVAL_S), RealClock())


def cabinet_source(url: str, market: Any, accounts: int, http: httpx.AsyncClient) -> CabinetSource:
    """Monitor accounts logged into the sandbox cabinet, each within 60 / cadence requests a minute."""
    phones = [market.create_seller(name=f"bench cabinet {accounts}/{i}").phone for i in range(accounts)]
    roster = StaticRoster([Account(f"account#{i + 1}", 0, SandboxSessionProvider(url, phone), 60.0 / INTERVAL_S)
                           for i, phone in enumerate(phones)])
    return CabinetSource(roster, INTERVAL_S, http=http, clock=RealClock())


async def measure_lags(url: str, market: Any, tokens: int, seconds: float, rng: random.Random,
                       keys: list[tuple[int, dt.date, BoxType]], kind: str = "api"
                       ) -> tuple[list[float], list[float], float]:
    """Lags (slot opened → event in the feed), work times (poll's request sent → its events in the feed) and
    the mean processing time of a poll (normalise, diff, publish: the monitor's own share of the work)."""
    feed = MemoryFeed()
    clock = RealClock()
    requests: list[float] = []

    async def stamp(request: httpx.Request) -> None:
        requests.append(time.perf_counter())

    http = httpx.AsyncClient(base_url=url, timeout=10.0, event_hooks={"request": [stamp]})
    source: PublicApiSource | CabinetSource = (
        api_source(url, market, tokens, http) if kind == "api" else cabinet_source(url, market, tokens, http))
    monitor = Monitor(SourceSwitch(source), feed, interval_s=INTERVAL_S, clock=clock)
    stop = asyncio.Event()
    runner = asyncio.create_task(monitor.run(stop))
    for _ in range(400):  # the first poll (and the cabinet's logins): at most a few seconds
        if monitor.health()["ready"]:
            break
        await asyncio.sleep(0.05)
    opened_at: dict[tuple[int, str, str], float] = {}
    lags: list[float] = []
    work: dict[float, float] = {}  # per poll that brought an opening: request sent → events visible

    async def observe() -> None:
        last = (await feed.read("0-0", limit=1_000_000))[-1][0] if await feed.read("0-0", limit=1) else "0-0"
        while True:
            batch = await feed.read(last, block_s=1.0)
            seen = time.perf_counter()
            for event_id, raw in batch:
                last = event_id
                event = SlotEvent.from_dict(raw)
                key = (event.slot.warehouse_id, event.slot.date.isoformat(), event.slot.box_type.value)
                if event.kind is SlotEventKind.OPENED and key in opened_at:
                    lags.append(seen - opened_at.pop(key))
                    work[requests[-1]] = seen - requests[-1]

    observer = asyncio.create_task(observe())
    loop = asyncio.get_running_loop()
    # Stratified phases: whole poll cycles cut into strata of ~0.25 s, one opening at a random moment of
    # each, so every phase of the cycle weighs the same and the mean is not at the mercy of a few draws.
    cycle = source.pool.effective_interval_s
    strata = max(4, round(cycle / 0.25))
    step, start = cycle / strata, loop.time()
    for k in range(max(1, round(seconds / cycle)) * strata):
        if not keys:
            break
        await asyncio.sleep(max(0.0, start + (k + rng.random()) * step - loop.time()))
        warehouse_id, day, box_type = keys.pop()
        market.open_slot(warehouse_id, day, box_type)
        opened_at[(warehouse_id, day.isoformat(), box_type.value)] = time.perf_counter()
    await asyncio.sleep(source.pool.effective_interval_s + 1)  # let the last openings be seen
    observer.cancel()
    stop.set()
    await runner
    await source.aclose()
    registry = monitor.metrics.registry
    assert not registry.get_sample_value("wbsupply_monitor_rate_limited_total"), "the monitor hit WB's rate limit"
    processing = registry.get_sample_value("wbsupply_monitor_poll_processing_seconds_sum") or 0.0
    polls = registry.get_sample_value("wbsupply_monitor_poll_processing_seconds_count") or 1.0
    return lags, list(work.values()), processing / polls


class StaticSource:
    """A source whose answer is set by the benchmark: the real loop minus the network."""

    name = "bench"

    def __init__(self) -> None:
        self.body = b"[]"

    def next_poll_at(self, now: float) -> float:
        return now

    async def fetch(self, now: float, warehouses: frozenset[int] | None) -> Fetched:
        return Fetched(json.loads(self.body), Coverage(HORIZON_DAYS))

    async def aclose(self) -> None:
        return None


def full_answer(today: dt.date, rng: random.Random, changed_share: float = 0.0,
                base: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    if base is not None:
        records = [dict(r) for r in base]
        for record in rng.sample(records, int(len(records) * changed_share)):
            record["coefficient"], record["allowUnload"] = rng.choice([(-1, False), (0, True), (4, True)])
        return records
    records = []
    for warehouse_id in range(1, 301):
        for offset in range(HORIZON_DAYS):
            day = f"{today + dt.timedelta(days=offset)}T00:00:00Z"
            for box_type in BoxType:
                is_open = rng.random() < 0.3
                record = {"date": day, "coefficient": rng.randint(0, 10) if is_open else -1,
                          "warehouseID": warehouse_id, "warehouseName": f"Склад {warehouse_id}",
                          "allowUnload": is_open, "storageCoef": "100", "deliveryCoef": "120" if is_open else None,
                          "isSortingCenter": False}
                if box_type.wb_box_type_id is not None:
                    record["boxTypeID"] = box_type.wb_box_type_id
                if box_type is BoxType.BOXES_ON_PALLET:
                    record["isBoxOnPallet"] = True
                records.append(record)
    return records


async def measure_full_poll(repeats: int, rng: random.Random) -> tuple[float, float, int]:
    today = moscow_today(dt.datetime.now(dt.UTC))
    base = full_answer(today, rng)
    source = StaticSource()
    monitor = Monitor(SourceSwitch(source), MemoryFeed(), clock=RealClock())
    source.body = json.dumps(base).encode()
    await monitor.poll_once()  # the first full calendar
    polls, decodes, events = [], [], 0
    for _ in range(repeats):
        source.body = json.dumps(full_answer(today, rng, 0.01, base)).encode()
        started = time.perf_counter()
        json.loads(source.body)
        decodes.append(time.perf_counter() - started)
        before = len(await monitor.feed.read("0-0", limit=10_000_000))
        started = time.perf_counter()
        await monitor.poll_once()
        polls.append(time.perf_counter() - started)
        events += len(await monitor.feed.read("0-0", limit=10_000_000)) - before
    # the poll includes its own json.loads of the body: report the processing without it
    processing = [p - d for p, d in zip(polls, decodes, strict=True)]
    return statistics.median(processing) * 1000, statistics.median(decodes) * 1000, events // repeats


async def run(quick: bool) -> BenchResult:
    rng = random.Random(11)
    seconds = 24.0 if quick else 72.0
    sandbox = run_sandbox_in_thread(SandboxConfig(seed=3, speed=1.0, simulation=SimulationConfig.frozen(),
                                                  background_steps=False))
    try:
        today = sandbox.market.clock.today_msk()
        # Slots to open, each once (they stay open: the simulation is frozen), within the API's 14 days.
        keys = [(w.id, today + dt.timedelta(days=d), b) for w in sandbox.market.warehouses for d in range(1, 13)
                for b in (BoxType.BOXES, BoxType.MONOPALLETS, BoxType.SUPERSAFE, BoxType.QR) if b in w.box_types]
        rng.shuffle(keys)
        measured = {n: await measure_lags(sandbox.url, sandbox.market, n, seconds, rng, keys) for n in (1, 6)}
        # The cabinet reports 30 days: its openings may fall anywhere in them.
        far = [(w.id, today + dt.timedelta(days=d), b) for w in sandbox.market.warehouses for d in range(14, 29)
               for b in (BoxType.BOXES, BoxType.MONOPALLETS, BoxType.SUPERSAFE) if b in w.box_types]
        rng.shuffle(far)
        cabinet = {n: await measure_lags(sandbox.url, sandbox.market, n, seconds, rng, far, "cabinet")
                   for n in (1, 3)}
    finally:
        sandbox.stop()
    lags = {n: m[0] for n, m in measured.items()}
    work = {n: m[1] for n, m in measured.items()}
    processing = {n: m[2] for n, m in measured.items()}
    poll_ms, decode_ms, events = await measure_full_poll(3 if quick else 7, rng)
    result = BenchResult(
        "monitor_lag",
        f"real time, sandbox speed 1 (its rate limits on), poll interval {INTERVAL_S:g} s, all "
        f"{len(sandbox.market.warehouses)} sandbox warehouses (14-day public API answers); "
        f"{len(lags[1])} / {len(lags[6])} openings at stratified random phases over {seconds:g} s with 1 / 6 "
        f"tokens; "
        f"cabinet report source: {len(cabinet[1][0])} / {len(cabinet[3][0])} openings (days 14..28) with 1 / 3 "
        f"monitor accounts at {INTERVAL_S:g} s each; "
        f"full poll: 45,000 records, 1% changed ({events} events); {machine_setup()}",
    )
    for tokens in (1, 6):
        target = INTERVAL_S / (2 * tokens) + 0.05
        suffix = "1_token" if tokens == 1 else f"{tokens}_tokens"
        result.add(f"lag_mean_{suffix}", mean(lags[tokens]), "s", target=round(target, 3))
        result.add(f"lag_p95_{suffix}", percentile(lags[tokens], 95), "s")
        # The part of the lag that is work, not waiting for the poll: WB's (the sandbox's) answer included.
        result.add(f"work_mean_{suffix}", mean(work[tokens]) * 1000, "ms", target=50)
        result.add(f"processing_mean_{suffix}", processing[tokens] * 1000, "ms")
    for accounts in (1, 3):
        lags_c, work_c, _ = cabinet[accounts]
        suffix = "1_account" if accounts == 1 else f"{accounts}_accounts"
        result.add(f"cabinet_lag_mean_{suffix}", mean(lags_c), "s", target=round(INTERVAL_S / (2 * accounts) + 0.5, 3))
        result.add(f"cabinet_lag_p95_{suffix}", percentile(lags_c, 95), "s")
        result.add(f"cabinet_work_mean_{suffix}", mean(work_c) * 1000, "ms")
    result.add("poll_full_30d", poll_ms, "ms")
    result.add("decode_full_30d", decode_ms, "ms")
    return result


def main(quick: bool = False) -> BenchResult:
    return asyncio.run(run(quick))


if __name__ == "__main__":
    main(quick=True).print()
