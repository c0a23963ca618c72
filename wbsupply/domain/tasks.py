"""What a seller asks to book (``SupplyTaskSpec``), the task around it (``SupplyTask``), and which slots fit.

Validation speaks Russian to the seller: rule violations carry the message itself, and ``russian_errors``
turns any ``pydantic.ValidationError`` of a spec (wrong types included) into messages for the cabinet.
Checks that depend on the current day live in ``check_against_today`` so that the model stays pure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

from wbsupply.domain.holidays import is_holiday
from wbsupply.domain.machines import move
from wbsupply.domain.schedule import MOSCOW, moscow_today, require_aware
from wbsupply.domain.slots import HORIZON_DAYS, Slot
from wbsupply.domain.statuses import BoxType, TaskMode, TaskPhase
from wbsupply.domain.tariffs import Plan

MAX_LEAD_TIME_DAYS = 365  # WB plans a month ahead; the cap only keeps date arithmetic sane
# Limits of a spec (the API schema documents them): a task is a seller's wish, not a place to store data.
MAX_DRAFT_ID_LENGTH = 64  # WB's draft ids are UUIDs
MAX_WAREHOUSES = 50
MAX_SKIP_DATES = 100
MAX_COEFFICIENT = 20  # WB's acceptance coefficients run from 0 (free) to 20
MAX_LOGISTICS_COEFFICIENT = 1000  # percent
MAX_STORAGE_COEFFICIENT = 1000  # percent
MAX_PALLETS = 100  # monopallets of one supply
MAX_MOVES = 5  # reschedules of one booked supply (each is a plan/update in WB's cabinet)
MAX_RACERS = 4  # other WB accounts of the seller racing for one task
MAX_ID = 2**63 - 1  # ids are signed 64-bit integers in both databases
MAX_DATE_RANGE_DAYS = 366  # dates (window, skipped, deadline) at most a year from today
RULE_ERROR = "task_rule"  # pydantic error type of our own rules; their message is for the seller as is


def _rule(message: str) -> PydanticCustomError:
    return PydanticCustomError(RULE_ERROR, message)


class SupplyTaskSpec(BaseModel):
    """The seller's request. Without a date window or lead time any date of the calendar fits.

    ``lead_time_days`` N: a slot from today up to today + N days. ``weekdays``: 0 = Monday .. 6 = Sunday, empty
    for any day. ``max_coefficient`` 0 books free slots only. ``max_logistics_coefficient`` is in percent
    (WB's deliveryCoef, e.g. 120); a slot without a known logistics coefficient does not fit such a limit.
    ``deadline``: the task expires then (a naive value is Moscow time). It does not restrict slot dates.
    ``max_storage_coefficient``: WB's storageCoef in percent, like the logistics limit. ``min_days_ahead`` N:
    «не раньше чем через N дней», no slot before today + N. ``skip_holidays``: no slot on a Russian public
    holiday. ``pallet_count`` (monopallets only): a date must still take that many pallets (checked in the
    preorder's own calendar before booking; the public calendar does not show free places).
    A notify-only task needs no draft or preorder: it alerts on warehouses, box type, dates and prices alone.
    ``improve``: once booked, keep watching and move the supply (``plan/update``) to an earlier date, a lower
    coefficient, or a slot better in one and not worse in the other («both»), at most ``max_moves`` times.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(max_length=20)
    preorder_id: int | None = Field(default=None, le=MAX_ID)
    draft_id: str | None = Field(default=None, max_length=MAX_DRAFT_ID_LENGTH)
    warehouses: list[int] = Field(max_length=MAX_WAREHOUSES)
    box_type: BoxType
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    lead_time_days: int | None = None
    weekdays: frozenset[int] = Field(default=frozenset(), max_length=7)
    skip_dates: frozenset[dt.date] = Field(default=frozenset(), max_length=MAX_SKIP_DATES)
    max_coefficient: int = Field(default=0, le=MAX_COEFFICIENT)
    max_logistics_coefficient: int | None = Field(default=None, le=MAX_LOGISTICS_COEFFICIENT)
    max_storage_coefficient: int | None = Field(default=None, le=MAX_STORAGE_COEFFICIENT)
    min_days_ahead: int | None = Field(default=None, le=MAX_LEAD_TIME_DAYS)
    skip_holidays: bool = False
    pallet_count: int | None = Field(default=None, le=MAX_PALLETS)
    improve: Literal["earlier", "cheaper", "both"] | None = None
    max_moves: int = Field(default=2, ge=1, le=MAX_MOVES)
    deadline: dt.datetime | None = None
    mode: TaskMode = TaskMode.BOOK
    # Racing: the seller's other WB accounts that book this task too, each with its own draft (account id ->
    # draft id). Every bot watches; the first to hold the task's booking books, the others stand down.
    racers: dict[str, str] = Field(default_factory=dict, max_length=MAX_RACERS)

    @field_validator("racers")
    @classmethod
    def _racers_have_drafts(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned = {key.strip(): draft.strip() for key, draft in value.items()}
        if any(not (key.isascii() and key.isdigit()) or len(key) > 20 for key in cleaned):
            raise _rule("Другие аккаунты WB: неверный номер аккаунта")
        if any(not draft or len(draft) > MAX_DRAFT_ID_LENGTH for draft in cleaned.values()):
            raise _rule("Для каждого другого аккаунта WB укажите его черновик поставки")
        return cleaned

    @field_validator("account_id")
    @classmethod
    def _account_given(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise _rule("Выберите аккаунт WB, для которого создаётся задача")
        return value

    @field_validator("preorder_id")
    @classmethod
    def _preorder_positive(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise _rule("Номер заказа WB должен быть положительным числом")
        return value

    @field_validator("draft_id")
    @classmethod
    def _draft_blank_is_none(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and len(value) > MAX_DRAFT_ID_LENGTH:
            raise _rule(f"Номер черновика WB не длиннее {MAX_DRAFT_ID_LENGTH} символов: выберите черновик из списка")
        return value

    @field_validator("warehouses")
    @classmethod
    def _warehouses_chosen(cls, value: list[int]) -> list[int]:
        if not value:
            raise _rule("Выберите хотя бы один склад")
        seen: set[int] = set()
        for warehouse_id in value:
            if warehouse_id <= 0:
                raise _rule(f"Неизвестный склад: {warehouse_id}")
            if warehouse_id in seen:
                raise _rule(f"Склад {warehouse_id} выбран дважды: каждый склад указывается один раз")
            seen.add(warehouse_id)
        return value

    @field_validator("lead_time_days")
    @classmethod
    def _lead_time_not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise _rule("Срок в днях не может быть отрицательным")
        if value is not None and value > MAX_LEAD_TIME_DAYS:
            raise _rule(f"Срок в днях не может быть больше {MAX_LEAD_TIME_DAYS}")
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays_in_range(cls, value: frozenset[int]) -> frozenset[int]:
        if any(not 0 <= day <= 6 for day in value):
            raise _rule("День недели указывается числом от 0 (понедельник) до 6 (воскресенье)")
        return value

    @field_validator("max_coefficient")
    @classmethod
    def _coefficient_not_negative(cls, value: int) -> int:
        if value < 0:
            raise _rule("Коэффициент приёмки не может быть меньше 0")
        return value

    @field_validator("max_logistics_coefficient")
    @classmethod
    def _logistics_not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise _rule("Коэффициент логистики не может быть меньше 0")
        return value

    @field_validator("max_storage_coefficient")
    @classmethod
    def _storage_not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise _rule("Коэффициент хранения не может быть меньше 0")
        return value

    @field_validator("min_days_ahead")
    @classmethod
    def _min_days_not_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise _rule("«Не раньше чем через N дней»: N не может быть отрицательным")
        return value

    @field_validator("pallet_count")
    @classmethod
    def _pallets_positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise _rule("Количество паллет — не меньше одной")
        return value

    @field_validator("deadline")
    @classmethod
    def _deadline_in_moscow(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and not 2000 <= value.year <= 2999:  # 9999-12-31 -12:00 overflows in UTC
            raise _rule(_FAR_DEADLINE)
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=MOSCOW)
        return value

    @field_serializer("weekdays", "skip_dates")
    def _sorted(self, values: frozenset[Any]) -> list[Any]:
        # Stable output: stored specs and custom resources must not change with set iteration order.
        return sorted(values)

    @model_validator(mode="after")
    def _consistent(self) -> SupplyTaskSpec:
        if self.preorder_id is None and self.draft_id is None and self.mode is TaskMode.BOOK:
            raise _rule("Укажите черновик поставки или номер заказа WB либо выберите режим «Только уведомить»")
        if self.improve is not None and self.mode is not TaskMode.BOOK:
            raise _rule("Перенос на лучший слот возможен только в режиме «Бронировать»")
        if self.racers and self.mode is not TaskMode.BOOK:
            raise _rule("Несколько аккаунтов бронируют только в режиме «Бронировать»")
        if self.account_id in self.racers:
            raise _rule("Основной аккаунт задачи не может быть в списке других аккаунтов")
        if self.pallet_count is not None and self.box_type is not BoxType.MONOPALLETS:
            raise _rule("Количество паллет указывается только для монопаллет")
        has_window = self.date_from is not None or self.date_to is not None
        if has_window and self.lead_time_days is not None:
            raise _rule("Укажите либо период дат, либо срок в днях, но не оба сразу")
        if self.date_from and self.date_to:
            if self.date_from > self.date_to:
                raise _rule("Дата начала периода позже даты окончания")
            if not self.has_allowed_date(self.date_from, self.date_to):
                raise _rule(_NO_DAY_LEFT)
        return self

    def for_account(self, account_id: str) -> SupplyTaskSpec:
        """The task as the bot of ``account_id`` books it: a racer books its own draft (WB drafts and preorders
        belong to one account), the primary account the task's draft or preorder."""
        if account_id == self.account_id or account_id not in self.racers:
            return self
        return self.model_copy(update={"account_id": account_id, "draft_id": self.racers[account_id],
                                       "preorder_id": None})

    def window(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """First and last date (inclusive) a slot may have, seen from ``today``; may be empty (first > last)."""
        earliest = today + dt.timedelta(days=self.min_days_ahead or 0)
        if self.lead_time_days is not None:
            return earliest, today + dt.timedelta(days=self.lead_time_days)
        start = max(earliest, self.date_from) if self.date_from else earliest
        return start, self.date_to or dt.date.max

    def allowed_dates(self, first: dt.date, last: dt.date) -> Iterator[dt.date]:
        """Dates from ``first`` to ``last`` that pass the weekday, skipped-date and holiday filters, ascending
        (lazy: a window may end in the year 9999)."""
        for offset in range((last - first).days + 1):
            day = first + dt.timedelta(days=offset)
            if self.day_allowed(day):
                yield day

    def day_allowed(self, day: dt.date) -> bool:
        """The weekday, skipped-date and holiday filters (not the window)."""
        weekdays = self.weekdays
        if weekdays and day.weekday() not in weekdays:
            return False
        return day not in self.skip_dates and not (self.skip_holidays and is_holiday(day))

    def has_allowed_date(self, first: dt.date, last: dt.date) -> bool:
        # Stops within len(skip_dates) + 7 + 8 holidays in a row days whatever the window.
        return next(self.allowed_dates(first, last), None) is not None

    def dates_on_calendar(self, today: dt.date) -> list[dt.date]:
        """The dates this task would book among those the calendar of ``today`` shows."""
        first, last = self.window(today)
        horizon_end = today + dt.timedelta(days=HORIZON_DAYS - 1)
        return list(self.allowed_dates(first, min(last, horizon_end)))

    def accepts(self, slot: Slot, today: dt.date) -> bool:
        key = slot.key
        if key.box_type != self.box_type or key.warehouse_id not in self.warehouses:
            return False
        if not slot.is_open or slot.coefficient > self.max_coefficient:
            return False
        if not within(slot.logistics_coefficient, self.max_logistics_coefficient):
            return False
        if not within(slot.storage_coefficient, self.max_storage_coefficient):
            return False
        first, last = self.window(today)
        return first <= key.date <= last and self.day_allowed(key.date)

    def importance(self, warehouse_id: int) -> int:
        """0 for the seller's most important warehouse."""
        return self.warehouses.index(warehouse_id)

    def is_expired(self, now: dt.datetime) -> bool:
        """Past the deadline, or the date window ended (Moscow dates)."""
        if self.deadline is not None and now >= self.deadline:
            return True
        return self.date_to is not None and self.date_to < moscow_today(now)


def within(value: int | None, limit: int | None) -> bool:
    """A tariff against the seller's limit: no limit fits anything, an unknown tariff fits no limit."""
    return limit is None or (value is not None and value <= limit)


_FAR_DEADLINE = "Крайний срок — не позже чем через год"
_NO_DAY_LEFT = "В выбранном периоде не осталось подходящих дней: проверьте дни недели и исключённые даты"


def check_against_today(spec: SupplyTaskSpec, today: dt.date, now: dt.datetime | None = None) -> list[str]:
    """Problems of a spec that only show against the current day (for creating or editing a task)."""
    problems = []
    if spec.date_to is not None and spec.date_to < today:
        problems.append("Дата окончания периода уже прошла")
    elif spec.lead_time_days is not None or spec.date_to is not None:
        first, last = spec.window(today)
        if not spec.has_allowed_date(first, last):
            problems.append(_NO_DAY_LEFT)
    if now is not None and spec.deadline is not None and spec.deadline <= now:
        problems.append("Крайний срок уже прошёл")
    if now is not None and spec.deadline is not None and spec.deadline > now + dt.timedelta(MAX_DATE_RANGE_DAYS):
        problems.append(_FAR_DEADLINE)
    earliest, latest = today - dt.timedelta(MAX_DATE_RANGE_DAYS), today + dt.timedelta(MAX_DATE_RANGE_DAYS)
    for name, day in (("date_from", spec.date_from), ("date_to", spec.date_to)):
        if day is not None and not earliest <= day <= latest:
            problems.append(f"{FIELD_LABELS[name]}: не дальше года от сегодняшнего дня")
    if any(not earliest <= day <= latest for day in spec.skip_dates):
        problems.append(f"{FIELD_LABELS['skip_dates']}: не дальше года от сегодняшнего дня")
    return problems


FIELD_LABELS = {
    "account_id": "Аккаунт WB",
    "preorder_id": "Номер заказа",
    "draft_id": "Черновик поставки",
    "warehouses": "Склады",
    "box_type": "Тип поставки",
    "date_from": "Дата начала периода",
    "date_to": "Дата окончания периода",
    "lead_time_days": "Срок в днях",
    "weekdays": "Дни недели",
    "skip_dates": "Исключённые даты",
    "max_coefficient": "Максимальный коэффициент приёмки",
    "max_logistics_coefficient": "Максимальный коэффициент логистики",
    "max_storage_coefficient": "Максимальный коэффициент хранения",
    "min_days_ahead": "Не раньше чем через N дней",
    "skip_holidays": "Без праздников",
    "pallet_count": "Количество паллет",
    "improve": "Переносить на лучший слот",
    "max_moves": "Переносов не больше",
    "racers": "Другие аккаунты WB",
    "deadline": "Крайний срок",
    "mode": "Режим",
}

_TYPE_MESSAGES = {
    "missing": "заполните это поле",
    "int_parsing": "введите целое число",
    "int_type": "введите целое число",
    "int_from_float": "введите целое число",
    "date_parsing": "введите дату в формате ГГГГ-ММ-ДД",
    "date_from_datetime_parsing": "введите дату в формате ГГГГ-ММ-ДД",
    "date_from_datetime_inexact": "введите дату без времени",
    "date_type": "введите дату в формате ГГГГ-ММ-ДД",
    "datetime_parsing": "введите дату и время",
    "datetime_from_date_parsing": "введите дату и время",
    "datetime_type": "введите дату и время",
    "enum": "выберите значение из списка",
    "string_type": "введите текст",
    "bool_parsing": "выберите да или нет",
    "bool_type": "выберите да или нет",
    "list_type": "ожидается список",
    "frozen_set_type": "ожидается список",
    "set_type": "ожидается список",
    "extra_forbidden": "такого поля нет",
    "too_long": "слишком много значений",
    "string_too_long": "слишком длинное значение",
    "less_than_equal": "слишком большое значение",
    "literal_error": "выберите значение из списка",
    "greater_than_equal": "слишком маленькое значение",
}


def russian_errors(error: ValidationError) -> list[str]:
    """One message per problem, in Russian, naming the field as the cabinet form does."""
    messages = []
    for item in error.errors():
        if item["type"] == RULE_ERROR:
            messages.append(item["msg"])
            continue
        name = str(item["loc"][0]) if item["loc"] else ""
        label = FIELD_LABELS.get(name, name)
        text = _TYPE_MESSAGES.get(item["type"], "неверное значение")
        messages.append(f"{label}: {text}" if label else text[0].upper() + text[1:])
    return messages


@dataclass(frozen=True)
class SupplyTask:
    """A spec being worked on. ``plan`` is the seller's tariff at creation: it orders contested slots."""

    id: str
    spec: SupplyTaskSpec
    created_at: dt.datetime
    plan: Plan = Plan.START
    phase: TaskPhase = TaskPhase.PENDING
    note: str = field(default="", compare=False)  # last human-readable reason (lost slot, error)

    def __post_init__(self) -> None:
        require_aware(self.created_at)

    def __hash__(self) -> int:  # the spec holds a list; a task is identified by its id anyway
        return hash(self.id)

    @property
    def priority_key(self) -> tuple[float, int, float, str]:
        """Sorts tasks by priority: deadline (none last), higher plan, older, then id for a stable order."""
        deadline = self.spec.deadline
        return (
            deadline.timestamp() if deadline is not None else math.inf,
            -self.plan.rank,
            self.created_at.timestamp(),
            self.id,
        )

    def accepts(self, slot: Slot, today: dt.date) -> bool:
        return self.spec.accepts(slot, today)

    def moved_to(self, phase: TaskPhase, note: str = "") -> SupplyTask:
        """This task in another phase; raises ``IllegalTransition`` for a move the machine forbids."""
        return replace(self, phase=move(self.phase, phase), note=note)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "spec": self.spec.model_dump(mode="json"),
            "created_at": self.created_at.isoformat(),
            "plan": self.plan.value,
            "phase": self.phase.value,
            "note": self.note,
        }
