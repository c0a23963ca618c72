"""The WB login relay as the cabinet sees it: hand a step to the bot, read where the login stands.

A thin adapter over :mod:`wbsupply.control.local` (the bot's side lives in the worker) that turns its
errors into the API's. Callers check ownership of the account first.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from wbsupply.api.errors import Invalid, NotFound
from wbsupply.store import WbAccount
from wbsupply.store import auth_relay as local

NOT_FOUND = "Аккаунт WB не найден"


def normalize_phone(phone: str) -> str:
    normalized = local.normalize_phone(phone)
    if normalized is None:
        raise Invalid("Введите номер телефона в формате +7 и 10 цифр")
    return normalized


def submit(session: Session, account: WbAccount, kind: str, value: str | None) -> None:
    session.commit()  # the relay uses its own connection: give ours back first (one connection per request)
    try:
        local.submit_auth_step(session, account.id or 0, kind, value)
    except local.AuthInputError as exc:
        raise Invalid(str(exc)) from None
    except local.NotFoundError:
        raise NotFound(NOT_FOUND) from None


def set_api_token(session: Session, account: WbAccount, token: str | None, secret: str) -> None:
    session.commit()  # as in submit()
    try:
        local.set_api_token(session, account.id or 0, token, secret)
    except local.AuthInputError as exc:
        raise Invalid(str(exc)) from None
    except local.NotFoundError:
        raise NotFound(NOT_FOUND) from None


def state(session: Session, account: WbAccount) -> dict[str, Any]:
    session.commit()  # as in submit()
    try:
        status = local.auth_status(session, account.id or 0)
    except local.NotFoundError:
        raise NotFound(NOT_FOUND) from None
    last = status.last_request
    return {
        "auth_state": status.auth_state,
        "prompt": status.prompt,
        "message": last.message if last else None,
        "pending": last is not None and last.status in ("pending", "taken"),
        "request": f"{last.id}:{last.status}" if last else "",  # what the live page compares (logic.live)
    }
