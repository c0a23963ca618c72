"""Cabinet sessions for the monitor bot: the interface (the sandbox's phone-and-code implementation is
:class:`wbsupply.sandbox.sessions.SandboxSessionProvider`).

On real WB the session comes from a monitor account's bot: the cookies of its logged-in headless Chromium,
refreshed by the page and saved encrypted (:class:`wbsupply.monitor.roster.SavedSessionProvider`). The monitor
only needs cookies it can send with its JSON-RPC calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class SessionUnavailable(Exception):
    """No session can be had now (login blocked, captcha, code never came): try again much later."""


@dataclass(frozen=True)
class CabinetSession:
    base_url: str
    cookies: dict[str, str] = field(repr=False)  # secrets: never logged
    name: str = "monitor-bot"  # what logs show instead of the cookies


class SessionProvider(Protocol):
    async def session(self) -> CabinetSession:
        """A session believed to be valid (cached, or a fresh login)."""
        ...

    async def renew(self, stale: CabinetSession) -> CabinetSession:
        """The cabinet refused ``stale``: refresh it, or log in again."""
        ...
