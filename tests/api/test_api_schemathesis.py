"""Issue 16: Schemathesis against the app's own OpenAPI schema, signed in as a seller and as an admin.

Every operation gets a few dozen generated requests (valid and invalid): none may answer 5xx, and every
answer must match the schema the operation declares. Operations that would end the caller's own credentials
(sign out, revoke tokens) are left out so that the run keeps testing as a signed-in user.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from apihelpers import PASSWORD
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine

from wbsupply.api.logic import users
from wbsupply.domain.statuses import Role
from wbsupply.store import WbAccount, session_factory, session_scope
from wbsupply.testkit import new_phone

EXAMPLES = 25
ENDS_CREDENTIALS = r"^/api/v1/(auth/logout|me/tokens.*)$"


@pytest.fixture
def tokens(app: FastAPI, engine: Engine) -> dict[str, str]:
    """Bearer tokens of a seller (with a WB account) and an admin; a bearer call needs no CSRF token."""
    found = {}
    with TestClient(app) as client:
        for role in (Role.SELLER, Role.ADMIN):
            email = f"{role.value}-fuzz@example.com"
            with session_factory(engine)() as session:
                user = users.create_user(session, email, PASSWORD, role=role, plan_limit=50)
                user_id = user.id
            if role is Role.SELLER:
                with session_scope(engine) as session:
                    session.add(WbAccount(owner_id=user_id or 0, phone=new_phone()))
            response = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
            found[role.value] = response.json()["access_token"]
    return found


def test_no_5xx_and_answers_match_the_schema(app: FastAPI, tokens: dict[str, str]) -> None:
    # Operations are walked here rather than with schemathesis' pytest plugin (which needs pytest internals
    # this pytest no longer has); each is one Hypothesis run over the operation's own strategy.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path_regex=ENDS_CREDENTIALS)
    checks = [schemathesis.checks.not_a_server_error, response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        _run(operation, {"Authorization": f"Bearer {tokens['admin' if '/admin' in operation.path else 'seller']}"},
             checks)


def _run(operation: Any, headers: dict[str, str], checks: list[Any]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    check()
