"""Real servers for the tests, started and stopped by the tests themselves.

PostgreSQL refuses to run as root, and CI runs as root on a fresh machine: the server then runs as the
``postgres`` system user (``runuser``) in a throwaway directory that user owns. A missing binary is an
error, never a skip: CI must not pass by silently testing less.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from wbsupply.testkit import free_port

POSTGRES_SYSTEM_USER = "postgres"
_DIR_PREFIX = "wbsupply-pg-"
_OWNER_FILE = "owner.pid"  # the test process that started the server, for reaping orphans
# Durability is pointless for throwaway test data; these make initdb and CREATE DATABASE much faster.
_FAST_UNSAFE_SETTINGS = """
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"""


def find_postgres_bin() -> Path:
    """The directory with ``initdb``/``pg_ctl``: Debian's /usr/lib/postgresql/N/bin (newest), else PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]), reverse=True
    )
    found = candidates[0] if candidates else shutil.which("pg_ctl")
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or PATH. "
            "Install them with `scripts/ensure-system-deps.sh postgres` (Debian package `postgresql`); "
            "`make test` does this for you."
        )
    return Path(found).parent


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    socket_dir: Path
    data_dir: Path

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of a database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname=dbname, autocommit=True)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create ``name`` (optionally as a copy of ``template``) and return its SQLAlchemy URL."""
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        with self.connect() as connection:
            if template:
                query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
                if connection.info.server_version >= 150000:
                    # A plain file copy: about 6x faster than PostgreSQL 15's default WAL_LOG for small dbs.
                    query = sql.SQL("{} STRATEGY FILE_COPY").format(query)
            connection.execute(query)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as connection:
            # FORCE: a test that leaked a connection must not make the teardown hang or fail.
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _run(prefix: list[str], cwd: Path, *args: str) -> None:
    # cwd: the postgres user may not be allowed into the caller's working directory.
    result = subprocess.run([*prefix, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        log_file = cwd / "server.log"
        log = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}{log}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphans(bindir: Path, prefix: list[str]) -> None:
    """Stop servers whose test session was killed (SIGKILL, a dead terminal) before its teardown ran."""
    for owner_file in Path(tempfile.gettempdir()).glob(f"{_DIR_PREFIX}*/{_OWNER_FILE}"):
        base = owner_file.parent
        try:
            if _alive(int(owner_file.read_text())):
                continue  # a live session, maybe another developer's or helper's: not ours to touch
            if (base / "data" / "postmaster.pid").exists():
                _run(prefix, base, str(bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "stop")
        except (OSError, ValueError, RuntimeError):
            pass  # best effort: a leftover must never fail the current session
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def start_postgres(port: int | None = None, startup_timeout: float = 60.0) -> Iterator[PostgresServer]:
    """A fresh PostgreSQL cluster on 127.0.0.1 (trust auth, superuser ``postgres``), removed afterwards."""
    bindir = find_postgres_bin()
    prefix = ["runuser", "-u", POSTGRES_SYSTEM_USER, "--"] if os.geteuid() == 0 else []
    _reap_orphans(bindir, prefix)
    base = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
    (base / _OWNER_FILE).write_text(str(os.getpid()))
    if prefix:
        account = pwd.getpwnam(POSTGRES_SYSTEM_USER)
        os.chown(base, account.pw_uid, account.pw_gid)
    data_dir = base / "data"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data_dir)]

    started = False
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        _run(prefix, base, *initdb, "--locale=C", "--no-sync")
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_FAST_UNSAFE_SETTINGS)
            conf.write(f"unix_socket_directories = '{base}'\n")
        # Another process may grab a "free" port between our probe and the server's bind: retry a few.
        for attempt in range(3):
            chosen = port or free_port()
            try:
                options = ["-l", str(base / "server.log"), "-w", "-t", str(int(startup_timeout))]
                _run(prefix, base, *pg_ctl, *options, "-o", f"-p {chosen}", "start")
                break
            except RuntimeError:
                if port is not None or attempt == 2:
                    raise
                time.sleep(0.2)
        started = True
        yield PostgresServer("127.0.0.1", chosen, "postgres", base, data_dir)
    finally:
        if started:
            _run(prefix, base, *pg_ctl, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def redis_executor(datadir: Path) -> Any:
    """A real redis-server on loopback with an append-only file, so a restart keeps the stream."""
    from pytest_redis.executor.process import RedisExecutor

    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed: run `make test` (scripts/ensure-system-deps.sh redis)")
    return RedisExecutor(
        executable, databases=4, redis_timeout=30, loglevel="warning", host="127.0.0.1", port=free_port(),
        startup_timeout=30, save="", daemonize="no", rdbcompression=True, rdbchecksum=False,
        syslog_enabled=False, appendonly="yes", datadir=datadir,
    )
