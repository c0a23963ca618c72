"""Engines, sessions and migrations for SQLite (embedded runtime) and PostgreSQL (cluster)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from wbsupply.config import Settings, get_settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK_KEY = 0x77_62_73_75_70  # any constant bigint; spells "wbsup"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; plain ``postgresql://`` / ``postgres://`` mean psycopg 3, the only driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, *, echo: bool = False, sqlite_foreign_keys: bool = True) -> Engine:
    """An engine for ``url`` with the connection settings our code relies on.

    SQLite gets WAL (readers never block the writer), foreign keys (off by default in SQLite), a busy
    timeout (wait for the write lock instead of failing at once) and real transactions: the driver's
    own BEGIN handling is replaced so that ``begin_immediate`` can take the write lock up front.
    ``sqlite_foreign_keys=False`` is for migrations, which may rebuild tables that others reference.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, echo=echo, pool_pre_ping=True)

    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    in_memory = parsed.database in (None, "", ":memory:")
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or every connection sees an empty db
    else:
        Path(parsed.database or "").parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_engine(parsed, echo=echo, **kwargs)
    database_file = None if in_memory else Path(parsed.database or "")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if not in_memory:
            _enable_wal(cursor)
        cursor.execute(f"PRAGMA foreign_keys={'ON' if sqlite_foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster than FULL
        cursor.close()
        if database_file is not None:
            _owner_only(database_file)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _owner_only(database_file: Path) -> None:
    """The database and its WAL hold sellers' data and encrypted WB sessions: readable by the owner only
    (files made by an older version, or under a permissive umask, are tightened on the next connection)."""
    for path in (database_file, Path(f"{database_file}-wal"), Path(f"{database_file}-shm")):
        with contextlib.suppress(OSError):  # not there (yet), or not ours to change
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)


def _enable_wal(cursor: Any, attempts: int = 100) -> None:
    """WAL is a property of the file: only the first connection to a new database switches it, and that
    switch needs an exclusive lock SQLite does not wait for (no busy handler). Two processes opening a new
    database together (API and worker, or `wbsupply up` beside a test) retry briefly instead of failing."""
    for attempt in range(attempts):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def begin_immediate(engine: Engine) -> Engine:
    """The same engine, but on SQLite every transaction takes the write lock when it begins.

    Use it for read-then-write units that race with other writers (quota, claiming work): a deferred
    SQLite transaction that read first cannot upgrade to a writer once someone else has committed, and
    fails with "database is locked" instead of waiting. PostgreSQL ignores the option.
    """
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: API handlers return them after the transaction ended.
    return sessionmaker(engine, class_=Session, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session


# --- migrations ------------------------------------------------------------------------------------------


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package (no ini file needed)."""
    # Alembic is imported only where migrations run: a worker process never needs its ~11 MB.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (all migrations in one transaction)."""
    from alembic import command

    _run_alembic(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str | URL, revision: str) -> None:
    from alembic import command

    _run_alembic(url, lambda config: command.downgrade(config, revision))


def _run_alembic(url: str | URL, run: Any) -> None:
    engine = make_engine(url, sqlite_foreign_keys=False)
    try:
        # Processes starting together (API and worker pods) queue here instead of racing to create tables:
        # SQLite via BEGIN IMMEDIATE, PostgreSQL via a transaction-scoped advisory lock.
        with begin_immediate(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config = alembic_config()
            config.attributes["connection"] = connection  # env.py uses it instead of opening its own
            run(config)
            if connection.dialect.name == "sqlite":
                _check_sqlite_foreign_keys(connection)
    finally:
        engine.dispose()


def _check_sqlite_foreign_keys(connection: Any) -> None:
    # Migrations ran with foreign keys off (table rebuilds need it), so verify them before committing.
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")


def engine_from_settings(settings: Settings | None = None) -> Engine:
    return make_engine((settings or get_settings()).resolved_database_url())
