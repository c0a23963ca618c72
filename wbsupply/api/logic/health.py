"""What /healthz says about the database: ``ok``, ``locked`` (SQLite's write lock held for too long, so every
change waits) or ``unavailable``."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from wbsupply.store.engine import SQLITE_BUSY_TIMEOUT_MS

PROBE_TIMEOUT_MS = 2000


def database_state(engine: Engine) -> str:
    try:
        with engine.connect() as connection:
            if connection.dialect.name != "sqlite":
                connection.exec_driver_sql("SELECT 1")
                return "ok"
            # Take the write lock and give it back at once: a writer that cannot get it within the probe's
            # timeout means bots and the cabinet cannot save anything either.
            raw = connection.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            raw.execute(f"PRAGMA busy_timeout={PROBE_TIMEOUT_MS}")
            try:
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("ROLLBACK")
            finally:
                raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            return "ok"
    except (sqlite3.OperationalError, OperationalError) as exc:
        return "locked" if "locked" in str(exc) or "busy" in str(exc) else "unavailable"
    except SQLAlchemyError:
        return "unavailable"
