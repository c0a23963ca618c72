"""Engine settings and sessions on the real databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from wbsupply.store import User, begin_immediate, make_engine, session_scope
from wbsupply.store.engine import SQLITE_BUSY_TIMEOUT_MS, normalize_url


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_database_url: str) -> None:
    engine = make_engine(sqlite_database_url)
    try:
        with engine.connect() as connection:
            pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_sqlite_file_folder_is_created(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'nested' / 'db.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
        assert (tmp_path / "data" / "nested" / "db.sqlite3").exists()
    finally:
        engine.dispose()


def test_plain_postgresql_urls_use_psycopg() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(User(email="kept@example.com", password_hash="h"))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(User(email="dropped@example.com", password_hash="h"))
        session.flush()
        raise RuntimeError("handler failed")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT email FROM users")).scalars().all() == ["kept@example.com"]


def test_sqlite_immediate_transactions_serialize_read_then_write(sqlite_database_url: str) -> None:
    """Deferred SQLite transactions that read first fail with "database is locked" under contention;
    ``begin_immediate`` makes them wait their turn instead, so no increment is lost or fails."""
    engine = make_engine(sqlite_database_url)
    with session_scope(engine) as session:
        session.add(User(email="counter@example.com", password_hash="h", plan_limit=0))
    writers = 12
    start = threading.Barrier(writers)

    def increment(_: int) -> None:
        start.wait()
        with begin_immediate(engine).begin() as connection:
            value = connection.execute(text("SELECT plan_limit FROM users")).scalar_one()
            connection.execute(text("UPDATE users SET plan_limit = :v"), {"v": value + 1})

    try:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            list(pool.map(increment, range(writers)))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT plan_limit FROM users")).scalar_one() == writers
    finally:
        engine.dispose()


def test_processes_opening_a_new_sqlite_database_together_do_not_fail(tmp_path: Path) -> None:
    """Switching a new file to WAL takes a lock SQLite does not wait for; before the retry ~8% of these raced."""
    failures: list[Exception] = []
    for n in range(100):
        url = f"sqlite:///{tmp_path / f'race{n}.sqlite3'}"
        together = threading.Barrier(3)

        def open_and_read(url: str = url, together: threading.Barrier = together) -> None:
            engine = make_engine(url)
            together.wait()
            try:
                with engine.begin() as connection:
                    connection.execute(text("SELECT 1"))
            except Exception as exc:
                failures.append(exc)
            finally:
                engine.dispose()

        threads = [threading.Thread(target=open_and_read) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
