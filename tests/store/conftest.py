"""Rows the store tests need: a seller with a WB account and tasks, inserted through the ORM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from wbsupply.store import SupplyTask, User, WbAccount, session_scope
from wbsupply.testkit import new_phone


@dataclass(frozen=True)
class Seller:
    user_id: int
    account_id: int
    task_ids: list[int]


@pytest.fixture
def make_seller(engine: Engine) -> Callable[..., Seller]:
    numbers = iter(range(1, 1_000_000))

    def make(tasks: int = 1, plan_limit: int = 5) -> Seller:
        n = next(numbers)
        with session_scope(engine) as session:
            user = User(email=f"seller{n}@example.com", password_hash="$argon2id$stub", plan_limit=plan_limit)
            session.add(user)
            session.flush()
            assert user.id is not None
            account = WbAccount(owner_id=user.id, phone=new_phone())
            session.add(account)
            session.flush()
            assert account.id is not None
            rows = [SupplyTask(owner_id=user.id, account_id=account.id) for _ in range(tasks)]
            session.add_all(rows)
            session.flush()
            return Seller(user.id, account.id, [row.id for row in rows if row.id is not None])

    return make
