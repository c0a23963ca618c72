"""Page object of the WB seller cabinet: login steps, the page's JSON-RPC, the planning dialog.

Every path, selector, header, cookie and text comes from :mod:`wbsupply.wb.cabinet_spec`. JSON-RPC calls
run inside the logged-in page (its cookies, its origin) through a small ``fetch``; the booking captcha is
solved by the page's own script (``wbCabinet.captchaHeaders``), as a person's browser would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from wbsupply.wb import cabinet_spec as spec
from wbsupply.wb.cabinet_spec import by_testid

STEP_TIMEOUT_MS = 15_000
RPC_TIMEOUT_S = 20.0  # a JSON-RPC call that has not answered by then is an unknown outcome (RpcTimeout)

# One fetch with the page's auth header; a 401 is retried once after the page's own token refresh.
_RPC_JS = """
async ([path, method, params, authHeader, accessCookie, captcha]) => {
  const cookie = (name) => {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
  };
  const extra = captcha ? await window.wbCabinet.captchaHeaders() : {};
  const call = () => fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", [authHeader]: cookie(accessCookie), ...extra},
    body: JSON.stringify({params, jsonrpc: "2.0", id: Date.now()}),
  });
  let resp = await call();
  if (resp.status === 401 && window.wbCabinet && await window.wbCabinet.refresh()) resp = await call();
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  return {status: resp.status, body};
}
"""


class SessionLost(Exception):
    """WB no longer accepts the session (401 after a refresh, or the page went to the login form)."""


class RpcFailure(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.data = code, message, data


class RpcTimeout(RpcFailure):
    """The cabinet did not answer in time: WB may or may not have done it (ask before assuming either)."""

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(0, f"{method}: no answer in {seconds:g} s")


@dataclass(frozen=True)
class LoginOutcome:
    """What WB's login page shows after a step: the next step or a refusal."""

    step: str  # code | captcha | suppliers | done | blocked | error | phone
    message: str = ""
    captcha: str = ""
    hours: int = 0
    suppliers: list[dict[str, Any]] = field(default_factory=list)


class Cabinet:
    def __init__(self, page: Page, base_url: str, rpc_timeout_s: float = RPC_TIMEOUT_S) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.rpc_timeout_s = rpc_timeout_s

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- where are we --------------------------------------------------------------------------------
    async def open_supplies(self) -> LoginOutcome:
        """Go to «Все поставки»; a dead session ends on the login form (after the restore page tried)."""
        await self.page.goto(self.url(spec.SUPPLIES_PATH), wait_until="domcontentloaded")
        return await self._settle()

    def on_login_page(self) -> bool:
        return spec.LOGIN_PATH in self.page.url

    async def _settle(self) -> LoginOutcome:
        page = self.page
        supplies = page.locator(by_testid(spec.Supplies.PAGE))
        login = page.locator(by_testid(spec.Login.PHONE_INPUT))
        code = page.locator(by_testid(spec.Login.CODE_INPUT))
        captcha = page.locator(by_testid(spec.Login.CAPTCHA_IMAGE))
        suppliers = page.locator(by_testid(spec.Suppliers.LIST))
        await supplies.or_(login).or_(code).or_(captcha).or_(suppliers).first.wait_for(timeout=STEP_TIMEOUT_MS)
        if await supplies.count():
            return LoginOutcome("done")
        if await suppliers.count():
            return LoginOutcome("suppliers", suppliers=await self._supplier_list())
        blocked = page.locator(by_testid(spec.Login.BLOCKED))
        if await blocked.count():
            text = await blocked.inner_text()
            hours = re.search(r"\d+", text)
            return LoginOutcome("blocked", message=text, hours=int(hours.group()) if hours else 0)
        error = page.locator(by_testid(spec.Login.ERROR))
        message = (await error.inner_text()).strip() if await error.count() else ""
        if await captcha.count():
            return LoginOutcome("captcha", message=message, captcha=(await captcha.inner_text()).replace("\n", ""))
        if await code.count():
            return LoginOutcome("code", message=message)
        return LoginOutcome("error" if message else "phone", message=message)

    async def _supplier_list(self) -> list[dict[str, Any]]:
        items = self.page.locator(by_testid(spec.Suppliers.ITEM))
        found = []
        for index in range(await items.count()):
            item = items.nth(index)
            supplier_id = await item.get_attribute(spec.Attr.SUPPLIER_ID)
            name = (await item.locator("b").first.inner_text()) if await item.locator("b").count() else ""
            found.append({"id": supplier_id, "name": name.strip() or f"ID {supplier_id}"})
        return found

    # --- login steps ---------------------------------------------------------------------------------
    async def enter_phone(self, phone: str) -> LoginOutcome:
        page = self.page
        if not await page.locator(by_testid(spec.Login.PHONE_INPUT)).count():
            await page.goto(self.url(spec.LOGIN_PATH), wait_until="domcontentloaded")
        await page.fill(by_testid(spec.Login.PHONE_INPUT), phone)
        async with page.expect_navigation(wait_until="domcontentloaded"):
            await page.click(by_testid(spec.Login.GET_CODE_BUTTON))
        return await self._settle()

    async def enter_code(self, code: str) -> LoginOutcome:
        page = self.page
        await page.fill(by_testid(spec.Login.CODE_INPUT), code)
        async with page.expect_navigation(wait_until="domcontentloaded"):
            await page.click(by_testid(spec.Login.SUBMIT_CODE_BUTTON))
        return await self._settle()

    async def answer_captcha(self, answer: str) -> LoginOutcome:
        page = self.page
        await page.fill(by_testid(spec.Login.CAPTCHA_INPUT), answer)
        async with page.expect_navigation(wait_until="domcontentloaded"):
            await page.click(by_testid(spec.Login.CAPTCHA_SUBMIT))
        return await self._settle()

    async def choose_supplier(self, supplier_id: int) -> LoginOutcome:
        page = self.page
        if not await page.locator(by_testid(spec.Suppliers.LIST)).count():
            await page.goto(self.url(spec.SUPPLIER_SELECT_PATH), wait_until="domcontentloaded")
        item = page.locator(spec.supplier_item(supplier_id))
        if not await item.count():
            return LoginOutcome("error", message="Организация не найдена в кабинете WB")
        async with page.expect_navigation(wait_until="domcontentloaded"):
            await item.locator(by_testid(spec.Suppliers.SELECT_BUTTON)).click()
        return await self._settle()

    async def shows(self, testid: str) -> bool:
        return bool(await self.page.locator(by_testid(testid)).count())

    async def current_supplier(self) -> str | None:
        current = self.page.locator(by_testid(spec.Suppliers.CURRENT))
        return await current.get_attribute(spec.Attr.SUPPLIER_ID) if await current.count() else None

    # --- JSON-RPC ------------------------------------------------------------------------------------
    async def rpc(self, method: str, params: dict[str, Any] | None = None, *, captcha: bool = False) -> Any:
        if self.on_login_page():
            raise SessionLost("the cabinet shows the login form")
        args = [spec.rpc_path(method), method, params or {}, spec.AUTH_HEADER, spec.COOKIE_ACCESS, captcha]
        try:
            answer = await asyncio.wait_for(self.page.evaluate(_RPC_JS, args), self.rpc_timeout_s)
        except TimeoutError:
            raise RpcTimeout(method, self.rpc_timeout_s) from None
        except Exception as exc:  # the page navigated away mid-call (its heartbeat found a dead session)
            if self.on_login_page():
                raise SessionLost("the cabinet went to the login form") from exc
            raise
        status, body = answer["status"], answer["body"] or {}
        if status == 401:
            raise SessionLost("the cabinet answered 401")
        error = body.get("error")
        if error:
            raise RpcFailure(int(error.get("code", status)), str(error.get("message", "")), error.get("data"))
        if status >= 400:
            raise RpcFailure(status, f"HTTP {status}")
        return body.get("result")

    async def acceptance_day(self, preorder_id: int, day: dt.date) -> dict[str, Any] | None:
        """The preorder's calendar entry for one day (coefficient, allowUnload), None if WB shows none."""
        result = await self.rpc(spec.RPC_ACCEPTANCE_COSTS,
                                {"preorderID": preorder_id, "dateFrom": day.isoformat(), "dateTo": day.isoformat()})
        costs = (result or {}).get("costs") or []
        return next((c for c in costs if str(c.get("date", ""))[:10] == day.isoformat()), None)

    async def preorder(self, preorder_id: int) -> dict[str, Any]:
        return dict(await self.rpc(spec.RPC_GET_PREORDER, {"preorderID": preorder_id}) or {})

    async def list_supplies(self) -> dict[str, Any]:
        """The cabinet's own list: ``{"drafts": [...], "preorders": [...]}`` (``supply/listSupplies``)."""
        return dict(await self.rpc(spec.RPC_LIST_SUPPLIES, {}) or {})

    async def create_preorder(self, draft_id: str, warehouse_id: int, box_type: str) -> int:
        result = await self.rpc(spec.RPC_CREATE_PREORDER,
                                {"draftID": draft_id, "warehouseID": warehouse_id, "boxType": box_type})
        return int(result["preorderID"])

    async def refresh_session(self) -> bool:
        """The page's own token refresh (rotates the refresh cookie)."""
        try:
            return bool(await self.page.evaluate("() => window.wbCabinet ? window.wbCabinet.refresh() : false"))
        except Exception:
            return False

    # --- the planning dialog (click-through) ---------------------------------------------------------
    async def plan_via_dialog(self, preorder_id: int, day: dt.date) -> int | None:
        """«Запланировать поставку» → the date → «Выбрать» → «Запланировать»; raises RpcFailure with the
        dialog's error text when WB refuses (e.g. the date was taken meanwhile). Returns the new supply id."""
        page = self.page
        row = page.locator(spec.preorder_row(preorder_id))
        if not await row.count():
            await self.open_supplies()
        await row.locator(by_testid(spec.Supplies.PLAN_BUTTON)).click(timeout=STEP_TIMEOUT_MS)
        choose = page.locator(spec.calendar_day(day)).locator(by_testid(spec.Calendar.CHOOSE_BUTTON))
        error = page.locator(by_testid(spec.Calendar.ERROR))
        try:
            await choose.or_(error).first.wait_for(timeout=STEP_TIMEOUT_MS)
        except PlaywrightTimeout:
            raise RpcFailure(spec.RPC_ERR_SLOT_UNAVAILABLE, spec.TEXT_UNAVAILABLE) from None
        if not await choose.count():
            raise RpcFailure(spec.RPC_ERR_SLOT_UNAVAILABLE, spec.TEXT_UNAVAILABLE)
        await choose.click()
        planned = row.locator(by_testid(spec.Supplies.PREORDER_STATUS)).filter(
            has_text=re.compile(f"^{re.escape(spec.TEXT_PLANNED)}$"))
        async with page.expect_response(lambda r: spec.RPC_PLAN_ADD in r.url, timeout=STEP_TIMEOUT_MS):
            await page.click(by_testid(spec.Calendar.CONFIRM_BUTTON))
        await planned.or_(error.filter(has_text=re.compile(r"\S"))).first.wait_for(timeout=STEP_TIMEOUT_MS)
        if await planned.count():
            supply_id = await row.get_attribute(spec.Attr.SUPPLY_ID)
            return int(supply_id) if supply_id and supply_id.isdigit() else None
        message = (await error.inner_text()).strip()
        code = spec.RPC_ERR_SLOT_UNAVAILABLE if message == spec.TEXT_SLOT_TAKEN else spec.RPC_ERR_REFUSED
        await page.click(by_testid(spec.Calendar.CLOSE_BUTTON))
        raise RpcFailure(code, message)
