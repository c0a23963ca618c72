"""WB accounts of a seller (one SellerBot each): connect, status, disconnect. Always scoped to the owner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from wbsupply.api.errors import Conflict, Invalid, NotFound
from wbsupply.api.logic import control, phone_guard, relay
from wbsupply.domain.statuses import BotStatus, TaskPhase
from wbsupply.store import SupplyTask, User, WbAccount

NOT_FOUND = "Аккаунт WB не найден"
BAN_RISK_WARNING = (
    "Несколько аккаунтов WB в одном сервисе — повышенный риск: Wildberries может посчитать частые входы и "
    "бронирования с одного адреса подозрительными и временно заблокировать вход или кабинет. Подключайте "
    "только свои аккаунты и не больше, чем нужно."
)
AUTH_LABELS = {
    "idle": "не начат",
    "need_phone": "нужен телефон",
    "code_sent": "ждём код из SMS",
    "need_captcha": "WB просит капчу",
    "need_supplier": "выберите организацию",
    "authorized": "выполнен",
    "blocked": "заблокирован WB",
}
# Several accounts (bots) are a premium feature: from the «Бизнес» plan (50 bookings a month) up.
MULTI_ACCOUNT_MIN_PLAN = 50
MAX_ACCOUNTS_PREMIUM = 10


def max_accounts(user: User) -> int:
    return MAX_ACCOUNTS_PREMIUM if user.plan_limit >= MULTI_ACCOUNT_MIN_PLAN else 1


def list_accounts(session: Session, user: User) -> list[WbAccount]:
    return list(session.exec(select(WbAccount).where(col(WbAccount.owner_id) == user.id).order_by(col(WbAccount.id))))


def get_account(session: Session, user: User, account_id: int) -> WbAccount:
    """The caller's account; someone else's is "not found", exactly like a missing one."""
    account = session.get(WbAccount, account_id)
    if account is None or account.owner_id != user.id:
        raise NotFound(NOT_FOUND)
    return account


def add_account(session: Session, user: User, phone: str, label: str = "", accept_risk: bool = False) -> WbAccount:
    """A new bot for a WB account; the login starts at once with the phone (the code goes to the seller)."""
    phone = relay.normalize_phone(phone)
    existing = list_accounts(session, user)
    if any(account.phone == phone for account in existing):
        raise Conflict("Этот номер уже подключён: откройте его карточку, чтобы войти заново")
    if len(existing) >= max_accounts(user):
        if max_accounts(user) == 1:
            raise Conflict("Несколько аккаунтов WB доступны на тарифе «Бизнес» и выше")
        raise Conflict(f"Можно подключить не больше {max_accounts(user)} аккаунтов WB")
    if existing and not accept_risk:
        raise Invalid("Подтвердите, что понимаете риск блокировки: " + BAN_RISK_WARNING)
    account = WbAccount(owner_id=user.id or 0, phone=phone, label=(label or "").strip()[:100])
    proof_needed = phone_guard.needs_proof(session, account, phone)
    if proof_needed:
        account.last_error = phone_guard.PROOF_NEEDED  # the account waits for an admin; no code is sent
    else:
        phone_guard.check_code_request(session, user, account, phone)
    session.add(account)
    session.commit()
    control.publish_bot(session, account)  # the cluster's SellerBot (its worker pod); first, so a refusal undoes all
    if not proof_needed:
        relay.submit(session, account, "phone", phone)
    return account


def submit_step(session: Session, user: User, account_id: int, kind: str, value: str | None) -> dict[str, Any]:
    account = get_account(session, user, account_id)
    if kind in ("phone", "reconnect"):  # these make WB send a code
        phone = relay.normalize_phone(value or "") if kind == "phone" else account.phone
        phone_guard.check_code_request(session, user, account, phone)
    relay.submit(session, account, kind, value)
    session.expire(account)  # the relay wrote in its own transaction (e.g. a new phone)
    if account.status is BotStatus.STOPPED:
        before = control.snapshot(account, control.BOT_FIELDS)
        account.status = BotStatus.INITIALIZING  # connecting again starts the bot again
        session.add(account)
        session.commit()
        control.publish_bot(session, account, before)
    return status(session, user, account_id)


def set_api_token(session: Session, user: User, account_id: int, token: str | None, secret: str) -> dict[str, Any]:
    """The seller's WB API token (supplies, read-only): the bot confirms each booking through WB's API with it."""
    relay.set_api_token(session, get_account(session, user, account_id), token, secret)
    return status(session, user, account_id)


def disconnect(session: Session, user: User, account_id: int) -> WbAccount:
    """Stop the bot and forget the WB session; the seller's active tasks wait until it is connected again."""
    account = get_account(session, user, account_id)
    # In the cluster the SellerBot is paused first (its pod goes away): if Kubernetes refuses, nothing changed.
    control.pause_bot(session, account)
    account.status = BotStatus.STOPPED
    account.session_blob = None
    account.session_saved_at = None
    account.auth_state = "idle"
    account.auth_prompt = {}
    session.add(account)
    tasks = session.exec(
        select(SupplyTask).where(
            col(SupplyTask.account_id) == account.id,
            col(SupplyTask.phase).in_([TaskPhase.WATCHING, TaskPhase.QUOTA_EXCEEDED]),
        )
    )
    for task in tasks:
        task.phase = TaskPhase.PENDING
        task.message = "Аккаунт WB отключён: задача ждёт повторного подключения"
        session.add(task)
    session.commit()
    return account


@dataclass(frozen=True)
class AccountView:
    id: int
    phone: str
    label: str
    status: str
    status_label: str
    auth_state: str
    auth_label: str
    auth_prompt: dict[str, Any]
    auth_message: str | None
    last_error: str | None
    last_heartbeat_at: str | None
    has_api_token: bool
    auth_pending: bool = False  # the bot has not answered the seller's last step yet
    auth_request: str = ""  # "<id>:<status>" of the last step: the page redraws when it changes

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def view(session: Session, account: WbAccount, *, with_message: bool = True) -> AccountView:
    """The account as the cabinet shows it; ``with_message`` adds the bot's last answer (one more query)."""
    if with_message:
        state = relay.state(session, account)
    else:
        state = {"auth_state": account.auth_state, "prompt": dict(account.auth_prompt or {}), "message": None,
                 "pending": False, "request": ""}
    return AccountView(
        id=account.id or 0,
        phone=account.phone,
        label=account.label,
        status=account.status.value,
        status_label=account.status.label,
        auth_state=state["auth_state"],
        auth_label=AUTH_LABELS.get(state["auth_state"], state["auth_state"]),
        auth_prompt=state["prompt"],
        auth_message=state["message"],
        last_error=account.last_error,
        last_heartbeat_at=account.last_heartbeat_at.isoformat() if account.last_heartbeat_at else None,
        has_api_token=account.api_token_blob is not None,
        auth_pending=bool(state["pending"]),
        auth_request=str(state["request"]),
    )


def status(session: Session, user: User, account_id: int) -> dict[str, Any]:
    return view(session, get_account(session, user, account_id)).as_dict()



def cabinet_supplies(session: Session, user: User, account_id: int) -> dict[str, Any]:
    """The seller's drafts and preorders (unplanned, or planned and movable) as the bot last read them in the cabinet,
    each with the task that already holds it (``claimed_by``: such a pick would be refused)."""
    from wbsupply.domain.booking import claim_key_of
    from wbsupply.store.claims import claimed_by

    account = get_account(session, user, account_id)
    listing = account.cabinet_supplies or {}
    claims = claimed_by(session, account.id or 0)  # a racing task's draft in this account too
    drafts = [{**d, "claimed_by": claims.get(claim_key_of("draft", str(d.get("id"))))}
              for d in listing.get("drafts") or []]
    preorders = [{**p, "claimed_by": claims.get(claim_key_of("preorder", str(p.get("id"))))}
                 for p in listing.get("preorders") or []]
    return {"account_id": account.id, "drafts": drafts, "preorders": preorders,
            "checked_at": account.cabinet_supplies_at.isoformat() if account.cabinet_supplies_at else None}
