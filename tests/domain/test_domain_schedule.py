"""Restart window of bots (03:00–04:00 Moscow, spread by bot id) and the operating cadences."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from wbsupply.domain.schedule import (
    AUTH_CHECK_INTERVAL,
    MEMORY_CHECK_INTERVAL,
    MONITOR_POLL_INTERVAL,
    MOSCOW,
    is_restart_due,
    moscow_today,
    next_restart,
    previous_restart,
    restart_moment,
    restart_offset,
)

NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=MOSCOW)
BOT_IDS = [f"bot-{number}" for number in range(1000)]


def test_cadences_are_the_founding_ones() -> None:
    assert dt.timedelta(seconds=12) == MONITOR_POLL_INTERVAL
    assert dt.timedelta(minutes=30) == MEMORY_CHECK_INTERVAL
    assert dt.timedelta(hours=1) == AUTH_CHECK_INTERVAL


def test_restart_moments_always_fall_inside_the_moscow_window() -> None:
    for bot_id in BOT_IDS:
        moment = next_restart(NOON, bot_id).astimezone(MOSCOW)
        assert moment.date() == dt.date(2026, 11, 27)
        assert dt.time(3, 0) <= moment.time() < dt.time(4, 0)


def test_restarts_spread_over_the_whole_hour() -> None:
    minutes = [restart_offset(bot_id) // dt.timedelta(minutes=1) for bot_id in BOT_IDS]
    per_quarter = [sum(1 for m in minutes if quarter * 15 <= m < quarter * 15 + 15) for quarter in range(4)]
    assert all(200 <= count <= 300 for count in per_quarter), per_quarter
    assert len(set(minutes)) == 60, "every minute of the hour is used by some of 1000 bots"
    assert max(minutes) - min(minutes) >= 55


def test_the_offset_is_stable_across_processes() -> None:
    script = "from wbsupply.domain.schedule import restart_offset; print(restart_offset('bot-42').seconds)"
    env = {"PYTHONHASHSEED": "123"}
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    assert int(other.stdout) == restart_offset("bot-42").seconds
    assert restart_offset("bot-42") == restart_offset("bot-42") != restart_offset("bot-43")


def test_next_restart_is_today_before_the_moment_and_tomorrow_after_it() -> None:
    moment = restart_moment(dt.date(2026, 11, 26), "bot-7")
    assert next_restart(moment - dt.timedelta(seconds=1), "bot-7") == moment
    assert next_restart(moment, "bot-7") == moment
    assert next_restart(moment + dt.timedelta(seconds=1), "bot-7") == moment + dt.timedelta(days=1)
    assert previous_restart(moment + dt.timedelta(seconds=1), "bot-7") == moment
    assert previous_restart(moment - dt.timedelta(seconds=1), "bot-7") == moment - dt.timedelta(days=1)


def test_the_window_is_moscow_time_whatever_zone_now_is_given_in() -> None:
    utc_now = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)  # 02:30 on the 26th in Moscow
    moment = next_restart(utc_now, "bot-1")
    assert moment.astimezone(MOSCOW).date() == dt.date(2026, 11, 26)
    assert moscow_today(utc_now) == dt.date(2026, 11, 26)
    with pytest.raises(ValueError):
        next_restart(dt.datetime(2026, 11, 26, 12, 0), "bot-1")


def test_moscow_has_no_daylight_saving_so_the_window_is_always_utc_00_to_01() -> None:
    for month in range(1, 13):
        moment = restart_moment(dt.date(2026, month, 15), "bot-3").astimezone(dt.UTC)
        assert moment.hour == 0, month


def test_a_restart_is_due_once_per_day_after_its_moment() -> None:
    moment = restart_moment(dt.date(2026, 11, 26), "bot-9")
    started = moment - dt.timedelta(hours=20)
    assert not is_restart_due(moment - dt.timedelta(seconds=1), "bot-9", started)
    assert is_restart_due(moment, "bot-9", started)
    assert is_restart_due(moment + dt.timedelta(hours=5), "bot-9", started), "a missed moment is caught up"
    assert not is_restart_due(moment + dt.timedelta(minutes=1), "bot-9", moment), "just restarted"
    started_later = moment + dt.timedelta(hours=2)
    assert not is_restart_due(moment + dt.timedelta(hours=10), "bot-9", started_later), "a fresh start counts"
    assert is_restart_due(moment + dt.timedelta(days=1), "bot-9", started_later)
