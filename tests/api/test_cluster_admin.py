"""The cluster's first administrator: created by `wbsupply api` from the chart's Secret, once."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import Engine

from wbsupply.api.bootstrap import ensure_configured_admin
from wbsupply.api.logic import users
from wbsupply.config import Settings
from wbsupply.domain.statuses import Role
from wbsupply.store import session_factory


def test_admin_from_settings_is_created_once(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_email="boss@shop.example", admin_password=SecretStr("s3cret-pass"))
    assert ensure_configured_admin(engine, settings) is True
    with session_factory(engine)() as session:
        admin = users.authenticate(session, "boss@shop.example", "s3cret-pass", "127.0.0.1", secret="s")
        assert admin.role == Role.ADMIN
    # Restarts and other replicas find an administrator and leave everything as it is.
    other = Settings(data_dir=tmp_path, admin_email="other@shop.example", admin_password=SecretStr("another-pass"))
    assert ensure_configured_admin(engine, settings) is False
    assert ensure_configured_admin(engine, other) is False
    with session_factory(engine)() as session:
        assert users.count_users(session) == 1


def test_nothing_without_admin_settings(engine: Engine, tmp_path: Path) -> None:
    assert ensure_configured_admin(engine, Settings(data_dir=tmp_path, admin_email="a@b.c")) is False
    with session_factory(engine)() as session:
        assert users.count_users(session) == 0
