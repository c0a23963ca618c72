"""What the Telegram bot's commands do in the store (synchronous; the bot runs them in a thread).

Transactions begin immediate: they read before they write, which on SQLite fails instead of waiting when
the notifier writes at the same time (see ``wbsupply.store.begin_immediate``).

Every function takes the chat id and answers with a Russian reply; a chat that is not linked to a seller
gets :data:`replies.NOT_LINKED` and can do nothing but link itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Collection

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from wbsupply.api.errors import ApiError
from wbsupply.api.logic import tasks as task_commands
from wbsupply.domain.statuses import ACTIVE_PHASES, TaskPhase
from wbsupply.notify import replies, urgent
from wbsupply.notify.messages import URGENT_KINDS
from wbsupply.store import EventLog, SupplyTask, User, WbAccount, begin_immediate, session_scope
from wbsupply.store.accounts import TelegramLinkCode
from wbsupply.store.auth import AuthState
from wbsupply.store.auth_relay import AuthInputError, NotFoundError, submit_auth_step
from wbsupply.store.quota import month_key, usage

CODE_PATTERN = re.compile(r"^\s*(\d{4,6})\s*$")


def _user(session: Session, chat_id: int) -> User | None:
    return session.exec(select(User).where(User.telegram_chat_id == chat_id, col(User.active))).first()


def link_chat(engine: Engine, code: str, chat_id: int, now: dt.datetime) -> str:
    """``/start CODE``: bind this chat to the seller who got the code; the code works once, until it expires."""
    with session_scope(begin_immediate(engine)) as session:
        link = session.exec(select(TelegramLinkCode).where(
            TelegramLinkCode.code == code.strip().upper(), col(TelegramLinkCode.used_at).is_(None))).first()
        if link is None or link.expires_at <= now:
            return replies.LINK_FAILED
        user = session.get(User, link.user_id)
        if user is None or not user.active:
            return replies.LINK_FAILED
        for other in session.exec(select(User).where(User.telegram_chat_id == chat_id, User.id != user.id)):
            other.telegram_chat_id = None  # one chat, one seller: the newest link wins
        link.used_at = now
        user.telegram_chat_id = chat_id
        session.add(EventLog(source="notifier", user_id=user.id, message="telegram chat linked"))
        return replies.linked(user.email)


def unlink_blocked_chat(session: Session, user_id: int, chat_id: int) -> bool:
    """Telegram said the seller blocked the bot: forget the chat (only if it is still this one)."""
    user = session.get(User, user_id)
    if user is None or user.telegram_chat_id != chat_id:
        return False
    user.telegram_chat_id = None
    session.add(EventLog(level="WARNING", source="notifier", user_id=user_id,
                         message="telegram chat unlinked: the seller blocked the bot"))
    return True


def _accounts(session: Session, user: User) -> list[replies.AccountLine]:
    rows = session.exec(select(WbAccount).where(WbAccount.owner_id == user.id).order_by(col(WbAccount.id))).all()
    return [replies.AccountLine(a.id or 0, a.phone, a.label, a.status) for a in rows]


def _tasks(session: Session, user: User, phases: Collection[TaskPhase]) -> list[SupplyTask]:
    return list(session.exec(select(SupplyTask).where(
        SupplyTask.owner_id == user.id, col(SupplyTask.phase).in_(sorted(phases))).order_by(col(SupplyTask.id))))


def status(engine: Engine, chat_id: int) -> str:
    with session_scope(engine) as session:  # read-only
        user = _user(session, chat_id)
        if user is None:
            return replies.NOT_LINKED
        phases = Counter(task.phase for task in _tasks(session, user, ACTIVE_PHASES))
        used = usage(session, user.id or 0, month_key()).total
        return replies.status(_accounts(session, user), dict(phases), used, user.plan_limit)


def tasks(engine: Engine, chat_id: int) -> str:
    with session_scope(engine) as session:  # read-only
        user = _user(session, chat_id)
        if user is None:
            return replies.NOT_LINKED
        return replies.tasks([
            replies.TaskLine(t.id or 0, t.phase, (t.spec or {}).get("box_type"),
                             len((t.spec or {}).get("warehouses") or []), t.message)
            for t in _tasks(session, user, ACTIVE_PHASES)
        ])


def _command(engine: Engine, chat_id: int, task_id: int | None, wanted: Callable[[SupplyTask], bool],
             command: Callable[[Session, User, int], SupplyTask]) -> list[int] | None:
    """Run one command of the task-command service (the cabinet's and the API's) on the chat's tasks:
    on ``task_id``, or on every task ``wanted`` picks; a task the command refuses is left as it is."""
    # The service commits each change and writes its SupplyTask; each of its transactions reads then writes,
    # so on SQLite it takes the write lock when it begins (a deferred one fails with "database is locked").
    with Session(begin_immediate(engine)) as session:
        user = _user(session, chat_id)
        if user is None:
            return None
        moved = []
        for task in _tasks(session, user, ACTIVE_PHASES):
            if (task_id is not None and task.id != task_id) or not wanted(task):
                continue
            try:
                command(session, user, task.id or 0)
            except ApiError:  # e.g. being booked right now: the reply lists what was done
                session.rollback()
                continue
            moved.append(task.id or 0)
        if moved:
            session.add(EventLog(source="notifier", user_id=user.id, message=f"tasks {command.__name__} from Telegram",
                                 payload={"task_ids": moved}))
            session.commit()
        return moved


def pause(engine: Engine, chat_id: int, task_id: int | None = None) -> str:
    moved = _command(engine, chat_id, task_id, lambda task: not task.paused and task.phase is not TaskPhase.BOOKING,
                     task_commands.pause_task)
    return replies.NOT_LINKED if moved is None else replies.paused(moved)


def resume(engine: Engine, chat_id: int, task_id: int | None = None) -> str:
    # a bare /resume restarts what the seller paused, not tasks waiting for WB login
    moved = _command(engine, chat_id, task_id, lambda task: task.paused, task_commands.resume_task)
    return replies.NOT_LINKED if moved is None else replies.resumed(moved)


def relay_code(engine: Engine, chat_id: int, code: str, account_id: int | None, now: dt.datetime) -> str:
    """A code the seller got from WB, sent to us in Telegram: hand it to the account's login relay."""
    with session_scope(begin_immediate(engine)) as session:
        user = _user(session, chat_id)
        if user is None:
            return replies.NOT_LINKED
        accounts = _accounts(session, user)
        waiting = {a.id for a in session.exec(select(WbAccount).where(
            WbAccount.owner_id == user.id, WbAccount.auth_state == AuthState.CODE_SENT.value)).all()}
        candidates = [a for a in accounts if a.id in waiting and account_id in (None, a.id)]
        if not candidates:
            return replies.NO_CODE_EXPECTED
        if len(candidates) > 1:
            return replies.code_ambiguous(candidates)
        urgent.acknowledge_kind(session, user.id or 0, URGENT_KINDS, now)
    try:
        submit_auth_step(engine, candidates[0].id, "code", code)
    except AuthInputError as exc:
        return str(exc)
    return replies.code_submitted(candidates[0])


def reconnect(engine: Engine, chat_id: int, account_id: int) -> str:
    """The «Подключить заново» button: start a fresh WB login with the account's phone."""
    with session_scope(begin_immediate(engine)) as session:
        user = _user(session, chat_id)
        account = session.get(WbAccount, account_id)
        if user is None or account is None or account.owner_id != user.id:
            return replies.NOT_LINKED if user is None else replies.ACK_UNKNOWN
    try:
        submit_auth_step(engine, account_id, "reconnect")
    except (AuthInputError, NotFoundError):
        return replies.ACK_UNKNOWN
    return replies.RECONNECT_STARTED


def acknowledge(engine: Engine, chat_id: int, root_id: int, now: dt.datetime) -> str:
    with session_scope(begin_immediate(engine)) as session:
        user = _user(session, chat_id)
        if user is None or not urgent.acknowledge(session, root_id, user.id or 0, now):
            return replies.ACK_UNKNOWN
        return replies.ACKNOWLEDGED
