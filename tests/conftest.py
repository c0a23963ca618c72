"""Database fixtures shared by every test package.

Databases are real and built only by the Alembic migrations (never ``create_all``), so every test that
touches the database also proves the migrations. Each backend is migrated once per session into a
template; each test gets a fresh copy (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for
PostgreSQL), which costs milliseconds.

Fixtures:
- ``database_url``: URL of a fresh migrated database, parametrized ``[sqlite]`` / ``[postgresql]``
  (the latter marked ``postgres``); ``engine`` and ``session`` build on it.
- ``sqlite_database_url`` / ``postgresql_database_url``: one backend only.
- ``blank_database_url``: an empty database (no tables), both backends, for migration tests.
- ``postgres_server`` (session): the PostgreSQL server of this test session (:mod:`servers`).
Any test that uses ``postgres_server`` (directly or through the fixtures above) is marked ``postgres``,
any test that uses ``kube_cluster`` (tests/k8s/conftest.py) is marked ``k8s``.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import PostgresServer, redis_executor, start_postgres
from sqlalchemy import Engine
from sqlmodel import Session

from wbsupply.store import make_engine, session_factory, upgrade

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
_PG_TEMPLATE = "wbsupply_template"
_database_numbers = itertools.count(1)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if "kube_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.k8s)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with start_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path  # upgrade() closed every connection, so the WAL is checkpointed into this one file


@pytest.fixture(scope="session")
def _postgresql_template(postgres_server: PostgresServer) -> str:
    upgrade(postgres_server.create_database(_PG_TEMPLATE))
    return _PG_TEMPLATE


@pytest.fixture
def sqlite_database_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "test-db.sqlite3"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgresql_database_url(postgres_server: PostgresServer, _postgresql_template: str) -> Iterator[str]:
    name = f"test_{next(_database_numbers)}"
    url = postgres_server.create_database(name, template=_postgresql_template)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    # Resolved lazily: a run of only the sqlite cases never starts PostgreSQL.
    return str(request.getfixturevalue(f"{request.param}_database_url"))


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.sqlite3'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"blank_{next(_database_numbers)}"
    yield server.create_database(name)
    server.drop_database(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real redis-server (append-only, so a restart in the middle of a test keeps the stream)."""
    executor = redis_executor(Path(tmp_path_factory.mktemp("redis")))
    executor.start()
    yield executor
    executor.stop()
