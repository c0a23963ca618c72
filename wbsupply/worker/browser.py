"""The bots' browser: one system Chromium (headless shell) shared by many bots, one context per bot.

Images, fonts and media are refused by a route (bots never look at them), the HTTP cache is cleared
periodically over CDP, and each bot's storage state (cookies + local storage) is saved encrypted so that a
restarted bot needs no new SMS code. Memory flags are the measured ones from ``bench/bot_memory.py``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route, async_playwright

from wbsupply.crypto import SecretBox

log = logging.getLogger(__name__)

# Root on a closed network: no sandbox, no background traffic, no GPU process.
BASE_ARGS = (
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-gpu",
)
# Measured in bench/bot_memory.py. All contexts talk to one site, so one renderer suffices; the GPU and
# network services run inside the browser process instead of their own; V8 heaps of the light cabinet page
# stay far below the cap; no disk cache (the bot's pages are few and small).
LEAN_ARGS = (
    "--renderer-process-limit=1",
    "--disable-site-isolation-trials",
    "--in-process-gpu",
    "--enable-features=NetworkServiceInProcess2",
    "--disable-features=site-per-process,IsolateOrigins,Translate,OptimizationHints,MediaRouter,"
    "BackForwardCache,AutofillServerCommunication,CalculateNativeWinOcclusion",
    "--js-flags=--max-old-space-size=64",
    "--disable-dev-shm-usage",
    "--disk-cache-size=1048576",
    "--disable-extensions",
    "--mute-audio",
    "--blink-settings=imagesEnabled=false",
)
# Everything in one process: no zygotes, no per-process copies of Chromium's binary and heaps.
SINGLE_PROCESS_ARGS = ("--single-process", "--no-zygote")
BLOCKED_RESOURCES = frozenset({"image", "font", "media"})


@dataclass(frozen=True)
class BrowserOptions:
    executable: Path | None
    headless: bool = True
    lean: bool = True
    single_process: bool = False  # saves memory, but Chromium then dies when a context closes (re-auth)
    extra_args: Sequence[str] = ()
    driver_node_options: str | None = "--max-old-space-size=32 --max-semi-space-size=1"  # Playwright's Node
    viewport: tuple[int, int] = (1024, 720)  # the planning dialog fits; fewer compositor tiles than 1280×800

    def args(self) -> list[str]:
        return [*BASE_ARGS, *(LEAN_ARGS if self.lean else ()),
                *(SINGLE_PROCESS_ARGS if self.single_process else ()), *self.extra_args]


async def _block_heavy(route: Route) -> None:
    if route.request.resource_type in BLOCKED_RESOURCES:
        await route.abort()
    else:
        await route.continue_()


class BrowserHost:
    """Starts Playwright and Chromium once; hands out isolated contexts to bots."""

    def __init__(self, options: BrowserOptions) -> None:
        self.options = options
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def start(self) -> None:
        if self.options.driver_node_options:
            # Playwright spawns its Node driver with our environment; there is no other way to pass options.
            os.environ.setdefault("NODE_OPTIONS", self.options.driver_node_options)
        self._playwright = await async_playwright().start()
        executable = self.options.executable
        self._browser = await self._playwright.chromium.launch(
            executable_path=str(executable) if executable else None,
            headless=self.options.headless,
            args=self.options.args(),
        )
        log.info("browser started (%s)", executable or "playwright chromium")

    @property
    def browser(self) -> Browser:
        if self._browser is None:
            raise RuntimeError("the browser is not started")
        return self._browser

    @property
    def connected(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def new_context(self, storage_state: dict[str, Any] | None = None) -> BrowserContext:
        context = await self.browser.new_context(
            storage_state=storage_state,  # type: ignore[arg-type]
            locale="ru-RU",
            timezone_id="Europe/Moscow",
            viewport={"width": self.options.viewport[0], "height": self.options.viewport[1]},
            service_workers="block",
        )
        context.set_default_timeout(15_000)
        await context.route("**/*", _block_heavy)
        return context

    async def stop(self) -> None:
        try:
            if self._browser is not None:
                await self._browser.close()
        finally:
            self._browser = None
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None


async def clear_cache(page: Page, *, trim: bool = True) -> None:
    """Drop the HTTP cache and let Chromium shed what it keeps "just in case" (CDP): a bot runs for days.

    A simulated critical memory-pressure signal makes Blink and V8 purge their caches and collect garbage,
    which a headless bot never gets from a real desktop.
    """
    cdp = await page.context.new_cdp_session(page)
    try:
        await cdp.send("Network.clearBrowserCache")
        if trim:
            await cdp.send("HeapProfiler.collectGarbage")
            await cdp.send("Memory.simulatePressureNotification", {"level": "critical"})
    finally:
        await cdp.detach()


async def export_state(context: BrowserContext, box: SecretBox) -> bytes:
    state = await context.storage_state()
    return box.encrypt(json.dumps(state, separators=(",", ":")).encode())


def import_state(blob: bytes | None, box: SecretBox) -> dict[str, Any] | None:
    """The saved storage state, or None when there is none or it cannot be read (then: log in again)."""
    if not blob:
        return None
    try:
        state: dict[str, Any] = json.loads(box.decrypt(blob))
    except ValueError:
        log.warning("saved browser session cannot be decrypted (secret changed?); a new login is needed")
        return None
    return state
