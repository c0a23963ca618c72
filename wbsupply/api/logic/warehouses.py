"""Warehouses for pickers and labels: WB's reference table, plus every warehouse the calendar has seen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wbsupply.wb.warehouses import WAREHOUSES

_known: dict[int, str] = {w.id: w.name for w in WAREHOUSES}
# Order of the picker: the busiest warehouses first (where most sellers ship).
_IMPORTANCE: dict[int, float] = {w.id: w.busy for w in WAREHOUSES}


def learn(calendar: Mapping[str, Mapping[str, Any]]) -> None:
    """Remember names of warehouses seen in the live calendar (real WB has more than the sandbox)."""
    for slot in calendar.values():
        warehouse_id = int(slot["warehouse_id"])
        if warehouse_id not in _known and slot.get("warehouse_name"):
            _known[warehouse_id] = str(slot["warehouse_name"])


def warehouse_names() -> dict[int, str]:
    return dict(_known)


def picker() -> list[tuple[int, str]]:
    """(id, name) ordered by importance, then name."""
    return sorted(_known.items(), key=lambda item: (-_IMPORTANCE.get(item[0], 0.5), item[1]))
