"""Matching slot events to tasks: the task index and the priority order of candidates."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from typing import Any

import pytest

from wbsupply.domain.matching import Candidate, TaskIndex, match
from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.slots import HORIZON_DAYS, Calendar, Slot, SlotEvent, SlotEventKind, SlotKey, diff
from wbsupply.domain.statuses import BoxType, TaskMode, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTask, SupplyTaskSpec

TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=MOSCOW)
BOXES = BoxType.BOXES


def task(
    task_id: str,
    warehouses: Iterable[int] = (1,),
    *,
    deadline_hours: float | None = None,
    plan: Plan = Plan.START,
    age_minutes: float = 0,
    phase: TaskPhase = TaskPhase.WATCHING,
    **spec_fields: Any,
) -> SupplyTask:
    deadline = None if deadline_hours is None else NOW + dt.timedelta(hours=deadline_hours)
    spec = SupplyTaskSpec(
        account_id="bot-1",
        preorder_id=1,
        warehouses=list(warehouses),
        box_type=spec_fields.pop("box_type", BOXES),
        deadline=deadline,
        **spec_fields,
    )
    return SupplyTask(task_id, spec, NOW - dt.timedelta(minutes=age_minutes), plan, phase)


def slot(warehouse: int = 1, day: int = 1, coefficient: int = 0, box_type: BoxType = BOXES, **kw: Any) -> Slot:
    return Slot(SlotKey(warehouse, TODAY + dt.timedelta(days=day), box_type), coefficient, True, **kw)


def opened(*slots: Slot) -> list[SlotEvent]:
    return [SlotEvent(SlotEventKind.OPENED, s, None, NOW) for s in slots]


def ids(candidates: Iterable[Candidate]) -> list[str]:
    return [c.task.id for c in candidates]


def run(tasks: Iterable[SupplyTask], *slots: Slot) -> list[Candidate]:
    return list(match(opened(*slots), TaskIndex(tasks), TODAY))


def test_earlier_deadline_first_and_no_deadline_last() -> None:
    tasks = [task("none"), task("late", deadline_hours=48), task("soon", deadline_hours=2)]
    assert ids(run(tasks, slot())) == ["soon", "late", "none"]


def test_higher_plan_first_when_deadlines_tie() -> None:
    tasks = [task("start", plan=Plan.START), task("pro", plan=Plan.PRO), task("basic", plan=Plan.BASIC)]
    assert ids(run(tasks, slot())) == ["pro", "basic", "start"]
    assert ids(run([task("pro", plan=Plan.PRO), task("due", deadline_hours=1)], slot())) == ["due", "pro"]


def test_older_task_first_when_deadline_and_plan_tie() -> None:
    tasks = [task("new", age_minutes=1), task("old", age_minutes=60), task("older-start", age_minutes=99)]
    tasks[2] = task("older-start", age_minutes=99, plan=Plan.START)
    tasks[0] = task("new", age_minutes=1, plan=Plan.BUSINESS)
    assert ids(run(tasks, slot())) == ["new", "older-start", "old"]
    assert ids(run([task("new", age_minutes=1), task("old", age_minutes=60)], slot())) == ["old", "new"]


def test_warehouse_importance_breaks_a_full_tie_then_the_id() -> None:
    tasks = [task("b", [2, 1]), task("a", [3, 1]), task("c", [1, 2])]
    # Only warehouse 1 opens: it is first for c, second for a and b.
    assert ids(run(tasks, slot(warehouse=1))) == ["c", "a", "b"]
    assert [c.importance for c in run(tasks, slot(warehouse=1))] == [0, 1, 1]


def test_for_one_task_the_earliest_date_wins_then_the_more_important_warehouse() -> None:
    only = [task("t", [1, 2, 3])]
    [found] = run(only, slot(warehouse=1, day=5), slot(warehouse=3, day=2), slot(warehouse=2, day=2))
    assert (found.slot.warehouse_id, found.slot.date, found.importance) == (2, TODAY + dt.timedelta(days=2), 1)


def test_each_task_yields_one_candidate_that_it_accepts() -> None:
    tasks = [task("cheap", max_coefficient=0), task("any", max_coefficient=5), task("pallets", box_type=BoxType.QR)]
    found = run(tasks, slot(coefficient=3), slot(day=2, coefficient=0))
    assert {c.task.id: c.slot.date.day - TODAY.day for c in found} == {"cheap": 2, "any": 1}
    assert all(c.task.accepts(c.slot, TODAY) for c in found)


def test_only_watching_tasks_match_and_closed_events_offer_nothing() -> None:
    tasks = [task(phase.value, phase=phase) for phase in TaskPhase]
    assert ids(run(tasks, slot())) == ["Watching"]
    closed = [SlotEvent(SlotEventKind.CLOSED, slot(coefficient=-1), slot(), NOW)]
    assert list(match(closed, TaskIndex(tasks), TODAY)) == []
    opened_then_closed = opened(slot()) + closed
    assert list(match(opened_then_closed, TaskIndex(tasks), TODAY)) == [], "the latest state of a slot counts"
    closed_then_reopened = closed + opened(slot(coefficient=0))
    assert ids(match(closed_then_reopened, TaskIndex(tasks), TODAY)) == ["Watching"]


def test_notify_only_tasks_match_too() -> None:
    tasks = [task("notify", mode=TaskMode.NOTIFY, plan=Plan.PRO), task("book")]
    assert ids(run(tasks, slot())) == ["notify", "book"]


def test_index_add_update_remove() -> None:
    index = TaskIndex([task("a", [1, 2]), task("b", [2], plan=Plan.PRO)])
    assert len(index) == 2 and "a" in index
    assert [t.id for t in index.tasks_for(2, BOXES)] == ["b", "a"]
    index.add(task("c", [3], deadline_hours=1))
    with pytest.raises(ValueError):
        index.add(task("c", [3]))
    index.update(task("a", [3], plan=Plan.ENTERPRISE))
    assert index.tasks_for(1, BOXES) == [] and [t.id for t in index.tasks_for(2, BOXES)] == ["b"]
    assert [t.id for t in index.tasks_for(3, BOXES)] == ["c", "a"]
    assert index.remove("c").id == "c"
    assert "c" not in index and index.get("c") is None and [t.id for t in index.tasks_for(3, BOXES)] == ["a"]
    with pytest.raises(KeyError):
        index.remove("c")
    index.update(task("d", [1]))
    assert ids(match(opened(slot(1), slot(3)), index, TODAY)) == ["a", "d"]


def test_a_task_moved_out_of_watching_stops_matching_after_update() -> None:
    watching = task("t")
    index = TaskIndex([watching])
    index.update(watching.moved_to(TaskPhase.BOOKING))
    assert list(match(opened(slot()), index, TODAY)) == []


def reference(tasks: list[SupplyTask], slots: list[Slot]) -> list[tuple[str, SlotKey, int]]:
    """The rules, spelled out by brute force."""
    found = []
    for candidate in tasks:
        if candidate.phase is not TaskPhase.WATCHING:
            continue
        fits = [(s.date, candidate.spec.importance(s.warehouse_id), s) for s in slots if candidate.accepts(s, TODAY)]
        if fits:
            _day, importance, best = min(fits, key=lambda fit: fit[:2])
            found.append((candidate.priority_key[:3], importance, candidate.id, best.key))
    return [(task_id, key, importance) for _, importance, task_id, key in sorted(found)]


def random_world(rng: random.Random, task_count: int, slot_share: float) -> tuple[list[SupplyTask], list[Slot]]:
    """Tasks on 30 warehouses × 2 box types; with ``slot_share`` 1 every slot is open (a calendar-wide change)."""
    coefficients = [0, 1, 3] if slot_share == 1 else [-1, 0, 1, 3]
    tasks = []
    for number in range(task_count):
        window: dict[str, Any] = rng.choice(
            [{}, {"lead_time_days": rng.randint(0, 10)}, {"date_to": TODAY.replace(day=30)}]
        )
        tasks.append(
            task(
                f"t{number:03d}",
                rng.sample(range(1, 31), rng.randint(1, 3)),
                deadline_hours=rng.choice([None, 1, 2]),
                plan=rng.choice([Plan.START, Plan.PRO]),
                age_minutes=rng.choice([0, 5]),  # plenty of full ties
                phase=rng.choice([TaskPhase.WATCHING] * 4 + [TaskPhase.PENDING]),
                box_type=rng.choice([BoxType.BOXES, BoxType.QR]),
                max_coefficient=rng.choice([0, 2]),
                max_logistics_coefficient=rng.choice([None, 150]),
                max_storage_coefficient=rng.choice([None, None, 130]),
                min_days_ahead=rng.choice([None, None, 3]),
                weekdays=rng.choice([[], [0, 2, 4]]),
                **window,
            )
        )
    slots = [
        slot(w, d, rng.choice(coefficients), b, logistics_coefficient=rng.choice([None, 120, 200]),
             storage_coefficient=rng.choice([None, 100, 160]))
        for w in range(1, 31)
        for d in range(-1, 31)
        for b in (BoxType.BOXES, BoxType.QR)
        if rng.random() < slot_share
    ]
    return tasks, slots


# A few touched buckets (heap merge), most (walk the global order), every slot open (buckets probed by day).
@pytest.mark.parametrize("slot_share", [0.008, 0.3, 1.0])
@pytest.mark.parametrize("seed", range(5))
def test_matching_agrees_with_the_rules_spelled_out(seed: int, slot_share: float) -> None:
    rng = random.Random(seed)
    tasks, slots = random_world(rng, 120, slot_share)
    calendar = Calendar.from_slots(TODAY, slots)
    events = diff(Calendar(TODAY), calendar, NOW)
    got = [(c.task.id, c.slot.key, c.importance) for c in match(events, TaskIndex(tasks), TODAY)]
    assert got == reference(tasks, calendar.open_slots())
    index = TaskIndex()
    for one in reversed(tasks):  # built one by one, in another order: the same result
        index.add(one)
    assert [(c.task.id, c.slot.key, c.importance) for c in match(events, index, TODAY)] == got


def test_matching_is_lazy() -> None:
    index = TaskIndex([task(f"t{number}", age_minutes=number) for number in range(50)])
    candidates = match(opened(slot()), index, TODAY)
    assert next(candidates).task.id == "t49"
    assert iter(candidates) is candidates


def test_a_calendar_wide_change_still_finds_a_lone_slot_on_the_last_day() -> None:
    # More offered slots than indexed buckets × days: touched buckets are found by probing day by day.
    index = TaskIndex([task("busy", [1]), task("lone", [2], plan=Plan.PRO), task("none", [4])])
    offered = [slot(1, day) for day in range(30)] + [slot(2, 29)] + [slot(w, day) for w in (3, 5) for day in range(30)]
    assert len(offered) >= 3 * 30
    found = list(match(opened(*offered), index, TODAY))
    assert [(c.task.id, c.slot.date - TODAY) for c in found] == [("lone", dt.timedelta(29)), ("busy", dt.timedelta(0))]


def test_holidays_and_not_earlier_than_n_days_exclude_the_same_dates_in_matching_and_in_the_spec() -> None:
    today = dt.date(2026, 12, 29)  # the New Year holidays (1-8 January) are inside the calendar
    strict = task("strict", skip_holidays=True, min_days_ahead=3, weekdays=[0, 1, 2, 3, 4])
    plain = task("plain")
    slots = [Slot(SlotKey(1, today + dt.timedelta(days=d), BOXES), 0, True) for d in range(HORIZON_DAYS)]
    events = [SlotEvent(SlotEventKind.OPENED, s, None, NOW) for s in slots]
    index = TaskIndex([strict, plain])
    best = {c.task.id: c.slot.date for c in match(events, index, today)}
    assert best == {"plain": today, "strict": dt.date(2027, 1, 11)}  # from 1 Jan: 1-8 Jan off, 9-10 a weekend
    for offered in slots:
        accepted = strict.accepts(offered, today)
        assert accepted == (offered.date >= today + dt.timedelta(days=3) and offered.date.weekday() < 5
                            and not (offered.date.month == 1 and offered.date.day <= 8)), offered.date
