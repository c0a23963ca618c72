"""The 30-day slot calendar (from the feed) and what slot history says about a seller's chances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from wbsupply.api.logic import warehouses
from wbsupply.domain.schedule import moscow_today
from wbsupply.domain.slots import HORIZON_DAYS
from wbsupply.domain.statuses import BoxType
from wbsupply.monitor.normalize import calendar_from_feed
from wbsupply.monitor.stats import MIN_HISTORY_DAYS, chances
from wbsupply.store.types import utcnow

STATS_DAYS = 14


def calendar_grid(calendar: Mapping[str, Mapping[str, Any]], box_type: BoxType, today: dt.date) -> dict[str, Any]:
    """Warehouses × 30 dates of one box type; a cell is the coefficient of an open slot, else None.

    ``known`` tells the two Nones apart: True where a source reported the slot (closed), False where no
    source covers it (the public API's 14 days, a warehouse the monitor does not poll): unknown, not closed.
    """
    decoded = calendar_from_feed(calendar, today)  # the monitor's own decoding of its snapshot
    dates = [today + dt.timedelta(days=offset) for offset in range(HORIZON_DAYS)]
    index = {day: i for i, day in enumerate(dates)}
    cells: dict[int, list[int | None]] = {}
    known: dict[int, list[bool]] = {}
    for slot in decoded:
        if slot.box_type is not box_type or slot.date not in index:
            continue
        row = cells.setdefault(slot.warehouse_id, [None] * HORIZON_DAYS)
        row[index[slot.date]] = slot.coefficient if slot.is_open else None
        known.setdefault(slot.warehouse_id, [False] * HORIZON_DAYS)[index[slot.date]] = True
    names = warehouses.warehouse_names(decoded)
    order = {warehouse_id: n for n, (warehouse_id, _) in enumerate(warehouses.picker(names))}
    rows = [
        {
            "warehouse_id": warehouse_id,
            "name": names.get(warehouse_id, f"Склад {warehouse_id}"),
            "cells": row,
            "known": known[warehouse_id],
            "open": sum(1 for cell in row if cell is not None),
            "free": sum(1 for cell in row if cell == 0),
        }
        for warehouse_id, row in sorted(cells.items(), key=lambda item: order.get(item[0], len(order)))
    ]
    return {
        "box_type": box_type.value,
        "box_type_label": box_type.label,
        "dates": [d.isoformat() for d in dates],
        "rows": rows,
        "covered_days": sum(1 for i in range(HORIZON_DAYS) if any(k[i] for k in known.values())),
    }


def open_now(calendar: Mapping[str, Mapping[str, Any]]) -> set[tuple[int, str]]:
    """(warehouse, box type) pairs with a slot open in the calendar right now."""
    return {(int(s["warehouse_id"]), str(s["box_type"])) for s in calendar.values()
            if bool(s.get("allow_unload")) and int(s.get("coefficient", -1)) >= 0}


def open_now_in_process(state: Any) -> set[tuple[int, str]]:
    """``open_now`` for sync pages: the in-process monitor's calendar (empty when the monitor runs elsewhere)."""
    context = getattr(state, "context", None)
    monitor = context.monitor if context is not None else None
    calendar = getattr(monitor, "calendar", None)
    if calendar is None:
        return set()
    return {(slot.warehouse_id, slot.box_type.value) for slot in calendar.open_slots()}


def history_stats(
    session: Session, *, days: int = STATS_DAYS, warehouse_ids: list[int] | None = None, box_type: str | None = None
) -> list[dict[str, Any]]:
    """Per warehouse × box type: how often slots opened and how long they stayed open (the monitor's figures)."""
    session.commit()  # the monitor's query takes its own connection: give ours back first
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    wanted = set(warehouse_ids or ())
    single = warehouse_ids[0] if warehouse_ids and len(warehouse_ids) == 1 else None
    found = chances(engine, days=days, warehouse_id=single, box_type=BoxType(box_type) if box_type else None)
    names = warehouses.warehouse_names()
    items = [
        {
            "warehouse_id": item.warehouse_id,
            "warehouse_name": names.get(item.warehouse_id, f"Склад {item.warehouse_id}"),
            "box_type": item.box_type.value,
            "box_type_label": item.box_type.label,
            "openings": item.openings,
            "openings_per_day": round(item.openings_per_day, 2),
            "free_openings": item.free_openings,
            "median_open_seconds": None if item.median_open_s is None else round(item.median_open_s, 1),
            "days_observed": round(item.days_observed, 1),
            "calendar_days": item.calendar_days,
            "enough_history": item.enough_history,
        }
        for item in found
        if not wanted or item.warehouse_id in wanted
    ]
    return sorted(items, key=lambda item: (-item["openings"], item["warehouse_id"], item["box_type"]))


def chances_text(stats: list[dict[str, Any]], days: int = STATS_DAYS,
                 open_now: set[tuple[int, str]] | None = None) -> list[str]:
    """Plain Russian lines about a task's real chances, one per warehouse × box type.

    Never "did not open" for a warehouse with a slot open now, and no rates before ``MIN_HISTORY_DAYS``
    whole days of history: «мало данных» instead.
    """
    lines = []
    for item in stats:
        place = f"{item['warehouse_name']}, {item['box_type_label']}"
        is_open = (int(item["warehouse_id"]), str(item["box_type"])) in (open_now or set())
        now = " Сейчас есть открытый слот." if is_open else ""
        if not item.get("enough_history", True):
            watched = item.get("calendar_days", 0)
            lines.append(f"{place}: мало данных — полных дней наблюдения {watched} из {MIN_HISTORY_DAYS} "
                         f"нужных для оценки.{now}")
            continue
        if item["openings"] == 0:
            if is_open:
                lines.append(f"{place}: за {days} дн. открытий не видели, но сейчас слот открыт.")
            else:
                lines.append(f"{place}: за {days} дн. слоты не открывались — шансы низкие, добавьте другие склады.")
            continue
        lifetime = item["median_open_seconds"]
        held = f", обычно держались {_duration(lifetime)}" if lifetime is not None else ""
        lines.append(
            f"{place}: открывались {item['openings_per_day']} раз в день (бесплатных — {item['free_openings']} "
            f"за {days} дн.){held}.{now}"
        )
    return lines


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} с"
    if seconds < 5400:
        return f"{seconds / 60:.0f} мин"
    return f"{seconds / 3600:.1f} ч"


def today_moscow() -> dt.date:
    return moscow_today(utcnow())
