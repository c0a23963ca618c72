"""Supply task specs: validation in Russian, checks against today, and which slots a task accepts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from wbsupply.domain.machines import IllegalTransition
from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BoxType, TaskMode, TaskPhase
from wbsupply.domain.tariffs import Plan
from wbsupply.domain.tasks import SupplyTask, SupplyTaskSpec, check_against_today, russian_errors

TODAY = dt.date(2026, 11, 26)  # a Thursday
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=MOSCOW)
NO_SUPPLY = "Укажите черновик поставки или номер заказа WB либо выберите режим «Только уведомить»"


def spec(**changes: Any) -> SupplyTaskSpec:
    fields: dict[str, Any] = {
        "account_id": "bot-1",
        "preorder_id": 42,
        "warehouses": [507, 117986],
        "box_type": "boxes",
    }
    fields.update(changes)
    return SupplyTaskSpec(**fields)


def errors_of(**changes: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        spec(**changes)
    return russian_errors(caught.value)


def slot(warehouse: int = 507, day: int = 1, coefficient: int = 0, **kw: Any) -> Slot:
    key = SlotKey(warehouse, TODAY + dt.timedelta(days=day), kw.pop("box_type", BoxType.BOXES))
    return Slot(key, coefficient, kw.pop("allow_unload", True), kw.pop("logistics_coefficient", None),
                storage_coefficient=kw.pop("storage_coefficient", None))


def test_a_minimal_spec_has_seller_friendly_defaults() -> None:
    made = spec()
    assert made.box_type is BoxType.BOXES and made.mode is TaskMode.BOOK
    assert made.max_coefficient == 0, "free slots only unless the seller allows more"
    assert made.weekdays == frozenset() and made.skip_dates == frozenset()
    assert spec(preorder_id=None, draft_id="  d-1 ").draft_id == "d-1"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"warehouses": []}, "Выберите хотя бы один склад"),
        ({"warehouses": [507, 507]}, "Склад 507 выбран дважды: каждый склад указывается один раз"),
        ({"warehouses": [0]}, "Неизвестный склад: 0"),
        ({"max_coefficient": -1}, "Коэффициент приёмки не может быть меньше 0"),
        ({"max_logistics_coefficient": -5}, "Коэффициент логистики не может быть меньше 0"),
        ({"preorder_id": None}, NO_SUPPLY),
        ({"preorder_id": None, "draft_id": "   "}, NO_SUPPLY),
        ({"preorder_id": -3}, "Номер заказа WB должен быть положительным числом"),
        ({"account_id": "  "}, "Выберите аккаунт WB, для которого создаётся задача"),
        ({"lead_time_days": -1}, "Срок в днях не может быть отрицательным"),
        ({"lead_time_days": 10**9}, "Срок в днях не может быть больше 365"),
        ({"weekdays": [7]}, "День недели указывается числом от 0 (понедельник) до 6 (воскресенье)"),
        (
            {"date_from": TODAY, "lead_time_days": 5},
            "Укажите либо период дат, либо срок в днях, но не оба сразу",
        ),
        (
            {"date_from": TODAY, "date_to": TODAY - dt.timedelta(days=1)},
            "Дата начала периода позже даты окончания",
        ),
        (
            {"date_from": TODAY, "date_to": TODAY + dt.timedelta(days=2), "weekdays": [0, 1]},
            "В выбранном периоде не осталось подходящих дней: проверьте дни недели и исключённые даты",
        ),
    ],
)
def test_rule_violations_are_explained_in_russian(changes: dict[str, Any], message: str) -> None:
    assert errors_of(**changes) == [message]


def test_type_errors_are_translated_with_the_field_name() -> None:
    messages = errors_of(max_coefficient="много", date_to="завтра", box_type="ящики", colour="red")
    assert messages == [
        "Тип поставки: выберите значение из списка",
        "Дата окончания периода: введите дату в формате ГГГГ-ММ-ДД",
        "Максимальный коэффициент приёмки: введите целое число",
        "colour: такого поля нет",
    ]
    with pytest.raises(ValidationError) as caught:
        SupplyTaskSpec(account_id="bot-1", preorder_id=1, box_type="boxes")  # type: ignore[call-arg, arg-type]
    assert russian_errors(caught.value) == ["Склады: заполните это поле"]


def test_a_spec_serializes_stably_and_round_trips() -> None:
    days = [TODAY + dt.timedelta(days=offset) for offset in (9, 2, 5)]
    made = spec(weekdays=[4, 0, 2], skip_dates=days, deadline=NOW, max_logistics_coefficient=150)
    dumped = made.model_dump(mode="json")
    assert dumped["weekdays"] == [0, 2, 4] and dumped["skip_dates"] == sorted(d.isoformat() for d in days)
    assert SupplyTaskSpec.model_validate_json(made.model_dump_json()) == made


def test_a_naive_deadline_is_moscow_time() -> None:
    made = spec(deadline=dt.datetime(2026, 12, 1, 18, 0))
    assert made.deadline == dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def test_checks_against_today_catch_a_window_or_deadline_in_the_past() -> None:
    past = spec(date_from=TODAY - dt.timedelta(days=9), date_to=TODAY - dt.timedelta(days=1))
    assert check_against_today(past, TODAY) == ["Дата окончания периода уже прошла"]
    assert check_against_today(spec(date_to=TODAY), TODAY) == []
    late = spec(deadline=NOW - dt.timedelta(minutes=1))
    assert check_against_today(late, TODAY, NOW) == ["Крайний срок уже прошёл"]
    assert check_against_today(late, TODAY) == [], "without `now` the deadline is not judged"


def test_checks_against_today_catch_a_remaining_window_without_an_allowed_day() -> None:
    # Today is Thursday: within 2 days only Thu, Fri, Sat remain, and the seller wants Mondays.
    assert check_against_today(spec(lead_time_days=2, weekdays=[0]), TODAY) != []
    assert check_against_today(spec(lead_time_days=4, weekdays=[0]), TODAY) == []
    window = spec(date_from=TODAY - dt.timedelta(days=7), date_to=TODAY + dt.timedelta(days=1), weekdays=[0])
    assert check_against_today(window, TODAY) != [], "the Monday of the window is past"


def test_window_from_dates_lead_time_or_nothing() -> None:
    assert spec(lead_time_days=3).window(TODAY) == (TODAY, TODAY + dt.timedelta(days=3))
    later = TODAY + dt.timedelta(days=5)
    assert spec(date_from=later).window(TODAY) == (later, dt.date.max)
    assert spec(date_from=TODAY - dt.timedelta(days=5), date_to=later).window(TODAY) == (TODAY, later)
    assert spec().window(TODAY) == (TODAY, dt.date.max)
    assert len(spec().dates_on_calendar(TODAY)) == 30


def test_accepts_a_fitting_open_slot() -> None:
    assert spec(max_coefficient=2).accepts(slot(coefficient=2), TODAY)
    assert spec().accepts(slot(warehouse=117986), TODAY)


@pytest.mark.parametrize(
    ("made", "offered", "why"),
    [
        (spec(), slot(warehouse=1), "warehouse not chosen"),
        (spec(), slot(box_type=BoxType.MONOPALLETS), "other box type"),
        (spec(), slot(coefficient=-1), "closed"),
        (spec(), slot(allow_unload=False), "unloading not allowed"),
        (spec(max_coefficient=2), slot(coefficient=3), "too expensive"),
        (spec(max_logistics_coefficient=150), slot(logistics_coefficient=160), "logistics too expensive"),
        (spec(max_logistics_coefficient=150), slot(), "logistics unknown"),
        (spec(lead_time_days=3), slot(day=4), "beyond the lead time"),
        (spec(date_from=TODAY + dt.timedelta(days=2)), slot(day=1), "before the window"),
        (spec(date_to=TODAY + dt.timedelta(days=2)), slot(day=3), "after the window"),
        (spec(), slot(day=-1), "in the past"),
        (spec(weekdays=[0, 1, 2, 3, 4]), slot(day=2), "a Saturday"),
        (spec(skip_dates=[TODAY + dt.timedelta(days=1)]), slot(day=1), "a skipped date"),
        (spec(max_storage_coefficient=150), slot(storage_coefficient=160), "storage too expensive"),
        (spec(max_storage_coefficient=150), slot(), "storage unknown"),
        (spec(min_days_ahead=3), slot(day=2), "sooner than N days"),
        (spec(min_days_ahead=3, lead_time_days=5), slot(day=2), "sooner than N days in a lead time"),
        (spec(skip_holidays=True), slot(day=(dt.date(2027, 1, 7) - TODAY).days), "Christmas"),
    ],
)
def test_does_not_accept(made: SupplyTaskSpec, offered: Slot, why: str) -> None:
    assert not made.accepts(offered, TODAY), why


def test_accepts_the_window_edges_and_allowed_weekdays() -> None:
    assert spec(lead_time_days=3).accepts(slot(day=3), TODAY)
    assert spec(lead_time_days=0).accepts(slot(day=0), TODAY)
    assert spec(date_to=TODAY + dt.timedelta(days=2)).accepts(slot(day=2), TODAY)
    assert spec(weekdays=[5]).accepts(slot(day=2), TODAY)
    assert spec(max_logistics_coefficient=150).accepts(slot(logistics_coefficient=150), TODAY)
    assert spec(max_storage_coefficient=150).accepts(slot(storage_coefficient=150), TODAY)
    assert spec(min_days_ahead=3).accepts(slot(day=3), TODAY)
    assert spec(skip_holidays=True).accepts(slot(day=(dt.date(2027, 1, 9) - TODAY).days), TODAY)


def test_a_notify_only_task_needs_no_draft_but_a_booking_one_does() -> None:
    alert = spec(preorder_id=None, mode="notify")
    assert alert.draft_id is None and alert.preorder_id is None
    assert alert.accepts(slot(), TODAY)
    assert errors_of(preorder_id=None, mode="book") == [NO_SUPPLY]


def test_pallets_only_for_monopallets_and_at_least_one() -> None:
    assert spec(box_type="monopallets", pallet_count=4).pallet_count == 4
    assert errors_of(pallet_count=2) == ["Количество паллет указывается только для монопаллет"]
    assert errors_of(box_type="monopallets", pallet_count=0) == ["Количество паллет — не меньше одной"]


def test_not_earlier_than_n_days_beyond_the_window_leaves_no_day() -> None:
    problems = check_against_today(spec(lead_time_days=2, min_days_ahead=5), TODAY, NOW)
    assert problems == ["В выбранном периоде не осталось подходящих дней: проверьте дни недели и исключённые даты"]


def test_expiry_by_deadline_or_end_of_window() -> None:
    assert spec(deadline=NOW).is_expired(NOW)
    assert not spec(deadline=NOW + dt.timedelta(seconds=1)).is_expired(NOW)
    assert spec(date_to=TODAY - dt.timedelta(days=1)).is_expired(NOW)
    # 23:30 UTC on the 25th is already the 26th in Moscow.
    assert spec(date_to=dt.date(2026, 11, 25)).is_expired(dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC))
    assert not spec(lead_time_days=1).is_expired(NOW)


def test_task_priority_key_orders_deadline_plan_then_age() -> None:
    def task(task_id: str, deadline: dt.datetime | None, plan: Plan, age_minutes: int) -> SupplyTask:
        return SupplyTask(task_id, spec(deadline=deadline), NOW - dt.timedelta(minutes=age_minutes), plan)

    tasks = [
        task("no-deadline", None, Plan.ENTERPRISE, 99),
        task("young-pro", NOW, Plan.PRO, 1),
        task("old-start", NOW, Plan.START, 50),
        task("old-pro", NOW, Plan.PRO, 5),
        task("soon", NOW - dt.timedelta(hours=1), Plan.START, 0),
    ]
    ordered = sorted(tasks, key=lambda t: t.priority_key)
    assert [t.id for t in ordered] == ["soon", "old-pro", "young-pro", "old-start", "no-deadline"]


def test_task_phase_changes_follow_the_machine() -> None:
    task = SupplyTask("t1", spec(), NOW)
    watching = task.moved_to(TaskPhase.WATCHING)
    assert watching.phase is TaskPhase.WATCHING and task.phase is TaskPhase.PENDING
    lost = watching.moved_to(TaskPhase.BOOKING).moved_to(TaskPhase.WATCHING, "Слот заняли раньше нас")
    assert lost.note == "Слот заняли раньше нас"
    with pytest.raises(IllegalTransition):
        task.moved_to(TaskPhase.BOOKED)
    assert task.to_dict()["spec"]["warehouses"] == [507, 117986]
    assert {task, watching} == {task, watching} and len({task, task.moved_to(TaskPhase.WATCHING)}) == 2
    with pytest.raises(ValueError):
        SupplyTask("t2", spec(), dt.datetime(2026, 11, 26, 12, 0))


def test_a_window_reaching_far_into_the_future_is_checked_without_walking_it() -> None:
    far = spec(date_from=TODAY, date_to=dt.date(9999, 12, 31), weekdays=[6], skip_dates=[TODAY + dt.timedelta(days=3)])
    # The API refuses such a window (dates at most a year from today); the model still handles it lazily.
    assert check_against_today(far, TODAY) == ["Дата окончания периода: не дальше года от сегодняшнего дня"]
    assert far.dates_on_calendar(TODAY)[0] == TODAY + dt.timedelta(days=10), "first Sunday not skipped"
    assert len(far.dates_on_calendar(TODAY)) == 3
