"""The README's first run, end to end on a real `wbsupply up`: sign in, connect WB, create a task, get booked."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from test_up import ctrl_c, start_up

from wbsupply.api.bootstrap import DEMO_PHONE
from wbsupply.monitor.demo import DEMO_MONITOR_PHONE
from wbsupply.testkit import free_port, wait_until


def first_start_output(proc: subprocess.Popen[str]) -> dict[str, str]:
    """What a first start shows when its output is not a terminal: the path of the 0600 credentials file (the
    demo seller's and the admin's passwords are read from it) and the demo draft."""
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    while "draft" not in printed:
        line = proc.stdout.readline()
        assert line, "wbsupply up ended before printing the demo draft"
        if "Пароли первого запуска записаны в" in line:
            credentials = Path(line.split(" записаны в ", 1)[1].split(" (", 1)[0]).read_text()
            demo = next(row for row in credentials.splitlines() if "демо-продавец" in row)
            printed["password"] = demo.rsplit("/", 1)[-1].strip()
            admin = next(row for row in credentials.splitlines() if "администратор" in row)
            printed["admin"] = admin.rsplit("/", 1)[-1].strip()
        if "черновик поставки для задачи" in line:
            printed["draft"] = line.rsplit(":", 1)[-1].strip()
    return printed


@pytest.mark.slow
def test_from_make_run_to_a_booked_supply(tmp_path: Path) -> None:
    api_port, sandbox_port = free_port(), free_port()
    proc = start_up(tmp_path, api_port, sandbox_port)
    assert proc.stdout is not None
    try:
        printed = first_start_output(proc)
        api, sandbox = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sandbox_port}"
        wait_until(lambda: _answers(api + "/healthz"), 30, "cabinet up")

        token = httpx.post(api + "/api/v1/auth/token",
                           json={"email": "seller@wbsupply.local", "password": printed["password"]}).json()
        seller = httpx.Client(base_url=api + "/api/v1", timeout=30,
                              headers={"Authorization": f"Bearer {token['access_token']}"})
        phone = DEMO_PHONE  # the printed demo seller: its draft is the one the first start printed
        account = seller.post("/wb-accounts", json={"phone": phone}).json()["id"]
        seller.post(f"/wb-accounts/{account}/auth", json={"kind": "phone", "value": phone}).raise_for_status()
        code = wait_until(lambda: _sms_code(sandbox, phone), 30, "SMS code in the sandbox inbox")
        seller.post(f"/wb-accounts/{account}/auth", json={"kind": "code", "value": code}).raise_for_status()
        wait_until(lambda: seller.get(f"/wb-accounts/{account}").json()["status"] == "ACTIVE", 60, "bot active")

        day = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).date() + dt.timedelta(days=3)  # Moscow date
        task = seller.post("/tasks", json={
            "account_id": str(account), "draft_id": printed["draft"], "warehouses": [507], "box_type": "boxes",
            "date_from": str(day), "date_to": str(day + dt.timedelta(days=5)), "max_coefficient": 0,
            "mode": "book"})
        assert task.status_code == 201, task.text
        task_id = task.json()["id"]
        wait_until(lambda: seller.get(f"/tasks/{task_id}").json()["phase"] == "Watching", 60, "task watching")

        opened = httpx.post(sandbox + "/sandbox/slots/open",
                            json={"warehouse_id": 507, "date": str(day), "box_type": "boxes"})
        assert opened.status_code < 300, opened.text
        booked = wait_until(lambda: _phase(seller, task_id, "Booked"), 60, "task booked")
        assert "Поставка №" in booked["message"]
        assert seller.get("/usage").json()["used"] == 1
        [booking] = httpx.get(sandbox + "/sandbox/bookings").json()
        assert str(booking["supply_id"]) in booked["message"]
        # As on WB today the sandbox's public coefficients API is off: the demo monitor account found the slot.
        panel = _admin_page(api, printed["admin"], "/admin/monitor")
        assert 'data-live-source="cabinet"' in panel and 'data-wb-api="disabled"' in panel
        assert DEMO_MONITOR_PHONE in panel and "Активен" in panel
    finally:
        output = ctrl_c(proc)
    assert proc.returncode == 0
    assert "Traceback" not in output


def _admin_page(api: str, password: str, path: str) -> str:
    with httpx.Client(base_url=api, timeout=30) as client:
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"email": "admin@wbsupply.local", "password": password, "csrf_token": token})
        return client.get(path).text


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _sms_code(sandbox: str, phone: str) -> str | None:
    messages = httpx.get(sandbox + "/sandbox/sms", params={"phone": phone}).json()
    return messages[0]["code"] if messages else None


def _phase(client: httpx.Client, task_id: int, wanted: str) -> dict | None:
    task = client.get(f"/tasks/{task_id}").json()
    return task if task["phase"] == wanted else None
