"""Users: authentication, sellers created by the admin, invitations, API tokens, plans."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from wbsupply.api import security
from wbsupply.api.errors import Conflict, Invalid, NotFound, Unauthorized
from wbsupply.api.logic import ratelimit
from wbsupply.domain.statuses import Role
from wbsupply.domain.tariffs import PLAN_LIMITS, Plan
from wbsupply.store import User
from wbsupply.store.accounts import ApiToken, Invitation
from wbsupply.store.types import utcnow

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
INVITATION_TTL = timedelta(days=7)
BAD_LOGIN = "Неверный e-mail или пароль"
TOKEN_DAYS = 90  # API tokens expire; a client asks for a new one with its credentials
MAX_TOKENS = 20  # live tokens per user


def normalize_email(email: str) -> str:
    value = (email or "").strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 320:
        raise Invalid("Введите корректный e-mail")
    return value


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"Пароль должен быть не короче {MIN_PASSWORD} символов")
    if len(password) > 256:
        raise Invalid("Пароль слишком длинный")


def check_plan_limit(plan_limit: int) -> int:
    if plan_limit not in PLAN_LIMITS:
        allowed = ", ".join(str(n) for n in PLAN_LIMITS)
        raise Invalid(f"Тариф задаётся числом бронирований в месяц: {allowed}")
    return plan_limit


def plan_of(user: User) -> Plan | None:
    try:
        return Plan.for_bookings(user.plan_limit)
    except ValueError:
        return None


def authenticate(session: Session, email: str, password: str, client_ip: str, *, secret: str) -> User:
    """The active user with these credentials; 401 otherwise, 429 while the limiter says wait.

    ``session`` must not hold SQLite's write lock (a deferred session, see ``deps.ReadSessionDep``): the
    password is verified with no transaction open, and failures are recorded in a short one afterwards, so
    a flood of logins never keeps other writers (bots, the notifier) waiting on argon2.
    """
    keys = ratelimit.login_keys(client_ip, email or "", password or "", secret)
    ratelimit.check_allowed(session, keys)
    wanted = (email or "").strip().lower()
    # No e-mail holds a NUL byte, and PostgreSQL refuses one in a query: such a login is simply unknown.
    user = None if "\x00" in wanted else session.exec(select(User).where(col(User.email) == wanted)).first()
    session.commit()  # end the read transaction before the slow part
    ok = security.verify_password(user.password_hash if user else None, password or "")
    if user is None or not ok or not user.active:
        ratelimit.record_failure(session, keys)
        raise Unauthorized(BAD_LOGIN)
    ratelimit.clear(session, keys)
    if security.needs_rehash(user.password_hash):
        new_hash = security.hash_password(password)
        session.exec(update(User).where(col(User.id) == user.id).values(password_hash=new_hash))
        session.commit()
        session.refresh(user)
    return user


def create_user(
    session: Session, email: str, password: str, *, role: Role = Role.SELLER, plan_limit: int = 5,
    password_hash: str | None = None,
) -> User:
    """``password_hash``: the password already hashed by a caller that holds a transaction (argon2 is slow)."""
    email = normalize_email(email)
    check_password_rules(password)
    check_plan_limit(plan_limit)
    password_hash = password_hash or security.hash_password(password)
    if session.exec(select(User.id).where(col(User.email) == email)).first() is not None:
        raise Conflict("Пользователь с таким e-mail уже есть")
    user = User(email=email, role=role, plan_limit=plan_limit, password_hash=password_hash)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # a concurrent sign-up with the same e-mail won
        session.rollback()
        raise Conflict("Пользователь с таким e-mail уже есть") from None
    return user


def change_password(session: Session, user: User, old: str, new: str) -> None:
    """A new password ends every other session and revokes the API tokens (they may be what leaked)."""
    session.commit()  # no transaction open while argon2 runs
    if not security.verify_password(user.password_hash, old):
        raise Invalid("Текущий пароль указан неверно")
    check_password_rules(new)
    new_hash = security.hash_password(new)
    user.password_hash = new_hash
    user.session_version += 1
    session.add(user)
    session.exec(delete(ApiToken).where(col(ApiToken.user_id) == user.id))
    session.commit()


def end_sessions(session: Session, user: User) -> None:
    """Sign out everywhere: every session cookie of the user stops working (API tokens are kept)."""
    session.exec(update(User).where(col(User.id) == user.id).values(session_version=User.session_version + 1))
    session.commit()
    session.refresh(user)


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.id))))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Пользователь не найден")
    return user


def update_user(
    session: Session, admin: User, user_id: int, *, plan_limit: int | None = None, active: bool | None = None
) -> User:
    user = get_user(session, user_id)
    if plan_limit is not None:
        user.plan_limit = check_plan_limit(plan_limit)
    if active is not None:
        if user.id == admin.id and not active:
            raise Invalid("Нельзя заблокировать самого себя")
        user.active = active
    session.add(user)
    session.commit()
    if plan_limit is not None or active is not None:
        from wbsupply.api.logic import control  # control imports plan_of from here

        control.publish_seller(session, user)  # every SellerBot: its tariff, paused while blocked
    return user


def count_users(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(User)).one())


def count_admins(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(User).where(col(User.role) == Role.ADMIN)).one())


# --- invitations ----------------------------------------------------------------------------------------


def create_invitation(
    session: Session, admin: User, *, email: str | None = None, plan_limit: int = 5, role: Role = Role.SELLER
) -> tuple[Invitation, str]:
    """A one-time sign-up link; the token is returned once and stored hashed."""
    token = secrets.token_urlsafe(24)
    invitation = Invitation(
        token_hash=security.sha256(token),
        email=normalize_email(email) if email else None,
        plan_limit=check_plan_limit(plan_limit),
        role=role,
        created_by_id=admin.id,
        expires_at=utcnow() + INVITATION_TTL,
    )
    session.add(invitation)
    session.commit()
    return invitation, token


def find_invitation(session: Session, token: str, now: datetime | None = None) -> Invitation:
    now = now or utcnow()
    invitation = session.exec(
        select(Invitation).where(col(Invitation.token_hash) == security.sha256(token or ""))
    ).first()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise NotFound("Приглашение не найдено, уже использовано или истекло")
    return invitation


def accept_invitation(session: Session, token: str, email: str, password: str) -> User:
    check_password_rules(password)
    password_hash = security.hash_password(password)  # before the transaction: argon2 is slow
    invitation = find_invitation(session, token)
    email = normalize_email(email)
    if invitation.email and invitation.email != email:
        raise Invalid("Это приглашение выписано на другой e-mail")
    # Claim the link with a conditional update in the same transaction as the new user: two sign-ups
    # racing on one link cannot both win, and a failed sign-up leaves the link usable.
    claimed = session.exec(
        update(Invitation)
        .where(col(Invitation.id) == invitation.id, col(Invitation.used_at).is_(None))
        .values(used_at=utcnow())
    )
    if claimed.rowcount != 1:
        session.rollback()
        raise NotFound("Приглашение не найдено, уже использовано или истекло")
    try:
        user = create_user(session, email, password, role=invitation.role, plan_limit=invitation.plan_limit,
                           password_hash=password_hash)
    except Exception:
        session.rollback()
        raise
    session.exec(
        update(Invitation).where(col(Invitation.id) == invitation.id).values(used_by_id=user.id)
    )
    session.commit()
    return user


def list_invitations(session: Session) -> list[Invitation]:
    return list(session.exec(select(Invitation).order_by(col(Invitation.id).desc()).limit(100)))


# --- API tokens -----------------------------------------------------------------------------------------


def issue_token(session: Session, user: User, name: str = "", days: int = TOKEN_DAYS) -> str:
    """A new bearer token, valid for ``days``; the token is returned once and stored hashed."""
    now = utcnow()
    live = session.exec(select(func.count()).select_from(ApiToken).where(
        col(ApiToken.user_id) == user.id, _unexpired(now))).one()
    if live >= MAX_TOKENS:
        raise Conflict(f"Не больше {MAX_TOKENS} действующих токенов: отзовите ненужные на странице «Токены API»")
    token = security.new_api_token()
    session.add(ApiToken(user_id=user.id or 0, name=name[:100], token_hash=security.sha256(token),
                         expires_at=now + timedelta(days=max(1, min(days, TOKEN_DAYS)))))
    session.commit()
    return token


def _unexpired(now: datetime) -> Any:
    return sa.or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now)


def user_by_token(session: Session, token: str) -> User | None:
    row = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(col(ApiToken.token_hash) == security.sha256(token), _unexpired(utcnow()))
    ).first()
    if row is None:
        return None
    _, user = row
    return user if user.active else None


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(col(ApiToken.user_id) == user.id)
                             .order_by(col(ApiToken.id).desc())))


def revoke_token(session: Session, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("Токен не найден")
    session.delete(token)
    session.commit()


def revoke_tokens(session: Session, user: User) -> int:
    result = session.exec(delete(ApiToken).where(col(ApiToken.user_id) == user.id))
    session.commit()
    return int(result.rowcount or 0)
