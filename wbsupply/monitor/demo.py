"""The demo's monitor account: with the sandbox (where, as on WB today, the public API is off) the first run
connects one for the operator through the same relay a person would use — phone, the code from the sandbox
inbox, the legal entity — so the cabinet report source works from the first minute.

Without the sandbox nothing is connected automatically: :func:`monitor_account_hint` tells the operator
to connect a monitor account in the admin panel.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from wbsupply.config import Settings
from wbsupply.domain.statuses import BotStatus, Role
from wbsupply.store.auth import AuthRequestStatus, AuthState, WbAuthRequest
from wbsupply.store.engine import session_scope
from wbsupply.store.models import User
from wbsupply.store.monitor_accounts import add_monitor_account, monitor_accounts

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from wbsupply.process import ProcessContext

log = logging.getLogger("wbsupply.monitor")

DEMO_MONITOR_PHONE = "+79990000099"
DEMO_MONITOR_NAME = "Мониторинг (демо)"
CONNECT_WITHIN_S = 180.0


def monitor_account_hint(settings: Settings, engine: Engine) -> str | None:
    """The line a start prints about monitor accounts (None: nothing to say)."""
    if settings.sandbox_enabled and not settings.wb_cabinet_url:
        if settings.sandbox_public_api:
            return None
        return (f"Мониторинг слотов: публичный API коэффициентов в песочнице выключен, как сейчас у WB; "
                f"аккаунт мониторинга {DEMO_MONITOR_PHONE} подключается автоматически")
    if monitor_accounts(engine) or settings.wb_api_tokens:
        return None
    return ("Мониторинг слотов: подключите аккаунт мониторинга (кабинет WB) в панели администратора → "
            "«Мониторинг», иначе слоты видят только боты продавцов по своим заказам")


def ensure_demo_account(engine: Engine) -> int | None:
    """The demo monitor account (created once, owned by the first admin); its WB account id."""
    existing = [v for v in monitor_accounts(engine) if v.phone == DEMO_MONITOR_PHONE]
    if existing:
        return existing[0].account_id
    with session_scope(engine) as session:
        admin = session.exec(select(User).where(User.role == Role.ADMIN).order_by(col(User.id))).first()
        admin_id = admin.id if admin is not None else None
    if admin_id is None:
        return None
    return add_monitor_account(engine, admin_id, DEMO_MONITOR_PHONE, DEMO_MONITOR_NAME)


def _pending(engine: Engine, account_id: int) -> bool:
    with session_scope(engine) as session:
        return session.exec(select(WbAuthRequest.id).where(
            WbAuthRequest.account_id == account_id,
            col(WbAuthRequest.status).in_([AuthRequestStatus.PENDING, AuthRequestStatus.TAKEN]))).first() is not None


class DemoMonitorAccount:
    """Runtime component: logs the demo monitor account in (again after every start: the sandbox forgets)."""

    name = "demo-monitor"

    def __init__(self, context: ProcessContext) -> None:
        self.context = context

    async def run(self, stop: asyncio.Event) -> None:
        from wbsupply.store.engine import engine_from_settings

        market = self.context.sandbox_market
        engine = engine_from_settings(self.context.settings)
        try:
            if market is not None:
                if market.seller_by_phone(DEMO_MONITOR_PHONE) is None:
                    market.create_seller(name="wbsupply мониторинг", phone=DEMO_MONITOR_PHONE)
                account_id = await self._account(engine, stop)
                if account_id is not None:
                    await self._connect(engine, market, account_id, stop)
            await stop.wait()
        finally:
            engine.dispose()

    async def _account(self, engine: Engine, stop: asyncio.Event) -> int | None:
        # The first start creates the admin alongside this component: wait for it a little.
        for _ in range(100):
            account_id = await asyncio.to_thread(ensure_demo_account, engine)
            if account_id is not None or stop.is_set():
                return account_id
            await asyncio.sleep(0.2)
        return None

    async def _connect(self, engine: Engine, market: Any, account_id: int, stop: asyncio.Event) -> None:
        from wbsupply.store.auth_relay import auth_status, submit_auth_step

        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_WITHIN_S
        used_codes: set[str] = set()
        while not stop.is_set() and loop.time() < deadline:
            status = await asyncio.to_thread(auth_status, engine, account_id)
            if status.bot_status == BotStatus.ACTIVE.value:
                log.info("demo monitor account connected")
                self.context.status[self.name] = "connected"
                return
            state = status.auth_state
            if not await asyncio.to_thread(_pending, engine, account_id):
                step: tuple[str, str | None] | None = None
                if state == AuthState.NEED_PHONE.value and status.bot_status == BotStatus.WAITING_AUTH.value:
                    step = ("phone", DEMO_MONITOR_PHONE)
                elif state == AuthState.CODE_SENT.value:
                    codes = market.inbox(DEMO_MONITOR_PHONE)
                    if codes and codes[0].code not in used_codes:
                        used_codes.add(codes[0].code)
                        step = ("code", codes[0].code)
                elif state == AuthState.NEED_SUPPLIER.value and status.prompt.get("suppliers"):
                    step = ("supplier", str(status.prompt["suppliers"][0]["id"]))
                if step is not None:
                    await asyncio.to_thread(submit_auth_step, engine, account_id, *step)
            await asyncio.sleep(0.5)
        if not stop.is_set():
            log.warning("demo monitor account not connected in %.0f s: connect it in the admin panel",
                        CONNECT_WITHIN_S)
            self.context.status[self.name] = "not connected"
