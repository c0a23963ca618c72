"""Issue 16, item 7: first-start passwords reach a terminal only, else a 0600 file; the data folder is 0700
and the database with its WAL 0600 (sellers' data and encrypted WB sessions live there)."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_up import ctrl_c, start_up, up_env, wait_http

from wbsupply.runtime import CREDENTIALS_FILE
from wbsupply.testkit import free_port


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_passwords_go_to_an_owner_only_file_when_the_output_is_not_a_terminal(tmp_path: Path) -> None:
    api_port = free_port()
    proc = start_up(tmp_path, api_port, free_port())
    assert proc.stdout is not None
    try:
        lines = []
        while not any("черновик поставки для задачи" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "wbsupply up ended early: " + "".join(lines)
            lines.append(line)
        wait_http(f"http://127.0.0.1:{api_port}/healthz", proc)
    finally:
        output = "".join(lines) + ctrl_c(proc)
    data = tmp_path / "data"
    credentials = data / CREDENTIALS_FILE
    assert str(credentials.resolve()) in output
    assert "admin@wbsupply.local /" not in output and "seller@wbsupply.local /" not in output
    assert "admin@wbsupply.local /" in credentials.read_text()
    assert _mode(credentials) == 0o600
    assert _mode(data) == 0o700
    database = data / "wbsupply.sqlite3"
    for path in (database, Path(f"{database}-wal"), data / "secret.key"):
        if path.exists():  # the WAL is folded back into the database on a clean stop
            assert _mode(path) == 0o600, path


@pytest.mark.slow
def test_passwords_are_shown_on_a_terminal_and_never_written(tmp_path: Path) -> None:
    api_port = free_port()
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "wbsupply.cli", "up"], env=up_env(tmp_path, api_port, free_port()),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    shown = b""
    try:
        deadline = time.monotonic() + 90
        while b"seller@wbsupply.local /" not in shown and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    shown += os.read(master, 4096)
                except OSError:
                    break
    finally:
        proc.send_signal(2)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.close(master)
    assert b"seller@wbsupply.local /" in shown
    assert not (tmp_path / "data" / CREDENTIALS_FILE).exists()
