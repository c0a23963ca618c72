"""First start creates an admin and a demo seller, prints the passwords once, never again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from wbsupply.api.bootstrap import DEMO_EMAIL, DEMO_PHONE, ensure_first_users
from wbsupply.api.logic import users
from wbsupply.config import Settings
from wbsupply.sandbox.market import Market
from wbsupply.store import session_factory


def test_first_users_once(engine: Engine, tmp_path: Path) -> None:
    market = Market(seed=7)
    settings = Settings(data_dir=tmp_path, sandbox_enabled=True)
    lines = ensure_first_users(engine, settings, market)
    text = "\n".join(lines)
    assert "admin@wbsupply.local" in text and DEMO_EMAIL in text and DEMO_PHONE in text
    demo_password = next(line for line in lines if DEMO_EMAIL in line).rsplit(" / ", 1)[1]
    with session_factory(engine)() as session:
        assert users.authenticate(session, DEMO_EMAIL, demo_password, "127.0.0.1", secret="s").plan_limit == 25
    seller = market.seller_by_phone(DEMO_PHONE)
    assert seller is not None and len(market.list_drafts(seller.suppliers[0].id)) == 1

    fresh_market = Market(seed=1)  # the sandbox lives in memory: a restart needs the seller again
    assert ensure_first_users(engine, settings, fresh_market) == []
    assert fresh_market.seller_by_phone(DEMO_PHONE) is not None
    assert ensure_first_users(engine, settings, fresh_market) == []
