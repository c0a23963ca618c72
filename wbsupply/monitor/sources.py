"""Where slots come from: WB's public coefficients API (token pool) or the cabinet's report (monitor accounts).

Both answer the same thing — WB coefficient records plus the part of the calendar they cover — behind
:class:`SlotSource`, and fail with the same few errors, so the loop decides backoff, alerts and fallback
without knowing which source it polled. :class:`SourceSwitch` does the fallback: when the public API says
"temporarily disabled" the monitor reads the cabinet and probes the API now and then to switch back.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from wbsupply.domain.slots import HORIZON_DAYS
from wbsupply.monitor.clock import Clock
from wbsupply.monitor.normalize import Coverage
from wbsupply.monitor.pool import PooledToken, TokenPool
from wbsupply.monitor.roster import Account, Roster, StaticRoster
from wbsupply.monitor.sessions import CabinetSession, SessionProvider, SessionUnavailable
from wbsupply.wb import cabinet_spec as spec
from wbsupply.wb.api_client import (
    WbApiClient,
    WbApiError,
    WbBadResponse,
    WbMethodDisabled,
    WbRateLimited,
    WbUnauthorized,
    WbUnavailable,
)
from wbsupply.wb.ratelimit import TokenBucket

PUBLIC_API_DAYS = 14  # the coefficients method reports two weeks
DEFAULT_PROBE_INTERVAL_S = 600.0


class SourceError(Exception):
    kind = "error"  # metric label

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class SourceUnavailable(SourceError):
    """Timeouts, 5xx, garbage bodies: back off and retry the same source."""

    kind = "unavailable"


class SourceThrottled(SourceError):
    """WB answered 429 anyway (someone else spends the same account's limit); the bucket now waits."""

    kind = "rate_limited"


class TokenRejected(SourceError):
    """401: the token was dropped from the pool; the admin must be told."""

    kind = "unauthorized"

    def __init__(self, token_name: str, left: int) -> None:
        super().__init__(f"WB rejected {token_name} (401); {left} token(s) left", None)
        self.token_name = token_name
        self.left = left


class SourceDisabled(SourceError):
    """The source cannot serve at all ("temporarily disabled", no token left, no cabinet session): fall back."""

    kind = "disabled"


@dataclass(frozen=True)
class Fetched:
    records: Sequence[Any]
    coverage: Coverage


class SlotSource(Protocol):
    name: str

    def next_poll_at(self, now: float) -> float:
        """Earliest moment (clock.monotonic scale) this source may be polled again."""
        ...

    async def fetch(self, now: float, warehouses: frozenset[int] | None) -> Fetched: ...

    async def aclose(self) -> None: ...


class PublicApiSource:
    """Coefficients from the public API; the token pool keeps every token inside WB's bucket."""

    name = "api"

    def __init__(self, client: WbApiClient, pool: TokenPool, clock: Clock) -> None:
        self.client = client
        self.pool = pool
        self.clock = clock

    def next_poll_at(self, now: float) -> float:
        return self.pool.next_poll(now)[1] if self.pool.tokens else now

    async def fetch(self, now: float, warehouses: frozenset[int] | None) -> Fetched:
        if not self.pool.tokens:
            raise SourceDisabled("no usable WB API token left", "no_tokens")
        token, at = self.pool.next_poll(now)
        self.pool.mark_used(token, at, now)
        ids = sorted(warehouses) if warehouses is not None else None
        try:
            records = await self.client.acceptance_coefficients(token.secret, ids)
        except WbRateLimited as limited:
            token.bucket.penalise(self.clock.monotonic(), limited.retry_after_s)
            raise SourceThrottled(f"429 for {token.name}, retry in {limited.retry_after_s:g} s") from None
        except WbUnauthorized:
            self.pool.drop(token)
            raise TokenRejected(token.name, len(self.pool.tokens)) from None
        except WbMethodDisabled as disabled:
            raise SourceDisabled(f"coefficients method disabled: {disabled.detail}") from None
        except WbUnavailable as down:
            raise SourceUnavailable(str(down), "timeout" if down.status == 0 else "server_error") from None
        except WbBadResponse as bad:
            raise SourceUnavailable(str(bad), "bad_response") from None
        except WbApiError as other:
            raise SourceUnavailable(str(other), f"http_{other.status}") from None
        return Fetched(records, Coverage(PUBLIC_API_DAYS, warehouses))

    async def aclose(self) -> None:
        await self.client.aclose()


class CabinetSource:
    """The cabinet's ``acceptanceCoefficientsReport`` (all warehouses, 30 days) through monitor accounts.

    Accounts take turns as the public API's tokens do (:class:`TokenPool`): with N of them the report is
    read every ``interval / N`` seconds and each account stays inside its own requests-per-minute budget.
    An account whose session is gone or that WB throttles is rested, never replaced by polling the others
    faster: the per-account schedule only ever gets longer.
    """

    name = "cabinet"

    def __init__(self, sessions: SessionProvider | Roster, interval_s: float, *, timeout_s: float = 15.0,
                 roster_refresh_s: float = 30.0, rest_s: float = 60.0, throttle_retry_s: float = 60.0,
                 http: httpx.AsyncClient | None = None, clock: Clock | None = None) -> None:
        if hasattr(sessions, "load"):
            self.roster: Roster = sessions  # type: ignore[assignment]
            self.sessions: SessionProvider | None = None
        else:
            self.sessions = sessions
            assert self.sessions is not None
            self.roster = StaticRoster([Account("monitor-bot", 0, self.sessions, 60.0 / interval_s)])
        self.interval_s = interval_s
        self.roster_refresh_s = roster_refresh_s
        self.rest_s = rest_s  # how long an account without a session sits out before it is tried again
        self.throttle_retry_s = throttle_retry_s  # a 429 without a Retry header rests the account this long
        self.pool = TokenPool(interval_s, floor_s=0.0)
        self._accounts: dict[str, Account] = {}
        self._resting: dict[str, tuple[PooledToken, object, float]] = {}  # key -> (token, version, until)
        self._roster_at: float | None = None
        self._http = http or httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._ids = itertools.count(1)
        self.clock = clock  # the monitor's clock; without it the poll's own "now" is used throughout

    @property
    def accounts(self) -> int:
        return len(self.pool.tokens)

    def drain_lost(self) -> list[str]:
        """Accounts that left the rotation because their bot lost the WB login (told to the admins once)."""
        lost = list(getattr(self.roster, "lost", []))
        if lost:
            self.roster.lost.clear()  # type: ignore[attr-defined]
        return lost

    def next_poll_at(self, now: float) -> float:
        if not self.pool.tokens:
            return now if self._roster_at is None else max(now, self._roster_at + self.roster_refresh_s)
        return self.pool.next_poll(now)[1]

    async def _sync(self, now: float) -> None:
        """Take in new accounts, let rested ones back (a new session, or their rest is over), drop removed."""
        if self._roster_at is not None and now < self._roster_at + self.roster_refresh_s and self.pool.tokens:
            return
        self._roster_at = now
        loaded = {account.key: account for account in await self.roster.load()}
        for token in list(self.pool.tokens):
            if token.name not in loaded:
                self.pool.tokens.remove(token)
        for key in list(self._resting):
            if key not in loaded:
                del self._resting[key]
        for key, account in loaded.items():
            self._accounts[key] = account
            refill = 60.0 / max(account.requests_per_minute, 0.1)
            if key in self._resting:
                token, version, until = self._resting[key]
                if account.version == version and now < until:
                    continue
                del self._resting[key]
                self.pool.tokens.append(token)
            elif all(token.name != key for token in self.pool.tokens):
                self.pool.tokens.append(PooledToken(key, "", TokenBucket(1, refill)))
            for token in self.pool.tokens:
                if token.name == key:
                    token.bucket.interval_s = refill

    def _rest(self, token: PooledToken, now: float, rest_s: float | None = None) -> None:
        """Out of the rotation (the others keep their own pace) until ``rest_s`` passes or a new session comes."""
        if token in self.pool.tokens:
            self.pool.tokens.remove(token)
        until = now + (self.rest_s if rest_s is None else rest_s)
        self._resting[token.name] = (token, self._accounts[token.name].version, until)

    async def _call(self, session: CabinetSession, params: dict[str, Any]) -> httpx.Response:
        cookies = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        headers = {"Cookie": cookies, spec.AUTH_HEADER: session.cookies.get(spec.COOKIE_ACCESS, "")}
        body = {"params": params, "jsonrpc": "2.0", "id": next(self._ids)}
        url = session.base_url + spec.rpc_path(spec.RPC_COEFFICIENTS_REPORT)
        return await self._http.post(url, json=body, headers=headers)

    async def fetch(self, now: float, warehouses: frozenset[int] | None) -> Fetched:
        await self._sync(now)
        if not self.pool.tokens:
            if self._resting:
                raise SourceDisabled("no cabinet session on any monitor account", "no_session")
            raise SourceDisabled("no monitor account connected (admin panel: «Мониторинг»)", "no_accounts")
        # Reading the roster and the saved session takes a moment: the poll is marked when it really goes out,
        # so the next one is never planned from a stale "now" (which would send two polls back to back).
        token, at = self.pool.next_poll(self._now(now))
        account = self._accounts[token.name]
        params: dict[str, Any] = {"days": HORIZON_DAYS}
        if warehouses is not None:
            params["warehouseIDs"] = sorted(warehouses)
        try:
            records = await self._fetch_through(account, token, at, now, params)
        except SessionUnavailable as no_session:
            # Login blocked, captcha, the bot waits for the operator: that lasts, so the account rests.
            self._rest(token, now)
            await self.roster.record(account, False, str(no_session))
            if not self.pool.tokens:
                raise SourceDisabled(f"no cabinet session: {no_session}", "no_session") from None
            raise SourceUnavailable(f"{account.key}: no cabinet session", "session") from None
        except SourceError as error:
            await self.roster.record(account, False, str(error))
            raise
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            await self.roster.record(account, False, type(exc).__name__)
            raise SourceUnavailable(f"cabinet: {type(exc).__name__}", "timeout") from None
        await self.roster.record(account, True)
        return Fetched(records, Coverage(HORIZON_DAYS, warehouses))

    def _now(self, polled_at: float) -> float:
        return polled_at if self.clock is None else max(polled_at, self.clock.monotonic())

    async def _fetch_through(self, account: Account, token: PooledToken, at: float, polled_at: float,
                             params: dict[str, Any]) -> Sequence[Any]:
        try:
            session = await account.provider.session()
        finally:
            self.pool.mark_used(token, at, self._now(polled_at))
        now = self._now(polled_at)
        response = await self._call(session, params)
        if response.status_code == 401:  # the access token expired: a fresher session, once
            session = await account.provider.renew(session)
            response = await self._call(session, params)
        if response.status_code == 429:
            retry = _retry_after(response) or self.throttle_retry_s
            token.bucket.penalise(now, retry)
            self._rest(token, now, retry)  # a throttled account must not hold up the others' turns
            raise SourceThrottled(f"429 for {account.key}, rested {retry:g} s")
        return _report_records(response)

    async def aclose(self) -> None:
        await self._http.aclose()


def _retry_after(response: httpx.Response) -> float | None:
    for header in ("X-Ratelimit-Retry", "Retry-After"):
        try:
            return float(response.headers[header])
        except (KeyError, ValueError):
            continue
    return None


def _report_records(response: httpx.Response) -> Sequence[Any]:
    status = response.status_code
    if status == 401:
        raise SourceUnavailable("cabinet session refused after renewal", "session")
    if status >= 500:
        raise SourceUnavailable(f"cabinet HTTP {status}", "server_error")
    try:
        body = response.json()
    except ValueError:
        raise SourceUnavailable(f"cabinet HTTP {status}: body is not JSON", "bad_response") from None
    if not isinstance(body, dict) or body.get("error") is not None or status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        raise SourceUnavailable(f"cabinet HTTP {status}: {str(error)[:200]}", "rpc_error")
    report = (body.get("result") or {}).get("report") if isinstance(body.get("result"), dict) else None
    if not isinstance(report, list):
        raise SourceUnavailable("cabinet report is not a list", "bad_response")
    return report


class SourceSwitch:
    """Which source to poll: the primary, or the fallback while the primary is disabled (with probes)."""

    def __init__(self, primary: SlotSource, fallback: SlotSource | None = None,
                 probe_interval_s: float = DEFAULT_PROBE_INTERVAL_S) -> None:
        self.primary = primary
        self.fallback = fallback
        self.probe_interval_s = probe_interval_s
        self.active: SlotSource = primary
        self._probe_at: float | None = None

    @property
    def on_fallback(self) -> bool:
        return self.active is not self.primary

    def next_poll_at(self, now: float) -> float:
        at = self.active.next_poll_at(now)
        if self.on_fallback and self._probe_at is not None:
            at = min(at, max(self._probe_at, self.primary.next_poll_at(now)))
        return at

    def pick(self, now: float) -> SlotSource:
        """The source to poll now: a due probe of the primary goes first."""
        if self.on_fallback and self._probe_at is not None and now >= self._probe_at:
            return self.primary
        return self.active

    def disabled(self, source: SlotSource, now: float) -> bool:
        """``source`` cannot serve; returns True when this switched to the fallback."""
        if source is not self.primary or self.fallback is None:
            return False
        self._probe_at = now + self.probe_interval_s
        if self.on_fallback:
            return False  # a probe failed: stay, probe again later
        self.active = self.fallback
        return True

    def succeeded(self, source: SlotSource) -> bool:
        """``source`` answered; returns True when this switched back to the primary."""
        if source is self.primary and self.on_fallback:
            self.active = self.primary
            self._probe_at = None
            return True
        return False
