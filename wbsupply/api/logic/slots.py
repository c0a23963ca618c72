"""The 30-day slot calendar (from the feed) and what slot history says about a seller's chances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from wbsupply.api.logic import warehouses
from wbsupply.domain.schedule import MOSCOW
from wbsupply.domain.slots import HORIZON_DAYS
from wbsupply.domain.statuses import BoxType
from wbsupply.monitor.stats import chances
from wbsupply.store.types import utcnow

STATS_DAYS = 14


def calendar_grid(calendar: Mapping[str, Mapping[str, Any]], box_type: BoxType, today: dt.date) -> dict[str, Any]:
    """Warehouses × 30 dates of one box type; a cell is the coefficient of an open slot, else None."""
    warehouses.learn(calendar)
    dates = [today + dt.timedelta(days=offset) for offset in range(HORIZON_DAYS)]
    index = {day.isoformat(): i for i, day in enumerate(dates)}
    cells: dict[int, list[int | None]] = {}
    for slot in calendar.values():
        if slot["box_type"] != box_type.value or slot["date"] not in index:
            continue
        row = cells.setdefault(int(slot["warehouse_id"]), [None] * HORIZON_DAYS)
        is_open = bool(slot["allow_unload"]) and int(slot["coefficient"]) >= 0
        row[index[slot["date"]]] = int(slot["coefficient"]) if is_open else None
    names = warehouses.warehouse_names()
    order = {warehouse_id: n for n, (warehouse_id, _) in enumerate(warehouses.picker())}
    rows = [
        {
            "warehouse_id": warehouse_id,
            "name": names.get(warehouse_id, f"Склад {warehouse_id}"),
            "cells": row,
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
    }


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
        }
        for item in found
        if not wanted or item.warehouse_id in wanted
    ]
    return sorted(items, key=lambda item: (-item["openings"], item["warehouse_id"], item["box_type"]))


def chances_text(stats: list[dict[str, Any]], days: int = STATS_DAYS) -> list[str]:
    """Plain Russian lines about a task's real chances, one per warehouse × box type."""
    lines = []
    for item in stats:
        if item["openings"] == 0:
            lines.append(
                f"{item['warehouse_name']}, {item['box_type_label']}: за {days} дн. слоты не открывались — "
                "шансы низкие, добавьте другие склады."
            )
            continue
        lifetime = item["median_open_seconds"]
        held = f", обычно держались {_duration(lifetime)}" if lifetime is not None else ""
        lines.append(
            f"{item['warehouse_name']}, {item['box_type_label']}: открывались {item['openings_per_day']} "
            f"раз в день (бесплатных — {item['free_openings']} за {days} дн.){held}."
        )
    return lines


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} с"
    if seconds < 5400:
        return f"{seconds / 60:.0f} мин"
    return f"{seconds / 3600:.1f} ч"


def today_moscow() -> dt.date:
    return utcnow().astimezone(MOSCOW).date()
