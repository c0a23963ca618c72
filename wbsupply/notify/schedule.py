"""When to retry and when to remind (pure): exponential backoff and quiet hours in Moscow time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from wbsupply.domain.schedule import MOSCOW, require_aware


def backoff(attempts: int, base: float, cap: float) -> dt.timedelta:
    """Delay before attempt ``attempts + 1``: base, 2·base, 4·base, … capped (no jitter: one sender per row)."""
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


QuietHours = tuple[dt.time, dt.time] | None


def quiet_hours_of(prefs: Mapping[str, Any] | None, default: QuietHours) -> QuietHours:
    """The seller's own quiet hours (``{"quiet_hours": {"start": "23:00", "end": "08:00"}}``), else the default;
    ``{"quiet_hours": null}`` turns them off for this seller."""
    if not prefs or "quiet_hours" not in prefs:
        return default
    value = prefs["quiet_hours"]
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value["start"]), dt.time.fromisoformat(value["end"])
    except (KeyError, TypeError, ValueError):
        return default


def quiet_until(now: dt.datetime, hours: QuietHours) -> dt.datetime | None:
    """The end of the quiet period ``now`` falls in (a UTC instant), or None outside quiet hours.

    ``start > end`` spans midnight (23:00–08:00); ``start == end`` means never quiet.
    """
    if hours is None:
        return None
    start, end = hours
    local = require_aware(now).astimezone(MOSCOW)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=MOSCOW).astimezone(dt.UTC)


def next_reminder_at(now: dt.datetime, interval: dt.timedelta, hours: QuietHours) -> dt.datetime:
    """Reminders keep their interval, except that none falls into quiet hours: it waits for their end."""
    due = now + interval
    return quiet_until(due, hours) or due
