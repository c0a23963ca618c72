"""How people read dates, times and coefficients: Russian words, Moscow time, labelled (pure; the cabinet's
filters and the notification texts share it).

Stored times are UTC (aware, or naive from SQLite, or ISO strings in views); sellers read Moscow time.
"""

from __future__ import annotations

import datetime as dt

from wbsupply.domain.schedule import MOSCOW, moscow_today

_MONTHS_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                    "октября", "ноября", "декабря")
_MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
           "ноябрь", "декабрь")
_WEEKDAYS = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
NONE = "—"


def moscow_time(moment: dt.datetime) -> dt.datetime:
    """A stored moment in Moscow time (the database keeps UTC; SQLite drops the zone)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(MOSCOW)


def _moment(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    return moscow_time(dt.datetime.fromisoformat(value) if isinstance(value, str) else value)


def _day(value: dt.date | dt.datetime | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10]) if len(value) <= 10 else dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def ru_date(value: dt.date | dt.datetime | str | None, weekday: bool = False) -> str:
    """2026-12-04 → «4 декабря 2026» (with ``weekday``: «4 декабря 2026, пт»)."""
    day = _day(value)
    if day is None:
        return NONE
    text = f"{day.day} {_MONTHS_GENITIVE[day.month - 1]} {day.year}"
    return f"{text}, {_WEEKDAYS[day.weekday()]}" if weekday else text


def ru_month(value: str | dt.date | None) -> str:
    """«2026-12» → «декабрь 2026»."""
    if not value:
        return NONE
    year, month = (value.year, value.month) if isinstance(value, dt.date) else map(int, str(value)[:7].split("-"))
    return f"{_MONTHS[month - 1]} {year}"


def msk(value: dt.datetime | str | None) -> str:
    """A stored UTC moment as Moscow time, labelled: «4 декабря 2026, 14:05 МСК»."""
    moment = _moment(value)
    if moment is None:
        return NONE
    return f"{ru_date(moment.date())}, {moment:%H:%M} МСК"


def msk_short(value: dt.datetime | str | None, now: dt.datetime | None = None) -> str:
    """Compact for tables: «14:05 МСК» today, otherwise «4 дек, 14:05 МСК»."""
    moment = _moment(value)
    if moment is None:
        return NONE
    today = moscow_today(now or dt.datetime.now(dt.UTC))
    if moment.date() == today:
        return f"сегодня {moment:%H:%M} МСК"
    return f"{moment.day} {_MONTHS_GENITIVE[moment.month - 1][:3]} {moment.year}, {moment:%H:%M} МСК"


def coefficient(value: float | int | None) -> str:
    """Acceptance coefficient as sellers say it: 0 is free, otherwise ×N."""
    if value is None:
        return NONE
    if value <= 0:
        return "бесплатно"
    return f"×{value:g}"


def coefficient_limit(value: float | int | str | None) -> str:
    """A task's ceiling: «только бесплатные» for 0, else «коэффициент до ×N»."""
    if value is None or value == "":
        return "любой коэффициент"
    number = float(value)
    return "только бесплатные" if number <= 0 else f"коэффициент до ×{number:g}"


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian form for ``n``: 1 раз, 2 раза, 5 раз, 11 раз, 21 раз."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
