"""Each bot's own look at its tasks' calendars: ``getAcceptanceCosts`` of a watched preorder, through the
bot's own cabinet session, so a seller's tasks are covered with no monitor account and no public API.

One request per ``every_s`` (round-robin over the bot's preorders, whatever their number), slower after
failures, never faster. Only changes reach the bot's map of open slots (a date that opened, or whose
coefficient changed), the same map the monitor's events fill: a slot both report is one entry, and a slot
the bot just lost is not offered again until the calendar shows it close and reopen.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import Any

from wbsupply.control.base import TaskRecord
from wbsupply.domain.slots import Slot, SlotKey
from wbsupply.domain.statuses import BoxType, TaskPhase
from wbsupply.wb import cabinet_spec as spec
from wbsupply.worker.cabinet import Cabinet, SessionLost
from wbsupply.worker.slots import OpenSlots

log = logging.getLogger(__name__)

MAX_SLOWDOWN = 16  # after failures the cadence stretches up to this many times


class CalendarCheck:
    def __init__(self, open_slots: OpenSlots, every_s: float, name: str = "bot") -> None:
        self.open, self.every_s, self.name = open_slots, every_s, name
        self.requests = 0
        self.found = 0  # openings this check saw (whether or not the monitor reported them too)
        self._due = time.monotonic() + every_s
        self._cursor = 0
        self._failures = 0
        self._where: dict[int, tuple[int, BoxType, str]] = {}  # preorder -> warehouse, box type, name
        self._seen: dict[int, dict[SlotKey, Slot]] = {}

    def due(self) -> bool:
        return time.monotonic() >= self._due

    @staticmethod
    def preorders(tasks: Iterable[TaskRecord]) -> list[int]:
        return sorted({t.spec.preorder_id for t in tasks
                       if t.phase is TaskPhase.WATCHING and t.spec.preorder_id is not None})

    async def check(self, cabinet: Cabinet, tasks: Iterable[TaskRecord]) -> list[Slot]:
        """Read one preorder's calendar; returns the slots that opened (or changed) since it was last read."""
        watched = self.preorders(tasks)
        self._seen = {p: seen for p, seen in self._seen.items() if p in watched}
        if not watched:
            self._due = time.monotonic() + self.every_s
            return []
        preorder_id = watched[self._cursor % len(watched)]
        self._cursor += 1
        try:
            opened = await self._read(cabinet, preorder_id)
        except SessionLost:
            raise
        except Exception as exc:  # the cabinet did not answer, throttled us, or the preorder is gone
            self._failures += 1
            self._due = time.monotonic() + self.every_s * min(2 ** self._failures, MAX_SLOWDOWN)
            log.info("%s: calendar of preorder %s not read (%s)", self.name, preorder_id, type(exc).__name__)
            return []
        self._failures = 0
        self._due = time.monotonic() + self.every_s
        return opened

    async def _read(self, cabinet: Cabinet, preorder_id: int) -> list[Slot]:
        if preorder_id not in self._where:
            preorder = await cabinet.preorder(preorder_id)
            self.requests += 1
            self._where[preorder_id] = (int(preorder["warehouseID"]), BoxType(preorder["boxType"]),
                                        str(preorder.get("warehouseName") or ""))
        warehouse_id, box_type, warehouse_name = self._where[preorder_id]
        result = await cabinet.rpc(spec.RPC_ACCEPTANCE_COSTS, {"preorderID": preorder_id})
        self.requests += 1
        seen = self._seen.setdefault(preorder_id, {})
        opened: list[Slot] = []
        for cost in (result or {}).get("costs") or []:
            slot = _slot(cost, warehouse_id, box_type, warehouse_name)
            if slot is None:
                continue
            before = seen.get(slot.key)
            seen[slot.key] = slot
            if slot.is_open and (before is None or not before.is_open or before.coefficient != slot.coefficient):
                opened.append(slot)
                self.open.slots[slot.key] = slot
            elif not slot.is_open and before is not None and before.is_open:
                self.open.slots.pop(slot.key, None)
        if opened:
            self.found += len(opened)
            self.open.changed.set()
        return opened


def _slot(cost: dict[str, Any], warehouse_id: int, box_type: BoxType, name: str) -> Slot | None:
    try:
        day = dt.date.fromisoformat(str(cost["date"])[:10])
        coefficient = int(cost.get("coefficient", -1))
    except (KeyError, TypeError, ValueError):
        return None
    logistics, storage = cost.get("logisticsCoefficient"), cost.get("storageCoefficient")
    return Slot(SlotKey(warehouse_id, day, box_type), coefficient, bool(cost.get("allowUnload")),
                int(logistics) if isinstance(logistics, int | float) else None, name,
                int(storage) if isinstance(storage, int | float) else None)
