"""The bot logs into the sandbox cabinet with the phone and code the seller types into our cabinet."""

from __future__ import annotations

import pytest
from bot_harness import SECRET, add_seller, bot_config, login_through_relay, row, running_bot, status_of
from sqlalchemy import Engine

from wbsupply.control.local import AuthInputError, submit_auth_step
from wbsupply.crypto import session_box
from wbsupply.domain.statuses import BotStatus
from wbsupply.feed.memory import MemoryFeed
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.store.models import WbAccount
from wbsupply.testkit import as_typed, eventually, new_phone
from wbsupply.wb import cabinet_spec as spec
from wbsupply.worker.browser import BrowserHost

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


async def test_phone_code_and_supplier_relayed_then_restart_needs_no_code(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    _, account_id, seller = add_seller(db, market, phone, suppliers=2)
    config = bot_config(sandbox)
    async with running_bot(account_id, db, feed, host, config):
        await eventually(lambda: row(db, WbAccount, account_id).status is BotStatus.WAITING_AUTH, what="waiting")
        assert status_of(db, account_id).auth_state == "need_phone"
        with pytest.raises(AuthInputError, match="формате"):
            submit_auth_step(db, account_id, "phone", "12345")

        submit_auth_step(db, account_id, "phone", as_typed(phone))
        sent = await eventually(lambda: (s := status_of(db, account_id)).auth_state == "code_sent" and s)
        assert sent.last_request.status == "done" and f"+7 *** ***-**-{phone[-2:]}" in sent.last_request.message

        real = market.inbox(phone)[0].code
        submit_auth_step(db, account_id, "code", "000000" if real != "000000" else "111111")
        wrong = await eventually(lambda: (s := status_of(db, account_id)).last_request.status == "failed" and s)
        assert wrong.last_request.message.startswith(spec.TEXT_WRONG_CODE) and wrong.auth_state == "code_sent"

        submit_auth_step(db, account_id, "code", real)
        choose = await eventually(lambda: (s := status_of(db, account_id)).auth_state == "need_supplier" and s)
        offered = {int(s["id"]) for s in choose.prompt["suppliers"]}
        assert offered == {s.id for s in seller.suppliers}
        second = seller.suppliers[1].id
        submit_auth_step(db, account_id, "supplier", str(second))
        await eventually(lambda: row(db, WbAccount, account_id).status is BotStatus.ACTIVE, what="ACTIVE")

    account = row(db, WbAccount, account_id)
    assert account.supplier_id == str(second) and account.auth_state == "authorized"
    assert account.session_blob and spec.COOKIE_REFRESH.encode() not in account.session_blob
    state = session_box(SECRET).decrypt(account.session_blob)
    assert spec.COOKIE_REFRESH.encode() in state  # the saved state is the real one, only encrypted
    codes_sent = len(market.inbox(phone))

    async with running_bot(account_id, db, feed, host, config):  # a restart: the saved session is enough
        await eventually(lambda: row(db, WbAccount, account_id).status is BotStatus.ACTIVE, what="ACTIVE again")
    assert len(market.inbox(phone)) == codes_sent
    assert all(r.value is None for r in _requests(db, account_id))  # codes are not kept


async def test_blocked_login_is_explained_in_russian(
    sandbox: RunningSandbox, host: BrowserHost, db: Engine, feed: MemoryFeed
) -> None:
    market = sandbox.market
    phone = new_phone()
    _, account_id, _ = add_seller(db, market, phone)
    market.block_login(phone, 4)
    async with running_bot(account_id, db, feed, host, bot_config(sandbox)):
        await eventually(lambda: status_of(db, account_id).auth_state == "need_phone", what="need_phone")
        submit_auth_step(db, account_id, "phone", phone)
        blocked = await eventually(lambda: (s := status_of(db, account_id)).auth_state == "blocked" and s)
    assert blocked.prompt == {"hours": 4}
    assert blocked.last_request.status == "failed"
    assert "через 4 ч." in blocked.last_request.message


async def test_login_relay_on_postgresql(
    sandbox: RunningSandbox, host: BrowserHost, postgresql_database_url: str, feed: MemoryFeed
) -> None:
    from wbsupply.store import make_engine

    engine = make_engine(postgresql_database_url)
    try:
        phone = new_phone()
        _, account_id, _ = add_seller(engine, sandbox.market, phone)
        async with running_bot(account_id, engine, feed, host, bot_config(sandbox)):
            await login_through_relay(engine, sandbox.market, account_id, phone)
        assert row(engine, WbAccount, account_id).session_blob
    finally:
        engine.dispose()


def _requests(engine: Engine, account_id: int) -> list:
    from bot_harness import rows

    from wbsupply.store.auth import WbAuthRequest

    return rows(engine, WbAuthRequest, WbAuthRequest.account_id == account_id)
