"""`wbsupply monitor` without a slot source (no WB tokens, no sandbox) stays up, degraded and visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from wbsupply.testkit import free_port


def wait_for(url: str, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_monitor_without_tokens_waits_degraded_instead_of_exiting(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WBSUPPLY_")} | {
        "WBSUPPLY_SANDBOX_ENABLED": "false",
        "WBSUPPLY_WB_API_URL": "https://common-api.wildberries.ru",
        "WBSUPPLY_DATA_DIR": str(tmp_path),
        "WBSUPPLY_METRICS_PORT": str(port),
    }
    process = subprocess.Popen([sys.executable, "-m", "wbsupply.cli", "monitor"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 503
        assert "WBSUPPLY_WB_API_TOKENS" in health.json()["degraded"]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz/live").status_code == 200  # no restart loop
        assert "wbsupply_monitor_configured 0" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "monitor degraded, not polling" in output
