"""First start of ``wbsupply up``: an admin and a demo seller with random passwords, printed once.

"First" means the users table is empty; on later starts nothing is created and nothing is printed, so the
passwords never reach a log again. In sandbox mode the demo seller's WB phone is registered in the sandbox
market (which lives in memory) on every start, so that the demo seller can always connect WB.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from wbsupply.api.errors import Conflict
from wbsupply.api.logic import users
from wbsupply.api.security import new_password
from wbsupply.config import Settings
from wbsupply.domain.statuses import Role
from wbsupply.store import session_factory
from wbsupply.wb.cabinet_spec import SUPPLIES_PATH

ADMIN_EMAIL = "admin@wbsupply.local"
DEMO_EMAIL = "seller@wbsupply.local"
DEMO_PHONE = "+79990000001"
DEMO_PLAN = 25
DEMO_BARCODE = "2040000000017"


def ensure_first_users(engine: Engine, settings: Settings, market: Any | None = None) -> list[str]:
    """Create the first users if there are none; returns the lines to print (empty on later starts).

    ``market``: the running sandbox market (``ProcessContext.sandbox_market``), if any.
    """
    lines: list[str] = []
    with session_factory(engine)() as session:
        if users.count_users(session) == 0:
            admin_password, demo_password = new_password(), new_password()
            users.create_user(session, ADMIN_EMAIL, admin_password, role=Role.ADMIN, plan_limit=500)
            users.create_user(session, DEMO_EMAIL, demo_password, role=Role.SELLER, plan_limit=DEMO_PLAN)
            url = f"http://{settings.api_host}:{settings.api_port}"
            lines = [
                f"Кабинет: {url}/login — пароли показываются только сейчас, сохраните их:",
                f"  администратор: {ADMIN_EMAIL} / {admin_password}",
                f"  демо-продавец: {DEMO_EMAIL} / {demo_password}",
            ]
            if settings.sandbox_enabled:
                sandbox = settings.sandbox_url
                lines.append(f"  песочница WB: телефон {DEMO_PHONE}, коды входа — {sandbox}/sandbox/inbox, "
                             f"черновики поставок — {sandbox}{SUPPLIES_PATH}")
    if settings.sandbox_enabled and market is not None:
        ensure_sandbox_seller(market)
    return lines


def ensure_configured_admin(engine: Engine, settings: Settings) -> bool:
    """The cluster's first administrator from ``WBSUPPLY_ADMIN_EMAIL`` / ``WBSUPPLY_ADMIN_PASSWORD``.

    Created once, while no administrator exists; the password stays in the Secret it came from, so it is
    never printed. Several API replicas may start at once: the unique e-mail lets only one of them win.
    True if this call created the user.
    """
    if not settings.admin_email or settings.admin_password is None:
        return False
    with session_factory(engine)() as session:
        if users.count_admins(session):
            return False
        try:
            users.create_user(session, settings.admin_email, settings.admin_password.get_secret_value(),
                              role=Role.ADMIN, plan_limit=500)
        except Conflict:
            return False
    return True


def ensure_sandbox_seller(market: Any) -> str:
    """The demo seller's WB account in the sandbox, with a supply draft to create a task for; its draft id."""
    seller = market.seller_by_phone(DEMO_PHONE) or market.create_seller(name="Демо Продавец", phone=DEMO_PHONE)
    supplier_id = seller.suppliers[0].id
    drafts = market.list_drafts(supplier_id) or [market.create_draft(supplier_id, [(DEMO_BARCODE, 20)])]
    return str(drafts[0].id)
