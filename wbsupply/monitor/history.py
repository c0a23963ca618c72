"""Slot history and admin alerts into the database: one batched INSERT per poll, buffered while it is down.

The engine is synchronous (SQLAlchemy), so writes run in a worker thread and never stall the poll loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from wbsupply.domain.slots import SlotEvent
from wbsupply.notify.kinds import NoticeKind
from wbsupply.notify.outbox import alert_admins
from wbsupply.store.journal import EventLog, SlotHistory

log = logging.getLogger(__name__)

# The kind of history rows for slots already open on the monitor's very first poll: when they opened is
# unknown, so statistics must not count them as openings nor measure how long they stayed open.
INITIAL_KIND = "initial"


@dataclass(frozen=True)
class Alert:
    """Something the operator must act on (a token rejected, the public API disabled, ...)."""

    kind: str
    message: str
    at: datetime
    level: str = "WARNING"
    notice: NoticeKind | None = None  # the admins' notification this alert raises, if any
    details: dict[str, Any] = field(default_factory=dict)  # the notice's payload (source, reason, detail)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "at": self.at.isoformat(), "level": self.level}


def admin_notice(kind: NoticeKind, source: str, reason: str) -> tuple[NoticeKind, dict[str, Any]]:
    """What ``Monitor._alert`` takes to tell the admins: the kind and its payload (``source`` is a source's
    ``name``: "api" or "cabinet"; ``reason`` is shown to them as is)."""
    return kind, {"source": source, "reason": reason, "detail": reason}


def history_rows(events: Iterable[SlotEvent], source: str, *, initial: bool = False) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        slot = event.slot
        rows.append({
            "warehouse_id": slot.key.warehouse_id,
            "slot_date": slot.key.date,
            "box_type": slot.key.box_type,
            "coefficient": float(slot.coefficient),
            "allow_unload": slot.allow_unload,
            "kind": INITIAL_KIND if initial else event.kind.value,
            "source": source,
            "observed_at": event.at,
        })
    return rows


class HistoryWriter:
    def __init__(self, engine: Engine, *, max_buffered: int = 500_000) -> None:
        self.engine = engine
        self._rows: deque[dict[str, Any]] = deque()
        self._alerts: deque[Alert] = deque(maxlen=1000)
        self._max = max_buffered
        self.dropped = 0
        self.degraded = False
        self.batches = 0  # INSERT transactions that went through (for tests and metrics)

    @property
    def buffered(self) -> int:
        return len(self._rows)

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            if len(self._rows) >= self._max:
                self._rows.popleft()  # keep the newest history when the database stays down for long
                self.dropped += 1
            self._rows.append(row)

    def alert(self, alert: Alert) -> None:
        self._alerts.append(alert)

    async def flush(self) -> int:
        """Write everything pending in one transaction; returns the history rows written (0 when down)."""
        if not self._rows and not self._alerts:
            return 0
        rows, alerts = list(self._rows), list(self._alerts)
        try:
            await asyncio.to_thread(self._write, rows, alerts)
        except (SQLAlchemyError, OSError) as exc:
            if not self.degraded:
                log.warning("database unavailable (%s): buffering %d history rows", type(exc).__name__, len(rows))
            self.degraded = True
            return 0
        for _ in rows:
            self._rows.popleft()
        for _ in alerts:
            self._alerts.popleft()
        if self.degraded:
            log.info("database back: %d buffered history rows written", len(rows))
        self.degraded = False
        self.batches += 1
        return len(rows)

    def _write(self, rows: list[dict[str, Any]], alerts: list[Alert]) -> None:
        with self.engine.begin() as connection:
            if rows:
                connection.execute(insert(SlotHistory), rows)  # one executemany: a multi-row INSERT
            if alerts:
                connection.execute(insert(EventLog), [
                    {"level": a.level, "source": "monitor", "message": a.message, "payload": {"alert": a.kind},
                     "at": a.at}
                    for a in alerts
                ])
        for a in alerts:
            if a.notice is not None:  # one notification per kind and hour, however often the monitor retries
                alert_admins(self.engine, a.notice, a.details, f"monitor:{a.notice.value}:{a.at:%Y%m%d%H}")
