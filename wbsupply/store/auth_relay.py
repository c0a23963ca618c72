"""The web cabinet's side of the WB login relay (see :mod:`wbsupply.store.auth` for the tables).

``submit_auth_step(bind, account_id, kind, value)`` queues a step for the account's bot,
``auth_status(bind, account_id)`` tells the cabinet which form to show and how the last step went,
``set_api_token(bind, account_id, token, secret)`` stores the seller's WB API token (encrypted) with which
the bot confirms bookings through WB's public supplies API.
Both are synchronous, short transactions; ``bind`` is an Engine or a Session. Values are never logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from wbsupply.store.auth import AuthRequestKind, AuthRequestStatus, AuthState, WbAuthRequest
from wbsupply.store.engine import begin_immediate, session_scope
from wbsupply.store.models import WbAccount


class NotFoundError(LookupError):
    pass


def _engine_of(bind: Engine | Session) -> Engine:
    if isinstance(bind, Engine):
        return bind
    resolved = bind.get_bind()
    return resolved if isinstance(resolved, Engine) else resolved.engine


class AuthInputError(ValueError):
    """The seller's input cannot be sent to WB; ``str(error)`` is a Russian message for the form."""


@dataclass(frozen=True)
class AuthRequestView:
    id: int
    kind: str
    status: str  # pending | taken | done | failed
    message: str | None  # Russian, for the seller


@dataclass(frozen=True)
class AuthStatusView:
    account_id: int
    bot_status: str  # BotStatus value (label: BotStatus(...).label)
    auth_state: str  # AuthState value: which form the cabinet shows next
    prompt: dict[str, Any]  # {"captcha": text} | {"suppliers": [{"id", "name"}]} | {"hours": N} | {}
    last_error: str | None
    last_request: AuthRequestView | None  # the newest request and how it went


_PHONE_DIGITS = re.compile(r"^\+7\d{10}$")
_CODE = re.compile(r"^\d{4,6}$")


def normalize_phone(raw: str) -> str | None:
    """``+7 (916) 123-45-67``, ``8 916 …``, ``916…`` → ``+79161234567``; None if it is not a Russian mobile."""
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) == 10:
        digits = "7" + digits
    elif len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    phone = "+" + digits
    return phone if _PHONE_DIGITS.match(phone) else None


def _clean_value(kind: AuthRequestKind, value: str | None) -> str | None:
    raw = (value or "").strip()
    if kind is AuthRequestKind.PHONE:
        phone = normalize_phone(raw)
        if phone is None:
            raise AuthInputError("Введите номер телефона в формате +7 и 10 цифр")
        return phone
    if kind is AuthRequestKind.CODE:
        if not _CODE.match(raw):
            raise AuthInputError("Введите код из СМС: только цифры")
        return raw
    if kind is AuthRequestKind.CAPTCHA:
        if not raw:
            raise AuthInputError("Введите символы с картинки")
        return raw
    if kind is AuthRequestKind.SUPPLIER:
        if not raw.isdigit():
            raise AuthInputError("Выберите организацию из списка")
        return raw
    return None  # reconnect carries no value


def submit_auth_step(bind: Engine | Session, account_id: int, kind: str, value: str | None = None) -> AuthRequestView:
    """Queue one login step for the account's bot; returns the request (poll ``auth_status`` for the outcome).

    A new phone or reconnect request supersedes the account's older pending ones. Raises ``AuthInputError``
    (Russian message) for input WB would refuse anyway, ``NotFoundError`` for an unknown account.
    """
    try:
        step = AuthRequestKind(kind)
    except ValueError:
        raise AuthInputError("Неизвестный шаг входа") from None
    cleaned = _clean_value(step, value)
    engine = _engine_of(bind)
    with session_scope(begin_immediate(engine)) as session:
        account = session.get(WbAccount, account_id)
        if account is None:
            raise NotFoundError(f"WB account {account_id} does not exist")
        if step in (AuthRequestKind.PHONE, AuthRequestKind.RECONNECT):
            stale = session.exec(select(WbAuthRequest).where(
                WbAuthRequest.account_id == account_id, WbAuthRequest.status == AuthRequestStatus.PENDING)).all()
            for old in stale:
                old.status, old.value, old.message = AuthRequestStatus.FAILED, None, "Заменён новым запросом"
            if step is AuthRequestKind.PHONE and cleaned:
                account.phone = cleaned
        request = WbAuthRequest(account_id=account_id, kind=step, value=cleaned,
                                message=_WAITING_FOR_BOT.get(step))
        session.add(request)
        session.flush()
        assert request.id is not None
        return AuthRequestView(request.id, step.value, request.status.value, request.message)


_WAITING_FOR_BOT = {
    AuthRequestKind.PHONE: "Запрашиваем код у Wildberries…",
    AuthRequestKind.CODE: "Проверяем код…",
    AuthRequestKind.CAPTCHA: "Отправляем символы с картинки…",
    AuthRequestKind.SUPPLIER: "Выбираем организацию…",
    AuthRequestKind.RECONNECT: "Подключаем аккаунт заново…",
}


def auth_status(bind: Engine | Session, account_id: int) -> AuthStatusView:
    """Where the account's WB login stands, for the cabinet's «Подключение WB» page."""
    engine = _engine_of(bind)
    with session_scope(engine) as session:
        account = session.get(WbAccount, account_id)
        if account is None:
            raise NotFoundError(f"WB account {account_id} does not exist")
        last = session.exec(select(WbAuthRequest).where(WbAuthRequest.account_id == account_id)
                            .order_by(col(WbAuthRequest.id).desc()).limit(1)).first()
        view = None if last is None or last.id is None else AuthRequestView(
            last.id, last.kind.value, last.status.value, last.message)
        return AuthStatusView(account_id, account.status.value, AuthState(account.auth_state).value,
                              dict(account.auth_prompt or {}), account.last_error, view)


def set_api_token(bind: Engine | Session, account_id: int, token: str | None, secret: str) -> None:
    """Store (or with None/blank, forget) the account's WB API token, encrypted with the service secret."""
    from wbsupply.crypto import api_token_box

    cleaned = (token or "").strip()
    if cleaned and (len(cleaned) < 20 or any(ch.isspace() for ch in cleaned)):
        raise AuthInputError("Токен WB API выглядит неполным: скопируйте его из кабинета WB целиком")
    with session_scope(begin_immediate(_engine_of(bind))) as session:
        account = session.get(WbAccount, account_id)
        if account is None:
            raise NotFoundError(f"WB account {account_id} does not exist")
        account.api_token_blob = api_token_box(secret).encrypt(cleaned.encode()) if cleaned else None
