"""Admin panel «Мониторинг»: connect a monitor account through the relay, pause it; sellers have no access.

The bot that answers the relay is the worker's (tests/worker/test_slot_sources.py logs a monitor account in
for real); here the panel's side: rows, the queued phone step, the code form once the bot asked for a code.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from wbsupply.domain.statuses import Role
from wbsupply.store import WbAuthRequest, session_scope
from wbsupply.store.models import WbAccount
from wbsupply.store.monitor_accounts import monitor_accounts
from wbsupply.testkit import as_typed, new_phone


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_admin_connects_a_monitor_account_through_the_relay(make_person, engine: Engine) -> None:
    admin = make_person(role=Role.ADMIN)
    token = _csrf(admin.client, "/admin/monitor")
    first, phone = admin.client.get("/admin/monitor"), new_phone()
    assert "Аккаунтов мониторинга нет" in first.text and "Риск" in first.text
    sent = admin.client.post("/admin/monitor", data={"csrf_token": token, "phone": as_typed(phone),
                                                     "label": "", "requests_per_minute": "4"},
                             follow_redirects=False)
    assert sent.status_code == 303
    [view] = monitor_accounts(engine)
    assert (view.phone, view.requests_per_minute, view.enabled, view.label) == (phone, 4, True, "мониторинг")
    with session_scope(engine) as session:
        [step] = session.exec(select(WbAuthRequest).where(WbAuthRequest.account_id == view.account_id)).all()
        assert (step.kind.value, step.value) == ("phone", phone)
        account = session.get(WbAccount, view.account_id)
        account.auth_state = "code_sent"  # what the bot writes once WB sent the code
        step.status = "done"
    page = admin.client.get("/admin/monitor")
    assert f'action="/admin/monitor/{view.account_id}/step"' in page.text and 'value="code"' in page.text
    coded = admin.client.post(f"/admin/monitor/{view.account_id}/step",
                              data={"csrf_token": token, "kind": "code", "value": "123456"}, follow_redirects=False)
    assert coded.status_code == 303
    again = admin.client.post("/admin/monitor", data={"csrf_token": token, "phone": phone})
    assert again.status_code == 409 and "уже подключён" in again.text
    paused = admin.client.post(f"/admin/monitor/{view.account_id}/pause", data={"csrf_token": token},
                               follow_redirects=False)
    assert paused.status_code == 303 and not monitor_accounts(engine)[0].enabled
    assert "Возобновить опрос" in admin.client.get("/admin/monitor").text
    assert 'href="/admin/monitor"' in admin.client.get("/admin").text


def test_sellers_cannot_see_or_touch_monitor_accounts(make_person, engine: Engine) -> None:
    admin, seller = make_person(role=Role.ADMIN), make_person()
    token = _csrf(admin.client, "/admin/monitor")
    admin.client.post("/admin/monitor", data={"csrf_token": token, "phone": new_phone()})
    [view] = monitor_accounts(engine)
    assert seller.client.get("/admin/monitor").status_code in (403, 404)
    seller_token = _csrf(seller.client, "/wb")
    stolen = seller.client.post(f"/admin/monitor/{view.account_id}/step",
                                data={"csrf_token": seller_token, "kind": "code", "value": "123456"})
    assert stolen.status_code in (403, 404)
    assert seller.client.post(f"/wb/{view.account_id}/step",
                              data={"csrf_token": seller_token, "kind": "code", "value": "1"}).status_code == 404
