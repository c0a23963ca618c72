"""The API app on a real database (SQLite and PostgreSQL), users made through the app's own logic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apihelpers import PASSWORD
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from wbsupply.api.app import create_app
from wbsupply.api.logic import users
from wbsupply.config import Settings
from wbsupply.domain.statuses import Role
from wbsupply.feed.memory import MemoryFeed
from wbsupply.process import ProcessContext
from wbsupply.store import WbAccount, session_factory, session_scope
from wbsupply.testkit import new_phone


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, secret_key="test-secret-key",
                    sandbox_enabled=False)


@pytest.fixture
def runtime(settings: Settings, engine: Engine) -> ProcessContext:
    return ProcessContext(settings=settings, feed=MemoryFeed(1000), engine=engine)


@pytest.fixture
def app(runtime: ProcessContext) -> FastAPI:
    return create_app(runtime)


@dataclass
class Person:
    id: int
    email: str
    client: TestClient

    def csrf(self) -> dict[str, str]:
        return {"x-csrf-token": self.client.cookies.get("wbsupply_csrf") or ""}

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers={**self.csrf(), **kwargs.pop("headers", {})}, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.client.patch(url, headers={**self.csrf(), **kwargs.pop("headers", {})}, **kwargs)

    def add_account(self, engine: Engine, phone: str | None = None) -> int:
        with session_scope(engine) as session:
            account = WbAccount(owner_id=self.id, phone=phone or new_phone())
            session.add(account)
            session.flush()
            assert account.id is not None
            return account.id


@pytest.fixture
def make_person(app: FastAPI, engine: Engine) -> Iterator[Callable[..., Person]]:
    """A user created through the logic, signed in with their own client (own cookie jar)."""
    clients: list[TestClient] = []
    numbers = iter(range(1, 1000))

    def make(role: Role = Role.SELLER, plan_limit: int = 5, login: bool = True) -> Person:
        email = f"user{next(numbers)}@example.com"
        with session_factory(engine)() as session:
            user = users.create_user(session, email, PASSWORD, role=role, plan_limit=plan_limit)
            user_id = user.id
        client = TestClient(app)
        clients.append(client)
        if login:
            response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert response.status_code == 200, response.text
        assert user_id is not None
        return Person(user_id, email, client)

    yield make
    for client in clients:
        client.close()
