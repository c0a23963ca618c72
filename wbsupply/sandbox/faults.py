"""Injected faults of the cabinet's ``plan/add`` and ``plan/update`` (the sandbox control API's ``/sandbox/faults``).

Each switch fires on the next ``count`` calls of its ``method`` (``plan/add`` by default, or ``plan/update``:
then "books" means "moves"), optionally only for one supplier:

- ``fail_before``: WB answers an internal error and books nothing;
- ``fail_after``: WB books, then the answer is lost (HTTP 502, no body): the caller cannot know it booked;
- ``timeout``: WB books (``book``, default true) and answers only after ``delay_s`` (default 30 s), far
  later than a client waits;
- ``slow``: WB waits ``delay_s`` (default 3 s), then books and answers normally;
- ``competitor``: someone else takes the slot's last unit between our re-check and our ``plan/add``;
- ``seller_first``: the seller plans the same preorder by hand on another date just before our ``plan/add``;
- ``blind``: WB books, the answer is lost (as ``fail_after``) and for ``delay_s`` (default 5 s) WB cannot tell
  about the supplier's preorders either (cabinet ``supply/getPreorder`` and the public supply details answer 503).

``plan/update`` takes ``fail_before``, ``fail_after``, ``timeout``, ``slow`` and ``blind``.

Every ``plan/add`` is recorded (``plan_calls``), so tests can prove no preorder was sent twice after WB booked it;
every ``plan/update`` too (``update_calls``, apart: moving a planned supply is what it is for).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

FAULT_KINDS = ("fail_before", "fail_after", "timeout", "slow", "competitor", "seller_first", "blind")
UPDATE_KINDS = ("fail_before", "fail_after", "timeout", "slow", "blind")
METHODS = ("plan/add", "plan/update")
DEFAULT_DELAYS = {"timeout": 30.0, "slow": 3.0, "blind": 5.0}


@dataclass
class Fault:
    kind: str
    count: int = 1
    delay_s: float = 0.0
    supplier_id: int | None = None
    book: bool = True  # timeout: whether WB booked before going silent
    method: str = "plan/add"  # or plan/update


@dataclass(frozen=True)
class PlanCall:
    supplier_id: int
    preorder_id: int
    date: date
    at: datetime
    fault: str | None
    outcome: str  # booked | slot_unavailable | refused | failed | not_found
    already_planned: bool  # the preorder was planned when this call arrived


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.calls: list[PlanCall] = []
        self.update_calls: list[PlanCall] = []
        self._blind_until: dict[int, float] = {}  # supplier -> monotonic time WB tells about its preorders again

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.calls.clear()
            self.update_calls.clear()
            self._blind_until.clear()

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if fault.method not in METHODS:
            raise ValueError(f"unknown method {fault.method!r}; one of {', '.join(METHODS)}")
        if fault.method == "plan/update" and fault.kind not in UPDATE_KINDS:
            raise ValueError(f"plan/update takes the faults {', '.join(UPDATE_KINDS)}")
        if fault.count < 1:
            raise ValueError("count must be at least 1")
        if not fault.delay_s:
            fault.delay_s = DEFAULT_DELAYS.get(fault.kind, 0.0)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, supplier_id: int, method: str = "plan/add") -> Fault | None:
        """The first armed fault of ``method`` for this supplier, spent by one."""
        with self._lock:
            for fault in self._faults:
                if fault.supplier_id in (None, supplier_id) and fault.method == method:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return Fault(fault.kind, 1, fault.delay_s, fault.supplier_id, fault.book, fault.method)
            return None

    def blind(self, supplier_id: int, seconds: float) -> None:
        """WB cannot tell about the supplier's preorders for ``seconds`` (fault ``blind``)."""
        with self._lock:
            self._blind_until[supplier_id] = time.monotonic() + seconds

    def is_blind(self, supplier_ids: set[int] | int) -> bool:
        ids = {supplier_ids} if isinstance(supplier_ids, int) else supplier_ids
        now = time.monotonic()
        with self._lock:
            return any(self._blind_until.get(i, 0.0) > now for i in ids)

    def record(self, call: PlanCall, *, update: bool = False) -> None:
        with self._lock:
            (self.update_calls if update else self.calls).append(call)

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
