"""The PostgreSQL test server helper (tests/servers.py) that every database test relies on."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import servers
from servers import PostgresServer, start_postgres


def test_missing_postgres_is_an_error_that_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(servers.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"ensure-system-deps\.sh postgres"):
        servers.find_postgres_bin()


@pytest.mark.postgres
def test_server_runs_unprivileged_and_leaves_nothing_behind() -> None:
    orphan = Path(tempfile.mkdtemp(prefix="wbsupply-pg-"))  # as left by a session that was SIGKILLed
    dead = subprocess.Popen(["true"])
    dead.wait()
    (orphan / "owner.pid").write_text(str(dead.pid))
    with start_postgres() as server:
        assert not orphan.exists()
        with server.connect() as connection:
            user = connection.execute("SELECT current_setting('data_directory')").fetchone()
            assert user is not None and user[0] == str(server.data_dir)
        if os.geteuid() == 0:  # PostgreSQL refuses root: the cluster must belong to the postgres user
            assert server.data_dir.owner() == servers.POSTGRES_SYSTEM_USER
        base = server.socket_dir
    assert not base.exists()


def test_databases_are_created_from_templates_and_dropped(postgres_server: PostgresServer) -> None:
    postgres_server.create_database("servers_source")
    with postgres_server.connect("servers_source") as connection:
        connection.execute("CREATE TABLE marker (id int)")
    postgres_server.create_database("servers_copy", template="servers_source")
    with postgres_server.connect("servers_copy") as connection:
        assert connection.execute("SELECT count(*) FROM marker").fetchone() == (0,)
    for name in ("servers_copy", "servers_source"):
        postgres_server.drop_database(name)
    with postgres_server.connect() as connection:
        names = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
    assert not names & {"servers_copy", "servers_source"}
