"""Which bots the embedded supervisor runs: not stopped ones, and none of a blocked seller."""

from __future__ import annotations

from sqlalchemy import Engine

from wbsupply.domain.statuses import BotStatus
from wbsupply.store import User, WbAccount, session_scope
from wbsupply.testkit import new_phone
from wbsupply.worker.main import runnable_bots


def test_a_blocked_sellers_bots_do_not_run(engine: Engine) -> None:
    with session_scope(engine) as session:
        active, blocked = User(email="a@shop.example", password_hash="x"), User(email="b@shop.example",
                                                                             password_hash="x", active=False)
        session.add_all([active, blocked])
        session.flush()
        running = WbAccount(owner_id=active.id or 0, phone=new_phone())
        stopped = WbAccount(owner_id=active.id or 0, phone=new_phone(), status=BotStatus.STOPPED)
        of_blocked = WbAccount(owner_id=blocked.id or 0, phone=new_phone())
        session.add_all([running, stopped, of_blocked])
        session.flush()
        expected = {running.id}
    assert set(runnable_bots(engine)) == expected
