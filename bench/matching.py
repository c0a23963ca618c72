"""Matching 100,000 tasks against one full-calendar diff (300 warehouses × 30 days × 5 box types, all opened).

Matching is lazy (candidates come out in priority order as they are taken), so two figures tell its cost:
- match_first_candidate: events → the most important candidate, i.e. what the next booking waits for
  (founding target 20 ms);
- match_all_candidates: every task's candidate drained in priority order, the worst case (every bucket touched);
- match_poll_all_candidates: every candidate of a typical poll (1% of the slots changed);
- diff_full_calendar: diff of an empty calendar against a full one (45,000 "opened" events);
- diff_poll: diff of two full calendars where 1% of the slots changed.
Medians of several runs, one core.
"""

from __future__ import annotations

import collections
import datetime as dt
import gc
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from wbsupply.benchkit import BenchResult, machine_setup
from wbsupply.domain.matching import TaskIndex, match
from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.slots import HORIZON_DAYS, Calendar, Slot, SlotEvent, SlotKey, diff
from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTask, SupplyTaskSpec

WAREHOUSES = 300
TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=MOSCOW)


def full_calendar(rng: random.Random) -> Calendar:
    slots = []
    for warehouse_id in range(1, WAREHOUSES + 1):
        for offset in range(HORIZON_DAYS):
            day = TODAY + dt.timedelta(days=offset)
            for box_type in BoxType:
                coefficient = 0 if rng.random() < 0.3 else rng.randint(1, 10)
                slots.append(Slot(SlotKey(warehouse_id, day, box_type), coefficient, True, rng.randint(100, 300)))
    return Calendar.from_slots(TODAY, slots)


def random_task(rng: random.Random, number: int) -> SupplyTask:
    # Sellers crowd the big warehouses: a third of the picks come from the first 20.
    warehouses = rng.sample(range(1, 21), 1) if rng.random() < 0.33 else []
    while len(warehouses) < rng.randint(1, 5):
        pick = rng.randint(1, WAREHOUSES)
        if pick not in warehouses:
            warehouses.append(pick)
    window: dict[str, Any] = rng.choice(
        [
            {"lead_time_days": rng.choice([3, 7, 14, 30])},
            {
                "date_from": TODAY + dt.timedelta(days=rng.randint(0, 10)),
                "date_to": TODAY + dt.timedelta(days=rng.randint(11, 40)),
            },
            {},
        ]
    )
    spec = SupplyTaskSpec(
        account_id=f"acc-{rng.randint(1, 20_000)}",
        preorder_id=number + 1,
        warehouses=warehouses,
        box_type=rng.choice(list(BoxType)),
        weekdays=rng.choice([frozenset(), frozenset(), frozenset({0, 1, 2, 3, 4})]),
        max_coefficient=rng.choice([0, 0, 1, 2, 3, 5]),
        max_logistics_coefficient=rng.choice([None, None, 150, 200]),
        deadline=rng.choice([None, NOW + dt.timedelta(days=rng.randint(1, 30))]),
        **window,
    )
    created = NOW - dt.timedelta(seconds=rng.randint(0, 30 * 86400))
    return SupplyTask(f"task-{number}", spec, created, rng.choice(list(Plan)), TaskPhase.WATCHING)


def median_ms(run: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main(quick: bool = False) -> BenchResult:
    rng = random.Random(7)
    task_count, repeats = (10_000, 3) if quick else (100_000, 7)
    calendar = full_calendar(rng)
    empty = Calendar(TODAY)
    index = TaskIndex(random_task(rng, number) for number in range(task_count))
    events = diff(empty, calendar, NOW)

    changed = dict(calendar.slots)
    for key in rng.sample(list(changed), len(changed) // 100):
        changed[key] = changed[key]._replace(coefficient=rng.choice([-1, 0, 4]))
    polled = Calendar(TODAY, changed)

    poll_events = diff(calendar, polled, NOW)
    # Long-lived state (calendar, index) leaves the collector's generations, as a long-running process
    # should do after loading: otherwise full collections over it add tens of ms at random.
    gc.collect()
    gc.freeze()
    first = next(match(events, index, TODAY))
    found = sum(1 for _ in match(events, index, TODAY))
    found_in_poll = sum(1 for _ in match(poll_events, index, TODAY))
    result = BenchResult(
        "matching",
        f"{task_count} tasks (1-5 warehouses each) against {len(events)} opened slots (all of "
        f"{WAREHOUSES} warehouses × {HORIZON_DAYS} days × {len(BoxType)} box types): {found} tasks matched, "
        f"first {first.task.id}; a poll with 1% changed: {len(poll_events)} events, {found_in_poll} matched; "
        f"median of {repeats} runs, fixtures gc.freeze()d; {machine_setup()}, one core used",
    )

    def first_candidate() -> None:
        next(match(events, index, TODAY))

    def all_candidates(batch: list[SlotEvent]) -> Callable[[], None]:
        return lambda: collections.deque(match(batch, index, TODAY), maxlen=0)

    result.add("match_first_candidate", median_ms(first_candidate, repeats), "ms", target=20)
    result.add("match_all_candidates", median_ms(all_candidates(events), repeats), "ms")
    result.add("match_poll_all_candidates", median_ms(all_candidates(poll_events), repeats), "ms")
    result.add("diff_full_calendar", median_ms(lambda: diff(empty, calendar, NOW), repeats), "ms")
    result.add("diff_poll", median_ms(lambda: diff(calendar, polled, NOW), repeats), "ms")
    gc.unfreeze()
    return result


if __name__ == "__main__":
    main(quick=True).print()
