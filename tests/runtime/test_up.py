"""`wbsupply up` as a user runs it: starts, answers, and stops on Ctrl-C without a trace."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from wbsupply.testkit import free_port


def up_env(tmp_path: Path, api_port: int, sandbox_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WBSUPPLY_")}
    env.update(
        WBSUPPLY_DATA_DIR=str(tmp_path / "data"),
        WBSUPPLY_API_PORT=str(api_port),
        WBSUPPLY_SANDBOX_PORT=str(sandbox_port),
    )
    return env


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"wbsupply up exited early with {proc.returncode}: {proc.stdout.read()}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer in {timeout} s")


def start_up(tmp_path: Path, api_port: int, sandbox_port: int) -> subprocess.Popen:
    """`wbsupply up` as a user starts it, in its own session so the test can see every process it left."""
    return subprocess.Popen(
        [sys.executable, "-m", "wbsupply.cli", "up"],
        env=up_env(tmp_path, api_port, sandbox_port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def ctrl_c(proc: subprocess.Popen) -> str:
    """Press Ctrl-C and return everything the process printed (killed if it does not stop in 60 s)."""
    try:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
        return output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def session_processes(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    pids.append(int(entry.name))
            except ProcessLookupError:
                pass
    return pids


@pytest.mark.slow
def test_up_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    api_port, sandbox_port = free_port(), free_port()
    proc = start_up(tmp_path, api_port, sandbox_port)
    try:
        health = wait_http(f"http://127.0.0.1:{api_port}/healthz", proc)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        deadline = time.monotonic() + 30
        while {"monitor", "supervisor"} - set(health.json()["components"]) and time.monotonic() < deadline:
            time.sleep(0.2)
            health = wait_http(f"http://127.0.0.1:{api_port}/healthz", proc)
        components = health.json()["components"]
        assert components["monitor"] == "running"
        assert components["supervisor"].endswith("bot(s)")
        assert wait_http(f"http://127.0.0.1:{sandbox_port}/sandbox/state", proc).status_code == 200
        assert (tmp_path / "data" / "wbsupply.sqlite3").exists()
        assert oct((tmp_path / "data" / "secret.key").stat().st_mode & 0o777) == "0o600"

    finally:
        output = ctrl_c(proc)
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    assert session_processes(proc.pid) == []
    # First start, output not a terminal: the passwords went to an owner-only file, its path was printed.
    assert "first-start-credentials.txt" in output and "admin@wbsupply.local /" not in output
    assert "seller@wbsupply.local" in (tmp_path / "data" / "first-start-credentials.txt").read_text()

    # Second start: same data folder, no new users, the passwords are not printed again.
    again = start_up(tmp_path, api_port, sandbox_port)
    try:
        wait_http(f"http://127.0.0.1:{api_port}/healthz", again)
    finally:
        second_output = ctrl_c(again)
    assert again.returncode == 0, second_output
    assert "admin@wbsupply.local" not in second_output and "first-start-credentials" not in second_output


@pytest.mark.slow
def test_up_reports_a_busy_port_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        api_port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "wbsupply.cli", "up"],
            env=up_env(tmp_path, api_port, free_port()),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert f"cannot listen on http://127.0.0.1:{api_port}" in result.stderr
