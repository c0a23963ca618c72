"""Issue 16, item 1: a flood of failed logins must not hold SQLite's one write lock while argon2 runs.

SQLite's busy timeout is cut to 1.5 s here, so a login that verified the password inside
its write transaction (about a tenth of a second of argon2 each) makes the queue behind it fail with
"database is locked" (a 500) within a few concurrent logins; short writes pass easily.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from typing import Any

import pytest
from apihelpers import PASSWORD, task_body
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

CLIENTS = 20
LOGINS_EACH = 4


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


@pytest.fixture
def impatient_engine(engine: Engine) -> Engine:
    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=1500")

    engine.dispose()  # connections made from now on wait 1.5 s for the write lock, not 30 s
    return engine


def test_login_flood_leaves_writers_alone(impatient_engine: Engine, make_person, app) -> None:
    seller = make_person()
    account = seller.add_account(impatient_engine)
    statuses: Counter[int] = Counter()
    created: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def flood() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            for _ in range(LOGINS_EACH):
                response = client.post("/api/v1/auth/login", json={
                    "email": f"{secrets.token_hex(6)}@example.com", "password": secrets.token_hex(8)})
                with lock:
                    statuses[response.status_code] += 1

    def write() -> None:
        start.wait()
        for number in range(LOGINS_EACH * 2):
            response = seller.post("/api/v1/tasks", json=task_body(account, draft_id=f"flood-{number}"))
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    created.append(response.json()["id"])

    threads = [threading.Thread(target=flood) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    write()
    for thread in threads:
        thread.join()
    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[401] == CLIENTS * LOGINS_EACH
    assert len(created) == LOGINS_EACH * 2
    assert len(seller.client.get("/api/v1/tasks").json()) == len(created)
    # And the owner still gets in from the same machine.
    assert seller.client.post("/api/v1/auth/login",
                              json={"email": seller.email, "password": PASSWORD}).status_code == 200
