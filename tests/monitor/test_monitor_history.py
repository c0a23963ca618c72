"""Slot history from the monitor into SQLite and PostgreSQL: batched inserts, outages, statistics."""

from __future__ import annotations

import datetime as dt

import pytest
from monitor_helpers import running
from sqlalchemy import event, func, select, text
from sqlmodel import SQLModel

from wbsupply.domain.statuses import BoxType
from wbsupply.feed.memory import MemoryFeed
from wbsupply.monitor.history import HistoryWriter
from wbsupply.monitor.stats import chances, fetch_history
from wbsupply.store import SlotHistory, make_engine
from wbsupply.testkit import eventually

HISTORY = SQLModel.metadata.tables[SlotHistory.__tablename__]


def history_statements(engine) -> list[int]:
    """Row counts of every statement that writes the history table (observed on the engine)."""
    seen: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO SLOT_HISTORY"):
            seen.append(len(parameters) if executemany else 1)

    return seen


async def test_every_change_is_recorded_one_insert_per_poll(harness, make_bot, database_url):
    engine = make_engine(database_url)
    statements = history_statements(engine)
    clock = harness.clock
    market = harness.sandbox.market
    today = market.clock.today_msk()
    market.open_slot(507, today + dt.timedelta(days=1), BoxType.BOXES, coefficient=3)  # open before we look
    writer = HistoryWriter(engine)
    monitor = harness.monitor(MemoryFeed(), harness.api_source([make_bot().api_token], clock), clock=clock,
                              history=writer)
    async with running(monitor):
        await eventually(lambda: writer.batches == 1)
        polls = monitor.polls
        for offset in (2, 3, 4):  # three openings land in the same poll
            market.open_slot(507, today + dt.timedelta(days=offset), BoxType.BOXES)
        market.close_slot(507, today + dt.timedelta(days=1), BoxType.BOXES)
        await eventually(lambda: writer.batches == 2)
        assert monitor.polls >= polls + 1
        await eventually(lambda: monitor.polls >= polls + 3)  # quiet polls write nothing
    assert writer.batches == 2 and writer.buffered == 0
    assert len(statements) >= 2 and sum(statements) == 5
    with engine.connect() as connection:
        kinds = connection.execute(select(HISTORY.c.kind, func.count()).group_by(HISTORY.c.kind)).all()
    assert dict(kinds) == {"initial": 1, "opened": 3, "closed": 1}
    rows = fetch_history(engine, clock.wall() - dt.timedelta(hours=1), clock.wall(), warehouse_id=507,
                         box_type=BoxType.BOXES)
    assert {row.kind for row in rows} == {"initial", "opened", "closed"}
    [stats] = chances(engine, days=1, now=clock.wall())
    # The slot open before the monitor started is neither an opening nor a measured duration.
    assert (stats.warehouse_id, stats.box_type, stats.openings, stats.durations_s) == (507, BoxType.BOXES, 3, [])
    engine.dispose()


@pytest.mark.postgres
async def test_database_outage_keeps_polling_buffers_and_catches_up(harness, make_bot, postgres_server,
                                                                   postgresql_database_url):
    engine = make_engine(postgresql_database_url)
    name = engine.url.database
    clock = harness.clock
    market = harness.sandbox.market
    today = market.clock.today_msk()
    writer = HistoryWriter(engine)
    feed = MemoryFeed()
    monitor = harness.monitor(feed, harness.api_source([make_bot().api_token], clock), clock=clock, history=writer)

    def set_connections(allowed: bool) -> None:
        with postgres_server.connect() as admin:
            admin.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}').text)
            if not allowed:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

    async with running(monitor):
        await eventually(lambda: monitor.health()["ready"])
        set_connections(False)
        market.open_slot(507, today + dt.timedelta(days=1), BoxType.BOXES)
        await eventually(lambda: monitor.health()["degraded"]["history"])
        market.open_slot(507, today + dt.timedelta(days=2), BoxType.BOXES)
        await eventually(lambda: writer.buffered == 2)
        health = monitor.health()
        assert health["ready"] and health["buffered_history_rows"] == 2  # slots still flow to the feed
        assert len(await feed.read("0-0")) == 2
        set_connections(True)
        await eventually(lambda: writer.buffered == 0 and not monitor.health()["degraded"]["history"], within=15)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(HISTORY)).scalar() == 2
    engine.dispose()
