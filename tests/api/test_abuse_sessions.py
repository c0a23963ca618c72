"""Issue 16: sessions end on the server, tokens expire and are counted, the limiter slows guessers without
locking the owner out and cannot be dodged with X-Forwarded-For."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import time_machine
from apihelpers import PASSWORD
from fastapi.testclient import TestClient

from wbsupply.api.logic import ratelimit, users
from wbsupply.process import HttpComponent, proxy_options
from wbsupply.testkit import free_port


def _login(client: Any, email: str, password: str, **kwargs: Any) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}, **kwargs)


def test_logout_ends_the_cookie_on_the_server(make_person, app) -> None:
    person = make_person()
    stolen = person.client.cookies.get("wbsupply_session")
    assert person.post("/api/v1/auth/logout").status_code == 200
    with TestClient(app) as thief:
        thief.cookies.set("wbsupply_session", stolen)
        assert thief.get("/api/v1/me").status_code == 401
        assert thief.get("/", follow_redirects=False).status_code == 303


def test_cabinet_logout_ends_the_cookie_too(make_person, app) -> None:
    person = make_person()
    stolen = person.client.cookies.get("wbsupply_session")
    assert person.post("/logout", follow_redirects=False).status_code == 303
    with TestClient(app) as thief:
        thief.cookies.set("wbsupply_session", stolen)
        assert thief.get("/api/v1/me").status_code == 401


def test_password_change_revokes_other_cookies_and_api_tokens(make_person, app) -> None:
    person = make_person()
    token = person.client.post("/api/v1/auth/token", json={"email": person.email, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with TestClient(app) as other_browser:
        assert _login(other_browser, person.email, PASSWORD).status_code == 200
        changed = person.post("/api/v1/me/password",
                              json={"old_password": PASSWORD, "new_password": "a brand new password"})
        assert changed.status_code == 200
        assert other_browser.get("/api/v1/me").status_code == 401
    assert person.client.get("/api/v1/me", headers=bearer).status_code == 401
    assert person.client.get("/api/v1/me").status_code == 200  # the browser that changed it stays signed in


def test_api_tokens_expire_are_counted_listed_and_revoked_one_by_one(make_person) -> None:
    person = make_person()

    def issue(name: str) -> Any:
        return person.client.post("/api/v1/auth/token",
                                  json={"email": person.email, "password": PASSWORD, "name": name})

    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False) as clock:
        first = issue("1c")
        assert first.status_code == 200
        bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
        for number in range(users.MAX_TOKENS - 1):
            assert issue(f"t{number}").status_code == 200
        refused = issue("one too many")
        assert refused.status_code == 409 and "отзовите" in refused.json()["detail"]

        listed = person.client.get("/api/v1/me/tokens").json()
        assert len(listed["tokens"]) == users.MAX_TOKENS and listed["max_tokens"] == users.MAX_TOKENS
        one = next(t for t in listed["tokens"] if t["name"] == "t0")
        assert one["expires_at"].startswith("2027-03-01")  # 90 days
        assert person.client.delete(f"/api/v1/me/tokens/{one['id']}", headers=person.csrf()).status_code == 200
        assert issue("fits again").status_code == 200

        page = person.client.get("/tokens")
        assert page.status_code == 200 and "Действует до" in page.text and "/revoke" in page.text
        some = next(t for t in person.client.get("/api/v1/me/tokens").json()["tokens"] if t["name"] == "t1")
        revoked = person.post(f"/tokens/{some['id']}/revoke", data={}, follow_redirects=False)
        assert revoked.status_code == 303
        assert all(t["id"] != some["id"] for t in person.client.get("/api/v1/me/tokens").json()["tokens"])

        assert person.client.get("/api/v1/me", headers=bearer).status_code == 200
        clock.shift(91 * 24 * 3600)
        assert person.client.get("/api/v1/me", headers=bearer).status_code == 401


def test_someone_elses_token_cannot_be_revoked(make_person) -> None:
    owner, other = make_person(), make_person()
    owner.client.post("/api/v1/auth/token", json={"email": owner.email, "password": PASSWORD})
    [token] = owner.client.get("/api/v1/me/tokens").json()["tokens"]
    assert other.client.delete(f"/api/v1/me/tokens/{token['id']}", headers=other.csrf()).status_code == 404
    assert other.client.delete(f"/api/v1/me/tokens/{2**64}", headers=other.csrf()).status_code == 422
    assert len(owner.client.get("/api/v1/me/tokens").json()["tokens"]) == 1


def test_wrong_passwords_slow_down_but_never_lock_out_the_owner(make_person) -> None:
    person = make_person(login=False)
    with time_machine.travel("2026-11-26 10:00:00+00:00", tick=False) as clock:
        for _ in range(ratelimit.FREE_FAILURES):
            assert _login(person.client, person.email, "wrong-pass").status_code == 401
        wait = _login(person.client, person.email, PASSWORD)
        assert wait.status_code == 429 and int(wait.headers["retry-after"]) <= 2
        clock.shift(2)
        assert _login(person.client, person.email, PASSWORD).status_code == 200
        # A guesser waits twice as long after each further failure: a handful of tries an hour, not a lockout.
        for _ in range(ratelimit.FREE_FAILURES):
            assert _login(person.client, person.email, "guess").status_code == 401
        waits = []
        for _ in range(6):
            blocked = _login(person.client, person.email, "guess")
            assert blocked.status_code == 429
            waits.append(int(blocked.headers["retry-after"]))
            clock.shift(waits[-1])
            assert _login(person.client, person.email, "guess").status_code == 401
        assert waits == [1, 2, 4, 8, 16, 32]


def test_one_password_sprayed_over_many_emails_is_stopped(make_person) -> None:
    person = make_person(login=False)
    with time_machine.travel("2026-11-26 10:00:00+00:00", tick=False) as clock:
        for number in range(ratelimit.MAX_PASSWORD_FAILURES):
            assert _login(person.client, f"victim{number}@example.com", "Summer2026!").status_code == 401
        assert _login(person.client, "victim-next@example.com", "Summer2026!").status_code == 429
        assert _login(person.client, "victim-next@example.com", "another-guess").status_code == 401
        assert _login(person.client, person.email, PASSWORD).status_code == 200  # the owner is not affected
        clock.shift(ratelimit.WINDOW.total_seconds() + 1)
        assert _login(person.client, "victim-next@example.com", "Summer2026!").status_code == 401


async def test_rotating_x_forwarded_for_does_not_reset_the_limiter(make_person, app, settings) -> None:
    person = make_person(login=False)
    assert settings.forwarded_allow_ips == ""  # off by default
    port = free_port()
    server = HttpComponent("api", app, "127.0.0.1", port, **proxy_options(settings))
    stop = asyncio.Event()
    serving = asyncio.create_task(server.run(stop))
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for _ in range(100):
                try:
                    await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            statuses = []
            for number in range(ratelimit.FREE_FAILURES + 2):
                response = await client.post(
                    "/api/v1/auth/login", json={"email": person.email, "password": "wrong-pass"},
                    headers={"X-Forwarded-For": f"203.0.113.{number + 1}"})
                statuses.append(response.status_code)
        assert 429 in statuses, statuses
    finally:
        stop.set()
        await serving
