"""The monitor's cabinet session in the sandbox: log in by phone, read the code from the sandbox inbox."""

from __future__ import annotations

import asyncio

import httpx

from wbsupply.monitor.sessions import CabinetSession, SessionUnavailable
from wbsupply.wb import cabinet_spec as spec


class SandboxSessionProvider:
    """Logs into the sandbox cabinet by phone; the code is read from the sandbox inbox (control API).

    Renewal first trades the refresh cookie for new tokens, as the cabinet page does, and logs in again only
    when that fails: the sandbox, like WB, blocks a phone that asks for codes too often.
    """

    def __init__(self, cabinet_url: str, phone: str, *, timeout_s: float = 10.0, code_wait_s: float = 5.0) -> None:
        self.cabinet_url = cabinet_url.rstrip("/")
        self.phone = phone
        self._timeout_s = timeout_s
        self._code_wait_s = code_wait_s
        self._current: CabinetSession | None = None
        self._lock = asyncio.Lock()
        self.logins = 0
        self.refreshes = 0

    async def session(self) -> CabinetSession:
        async with self._lock:
            if self._current is None:
                self._current = await self._login()
            return self._current

    async def renew(self, stale: CabinetSession) -> CabinetSession:
        async with self._lock:
            if self._current is not None and self._current is not stale:
                return self._current  # another caller renewed it meanwhile
            refreshed = await self._refresh(stale)
            self._current = refreshed or await self._login()
            return self._current

    def _client(self, cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.cabinet_url, timeout=self._timeout_s, cookies=cookies,
                                 follow_redirects=False)

    async def _refresh(self, stale: CabinetSession) -> CabinetSession | None:
        if spec.COOKIE_REFRESH not in stale.cookies:
            return None
        async with self._client(stale.cookies) as client:
            try:
                response = await client.post(spec.REFRESH_PATH)
            except httpx.HTTPError:
                return None
            if response.status_code != 200:
                return None
            self.refreshes += 1
            return CabinetSession(self.cabinet_url, {**stale.cookies, **_cookies(client)})

    async def _latest_code(self, client: httpx.AsyncClient) -> tuple[str, str] | None:
        """(sent_at, code) of the newest SMS to the bot's phone."""
        response = await client.get("/sandbox/sms", params={"phone": self.phone})
        messages = response.json() if response.status_code == 200 else []
        return (str(messages[0]["sent_at"]), str(messages[0]["code"])) if messages else None

    async def _login(self) -> CabinetSession:
        async with self._client() as client:
            try:
                before = await self._latest_code(client)
                asked = await client.post(spec.LOGIN_PHONE_PATH, data={"phone": self.phone})
                if asked.status_code != 200:
                    raise SessionUnavailable(f"cabinet refused the code request (HTTP {asked.status_code})")
                code = await self._wait_for_new_code(client, before)
                answered = await client.post(spec.LOGIN_CODE_PATH, data={"phone": self.phone, "code": code})
            except httpx.HTTPError as exc:
                raise SessionUnavailable(f"cabinet unreachable: {type(exc).__name__}") from None
            cookies = _cookies(client)
            if answered.status_code not in (302, 303) or spec.COOKIE_ACCESS not in cookies:
                raise SessionUnavailable(f"login refused (HTTP {answered.status_code})")
            self.logins += 1
            return CabinetSession(self.cabinet_url, cookies)

    async def _wait_for_new_code(self, client: httpx.AsyncClient, before: tuple[str, str] | None) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._code_wait_s
        while True:
            latest = await self._latest_code(client)
            if latest is not None and latest != before:
                return latest[1]
            if loop.time() > deadline:
                raise SessionUnavailable("no login code arrived")
            await asyncio.sleep(0.1)


def _cookies(client: httpx.AsyncClient) -> dict[str, str]:
    # The jar may hold a name twice (the request's cookie and the one the server set): the later one wins.
    return {cookie.name: cookie.value or "" for cookie in client.cookies.jar}
