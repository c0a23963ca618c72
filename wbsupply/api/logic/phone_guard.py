"""Who may make WB send a login code to a phone, and how often.

Each code request (the phone step, or reconnecting) makes WB text the phone's owner, and WB blocks the login
of a phone for hours after a few codes. So:

- a phone that another seller has connected too needs proof before any code is requested: an admin checks
  that it is this seller's and approves the account (until then the account exists, but no code is sent);
- at most ``PER_PHONE`` code requests per phone and ``PER_SELLER`` per seller in ``WINDOW``, whoever asks.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, func, select

from wbsupply.api.errors import Conflict, NotFound, TooManyRequests
from wbsupply.store import User, WbAccount
from wbsupply.store.auth import AuthRequestKind, WbAuthRequest
from wbsupply.store.types import utcnow

WINDOW = timedelta(hours=1)
PER_PHONE = 3
PER_SELLER = 10
PROOF_NEEDED = (
    "Этот номер уже подключён у другого продавца, поэтому код Wildberries не запрошен. Если номер ваш, "
    "напишите администратору сервиса: после проверки он подтвердит аккаунт, и вы сможете войти."
)
_CODE_KINDS = (AuthRequestKind.PHONE, AuthRequestKind.RECONNECT)


def needs_proof(session: Session, account: WbAccount, phone: str) -> bool:
    if account.phone_approved_at is not None and account.phone == phone:
        return False
    other = session.exec(select(WbAccount.id).where(
        col(WbAccount.phone) == phone, col(WbAccount.owner_id) != account.owner_id)).first()
    return other is not None


def check_code_request(session: Session, user: User, account: WbAccount, phone: str) -> None:
    """Raise unless a code may be requested for ``phone`` through ``account`` now."""
    if needs_proof(session, account, phone):
        raise Conflict(PROOF_NEEDED)
    since = utcnow() - WINDOW
    recent = (select(func.count()).select_from(WbAuthRequest)
              .join(WbAccount, col(WbAccount.id) == col(WbAuthRequest.account_id))
              .where(col(WbAuthRequest.kind).in_(_CODE_KINDS), col(WbAuthRequest.created_at) > since))
    per_phone = session.exec(recent.where(col(WbAccount.phone) == phone)).one()
    per_seller = session.exec(recent.where(col(WbAccount.owner_id) == user.id)).one()
    if per_phone >= PER_PHONE or per_seller >= PER_SELLER:
        minutes = int(WINDOW.total_seconds() // 60)
        raise TooManyRequests(
            f"Код для входа в WB уже запрашивали несколько раз за последний час: Wildberries блокирует вход "
            f"после частых запросов. Попробуйте снова через {minutes} мин.", retry_after=int(WINDOW.total_seconds()))


def approve(session: Session, account_id: int) -> WbAccount:
    """An admin vouches that the account's phone belongs to its seller."""
    account = session.get(WbAccount, account_id)
    if account is None:
        raise NotFound("Аккаунт WB не найден")
    account.phone_approved_at = utcnow()
    account.last_error = None
    session.add(account)
    session.commit()
    return account
