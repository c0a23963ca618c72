"""Request dependencies: database session, the signed-in user, admin role, CSRF check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Path, Request
from sqlalchemy.pool import QueuePool
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from wbsupply.api.errors import Forbidden, Unauthorized
from wbsupply.api.logic import users
from wbsupply.api.security import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, SessionSigner, same_token
from wbsupply.domain.statuses import Role
from wbsupply.process import ProcessContext
from wbsupply.store import User
from wbsupply.store.types import MAX_ROW_ID

# A path id beyond the id columns' range is a 422, not an overflow or a database error (a 500).
DbId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FAILED = "Форма устарела или отправлена с другого сайта: обновите страницу и попробуйте снова"


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Opened and closed on the event loop, not in the thread pool: a sync generator would need a free thread
    # to give its connection back, and under load every thread may be waiting for a connection (deadlock).
    # Closing only returns the connection to the pool (a rollback), which takes microseconds.
    state = request.app.state
    session: Session = state.sessions() if request.method in SAFE_METHODS else state.writing_sessions()
    try:
        yield session
    finally:
        session.close()


# Closed when the handler returns, before FastAPI validates the response against its model (in the thread
# pool, for a sync handler): no connection is held while waiting for a thread (a deadlock under load).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """A session whose transactions begin deferred even for a POST: sign-in reads, verifies the password with
    no transaction open (argon2 takes a good fraction of a second) and writes only briefly afterwards."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    finally:
        session.close()


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

P = ParamSpec("P")
T = TypeVar("T")


def _can_run_inline(request: Request, session: Session) -> bool:
    """Whether a short read may run on the event loop instead of in the thread pool.

    SQLite is a library in this process: a read is a function call of a fraction of a millisecond, and in WAL
    mode readers never wait for the writer. Handing it to a thread costs more than the query (two thread
    switches and a fight for the GIL with the event loop) and is what the tail latency was made of. A server
    database (PostgreSQL) is a network round trip: that always goes to the thread pool. Inline only when a
    connection is at hand: waiting on the event loop for one that a thread holds could freeze every request.
    """
    if not request.app.state.inline_db or request.method not in SAFE_METHODS:
        # A changing request's session begins IMMEDIATE and may wait for another writer: never on the loop
        # that, in `wbsupply up`, also runs the bots and the monitor.
        return False
    if session.in_transaction():
        return True
    pool = request.app.state.engine.pool
    return not isinstance(pool, QueuePool) or pool.checkedin() > 0


async def run_db(request: Request, session: Session, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn`` (database reads through ``session``) on the event loop if cheap, else in the thread pool."""
    if _can_run_inline(request, session):
        result = fn(*args, **kwargs)
        session.commit()  # the connection goes back to the pool now, not after the response has been sent
        return result
    return await run_in_threadpool(fn, *args, **kwargs)


def get_context(request: Request) -> ProcessContext:
    context: ProcessContext = request.app.state.context
    return context


ContextDep = Annotated[ProcessContext, Depends(get_context)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def optional_user(request: Request, session: SessionDep) -> User | None:
    """The caller: by bearer token (API clients) or by the session cookie (browser)."""
    return await run_db(request, session, _user_of_request, request, session)


def _user_of_request(request: Request, session: Session) -> User | None:
    try:
        return _lookup_user(request, session)
    finally:
        # End the read transaction here: a connection held from this step to the handler's thread-pool hop
        # can deadlock under load (all threads waiting for connections that wait for a thread).
        session.commit()


def _lookup_user(request: Request, session: Session) -> User | None:
    token = _bearer(request)
    if token is not None:
        user = users.user_by_token(session, token)
        if user is None:
            raise Unauthorized("Неверный или отозванный токен")
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    signer: SessionSigner = request.app.state.signer
    loaded = signer.loads(cookie)
    if loaded is None:
        return None
    user = session.get(User, loaded[0])
    if (user is None or not user.active or signer.fingerprint(user.password_hash) != loaded[1]
            or user.session_version != loaded[2]):
        return None  # signed out, password changed or blocked since the cookie was set
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


async def current_user(user: OptionalUser) -> User:  # async: no thread-pool hop for a check
    if user is None:
        raise Unauthorized("Войдите в кабинет")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    if user.role is not Role.ADMIN:
        raise Forbidden("Раздел доступен только администратору")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


async def check_csrf(request: Request) -> None:
    """Double-submit CSRF check for state-changing requests made with the session cookie.

    Requests with a bearer token are exempt: browsers never attach one on their own.
    """
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not same_token(expected, sent):
        raise Forbidden(CSRF_FAILED)


Csrf = Depends(check_csrf)


def client_ip(request: Request) -> str:
    # The peer address; uvicorn replaces it from X-Forwarded-For only for the proxies listed in the
    # forwarded_allow_ips setting (off by default), so rotating that header gains an attacker nothing.
    return request.client.host if request.client else "unknown"
