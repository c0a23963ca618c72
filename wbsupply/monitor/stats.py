"""Real chances per warehouse × box type, from the slot history: how often slots open and for how long.

Pure functions over history rows (tested without a database) plus one query to fetch the rows. A slot's
timeline is its rows in time order: ``opened`` starts an interval, ``closed`` ends it, ``changed`` keeps it
open. Intervals whose start or end the monitor did not see (open at its first poll, still open now) count
neither as openings nor in the durations, so the figures never flatter the chances.

Openings per day are counted per whole Moscow calendar day the monitor watched (a day it saw from start to
end), never extrapolated from minutes of history: three minutes with many openings are not "100 a day".
Until ``MIN_HISTORY_DAYS`` whole days are watched the figures are marked as too little data.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.statuses import BoxType
from wbsupply.store.journal import SlotHistory

MIN_HISTORY_DAYS = 3  # whole Moscow days of history before "openings per day" means anything


class HistoryRow(NamedTuple):
    warehouse_id: int
    slot_date: dt.date
    box_type: BoxType
    coefficient: float
    kind: str
    observed_at: dt.datetime


@dataclass
class SlotStats:
    warehouse_id: int
    box_type: BoxType
    days_observed: float
    whole_days: tuple[dt.date, ...] = ()  # Moscow dates watched from start to end
    openings: int = 0  # seen opening (not open at the monitor's start)
    whole_day_openings: int = 0  # of them on whole_days
    free_openings: int = 0  # of them with coefficient 0
    durations_s: list[float] = field(default_factory=list, repr=False)  # completed open intervals
    by_weekday: list[int] = field(default_factory=lambda: [0] * 7)  # openings per Moscow weekday, Monday = 0
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)  # openings per Moscow hour of day

    @property
    def calendar_days(self) -> int:
        return len(self.whole_days)

    @property
    def enough_history(self) -> bool:
        return self.calendar_days >= MIN_HISTORY_DAYS

    @property
    def openings_per_day(self) -> float:
        """Openings per whole calendar day watched (0 until a whole day has been watched)."""
        return self.whole_day_openings / self.calendar_days if self.calendar_days else 0.0

    @property
    def median_open_s(self) -> float | None:
        return quantile(self.durations_s, 0.5)

    @property
    def p90_open_s(self) -> float | None:
        return quantile(self.durations_s, 0.9)

    def to_dict(self) -> dict[str, Any]:
        return {
            "warehouse_id": self.warehouse_id,
            "box_type": self.box_type.value,
            "days_observed": round(self.days_observed, 3),
            "openings": self.openings,
            "free_openings": self.free_openings,
            "openings_per_day": round(self.openings_per_day, 3),
            "calendar_days": self.calendar_days,
            "enough_history": self.enough_history,
            "median_open_s": self.median_open_s,
            "p90_open_s": self.p90_open_s,
            "closed_intervals": len(self.durations_s),
            "by_weekday": list(self.by_weekday),
            "by_hour": list(self.by_hour),
        }


def quantile(values: list[float], q: float) -> float | None:
    """Linear-interpolated quantile (``q`` in 0..1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _is_open_kind(kind: str) -> bool:
    return kind in ("opened", "changed", "initial")


def slot_stats(rows: Iterable[HistoryRow], since: dt.datetime, until: dt.datetime) -> list[SlotStats]:
    """Statistics per (warehouse, box type) over ``since`` .. ``until``; rows may come in any order.

    The observed days start at the first row of the window: a monitor that began yesterday has watched for
    one day, not for the whole window.
    """
    timelines: dict[tuple[int, dt.date, BoxType], list[HistoryRow]] = defaultdict(list)
    first = until
    for row in rows:
        if since <= row.observed_at <= until:
            timelines[(row.warehouse_id, row.slot_date, BoxType(row.box_type))].append(row)
            first = min(first, row.observed_at)
    days = max((until - first).total_seconds() / 86400, 0.0)
    whole = whole_days(first, until)
    stats: dict[tuple[int, BoxType], SlotStats] = {}
    for (warehouse_id, _day, box_type), timeline in timelines.items():
        entry = stats.get((warehouse_id, box_type))
        if entry is None:
            entry = stats[(warehouse_id, box_type)] = SlotStats(warehouse_id, box_type, days, whole)
        _walk(sorted(timeline, key=lambda r: r.observed_at), entry)
    return sorted(stats.values(), key=lambda s: (s.warehouse_id, s.box_type.value))


def whole_days(first: dt.datetime, until: dt.datetime) -> tuple[dt.date, ...]:
    """Moscow dates that lie entirely between ``first`` and ``until``."""
    start, end = first.astimezone(MOSCOW), until.astimezone(MOSCOW)
    day = start.date() if start.time() == dt.time(0) else start.date() + dt.timedelta(days=1)
    days = []
    while day + dt.timedelta(days=1) <= end.date():
        days.append(day)
        day += dt.timedelta(days=1)
    return tuple(days)


def _walk(timeline: list[HistoryRow], stats: SlotStats) -> None:
    opened_at: dt.datetime | None = None  # start of the current interval, None if unseen or closed
    is_open = False
    for row in timeline:
        if row.kind == "opened":
            opened_at, is_open = row.observed_at, True
            stats.openings += 1
            stats.free_openings += row.coefficient == 0
            local = row.observed_at.astimezone(MOSCOW)
            stats.whole_day_openings += local.date() in stats.whole_days
            stats.by_weekday[local.weekday()] += 1
            stats.by_hour[local.hour] += 1
        elif row.kind == "closed":
            if is_open and opened_at is not None:
                stats.durations_s.append((row.observed_at - opened_at).total_seconds())
            opened_at, is_open = None, False
        elif _is_open_kind(row.kind) and not is_open:
            is_open = True  # "initial": open since before we looked; its start is unknown


def fetch_history(engine: Engine, since: dt.datetime, until: dt.datetime, *, warehouse_id: int | None = None,
                  box_type: BoxType | None = None) -> list[HistoryRow]:
    """History rows of the window (served by the history table's (warehouse, date, box type, time) index)."""
    table = SQLModel.metadata.tables[SlotHistory.__tablename__]
    query = select(table.c.warehouse_id, table.c.slot_date, table.c.box_type, table.c.coefficient,
                   table.c.kind, table.c.observed_at).where(table.c.observed_at >= since,
                                                            table.c.observed_at <= until)
    if warehouse_id is not None:
        query = query.where(table.c.warehouse_id == warehouse_id)
    if box_type is not None:
        query = query.where(table.c.box_type == BoxType(box_type))
    with engine.connect() as connection:
        return [HistoryRow(*row) for row in connection.execute(query)]


def chances(engine: Engine, *, days: int = 30, now: dt.datetime | None = None, warehouse_id: int | None = None,
            box_type: BoxType | None = None) -> list[SlotStats]:
    """What the API shows as "real chances": the statistics of the last ``days`` days."""
    until = now or dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=days)
    return slot_stats(fetch_history(engine, since, until, warehouse_id=warehouse_id, box_type=box_type),
                      since, until)
