"""Notification settings and the Telegram link code of the caller."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from wbsupply.api.deps import Csrf, CurrentUser, SessionDep
from wbsupply.api.logic import notifications
from wbsupply.api.routes.outputs import LinkCodeOut, PrefsOut
from wbsupply.api.routes.schemas import PrefsIn

router = APIRouter(prefix="/notifications", tags=["notifications"], dependencies=[Csrf])


@router.get("", response_model=PrefsOut)
def get_prefs(user: CurrentUser) -> dict[str, Any]:
    return notifications.prefs_view(user)


@router.put("", response_model=PrefsOut)
def put_prefs(body: PrefsIn, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return notifications.prefs_view(notifications.update_prefs(session, user, body.channels, body.events))


@router.post("/telegram-code", status_code=201, response_model=LinkCodeOut)
def telegram_code(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    code = notifications.new_link_code(session, user)
    return {"code": code.code, "expires_at": code.expires_at.isoformat()}


@router.delete("/telegram", response_model=PrefsOut)
def unlink(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return notifications.prefs_view(notifications.unlink_telegram(session, user))
