"""Operating cadences and the daily restart window of bots (03:00–04:00 Moscow time, spread over the hour).

Moscow has had no daylight saving time since 2014, so the window is one real hour every day; ZoneInfo keeps
us right should that ever change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")

MONITOR_POLL_INTERVAL = dt.timedelta(seconds=12)
MEMORY_CHECK_INTERVAL = dt.timedelta(minutes=30)
AUTH_CHECK_INTERVAL = dt.timedelta(hours=1)

RESTART_WINDOW_START = dt.time(3, 0)
RESTART_WINDOW = dt.timedelta(hours=1)


def require_aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")
    return moment


def moscow_today(now: dt.datetime) -> dt.date:
    """The calendar day in Moscow: WB's dates (slots, months of a tariff) are Moscow dates."""
    return require_aware(now).astimezone(MOSCOW).date()


def restart_offset(bot_id: str) -> dt.timedelta:
    """Where in the window this bot restarts: stable across processes and releases (unlike ``hash()``)."""
    digest = hashlib.sha256(bot_id.encode()).digest()
    seconds = int.from_bytes(digest[:8], "big") % int(RESTART_WINDOW.total_seconds())
    return dt.timedelta(seconds=seconds)


def restart_moment(day: dt.date, bot_id: str) -> dt.datetime:
    """The bot's restart moment on a given Moscow day."""
    return dt.datetime.combine(day, RESTART_WINDOW_START, tzinfo=MOSCOW) + restart_offset(bot_id)


def next_restart(now: dt.datetime, bot_id: str) -> dt.datetime:
    """The first restart moment at or after ``now`` (Moscow time)."""
    today = moscow_today(now)
    moment = restart_moment(today, bot_id)
    return moment if moment >= now else restart_moment(today + dt.timedelta(days=1), bot_id)


def previous_restart(now: dt.datetime, bot_id: str) -> dt.datetime:
    """The last restart moment at or before ``now``."""
    today = moscow_today(now)
    moment = restart_moment(today, bot_id)
    return moment if moment <= now else restart_moment(today - dt.timedelta(days=1), bot_id)


def is_restart_due(now: dt.datetime, bot_id: str, last_restart: dt.datetime) -> bool:
    """Whether the bot missed its latest restart moment.

    ``last_restart`` is when the bot process last (re)started; a fresh start counts. A moment missed while the
    bot was busy is caught up at once rather than a day later: memory hygiene matters more than the hour.
    """
    return require_aware(last_restart) < previous_restart(now, bot_id)
