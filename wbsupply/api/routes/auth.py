"""Sign-in (session cookie or bearer token), sign-out, sign-up by invitation, the caller's profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from wbsupply.api.deps import Csrf, CurrentUser, DbId, OptionalUser, ReadSessionDep, SessionDep, client_ip
from wbsupply.api.logic import users
from wbsupply.api.routes.outputs import AccessTokenOut, ApiTokenListOut, Ok, RevokedOut, UserOut
from wbsupply.api.routes.schemas import LoginIn, PasswordIn, SignupIn, TokenIn
from wbsupply.api.session_cookie import clear_session_cookie, set_session_cookie
from wbsupply.store import User
from wbsupply.store.accounts import ApiToken

router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me", tags=["auth"], dependencies=[Csrf])


def user_public(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "active": user.active,
        "plan_limit": user.plan_limit,
        "telegram_linked": user.telegram_chat_id is not None,
        "created_at": user.created_at.isoformat(),
    }


def token_public(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


# Login and token endpoints take credentials, so a forged cross-site request gains nothing: no CSRF check.
@router.post("/login", response_model=UserOut)
def login(body: LoginIn, request: Request, response: Response, session: ReadSessionDep) -> dict[str, Any]:
    user = users.authenticate(session, body.email, body.password, client_ip(request),
                              secret=request.app.state.secret_key)
    set_session_cookie(request, response, user)
    return user_public(user)


@router.post("/token", response_model=AccessTokenOut)
def token(body: TokenIn, request: Request, session: ReadSessionDep) -> dict[str, Any]:
    user = users.authenticate(session, body.email, body.password, client_ip(request),
                              secret=request.app.state.secret_key)
    # Issuing reads the live tokens, then writes one: in a session that holds SQLite's write lock from the start
    # (this request's session is deferred, for the password check; it could not become a writer in time).
    with request.app.state.writing_sessions() as writing:
        access = users.issue_token(writing, user, body.name)
    return {"access_token": access, "token_type": "bearer"}


@router.post("/logout", dependencies=[Csrf], response_model=Ok)
def logout(response: Response, user: OptionalUser, session: SessionDep) -> dict[str, Any]:
    if user is not None:
        users.end_sessions(session, user)  # the cookie stops working everywhere, not just in this browser
    clear_session_cookie(response)
    return {"ok": True}


@router.post("/signup", status_code=201, response_model=UserOut)
def signup(body: SignupIn, request: Request, response: Response, session: SessionDep) -> dict[str, Any]:
    user = users.accept_invitation(session, body.token, body.email, body.password)
    set_session_cookie(request, response, user)
    return user_public(user)


@me_router.get("", response_model=UserOut)
def me(user: CurrentUser) -> dict[str, Any]:
    return user_public(user)


@me_router.post("/password", response_model=Ok)
def change_password(body: PasswordIn, request: Request, response: Response, user: CurrentUser,
                    session: SessionDep) -> dict[str, Any]:
    users.change_password(session, user, body.old_password, body.new_password)
    set_session_cookie(request, response, user)  # other sessions and the API tokens end (session version)
    return {"ok": True}


@me_router.get("/tokens", response_model=ApiTokenListOut)
def list_tokens(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return {"tokens": [token_public(token) for token in users.list_tokens(session, user)],
            "max_tokens": users.MAX_TOKENS}


@me_router.delete("/tokens", response_model=RevokedOut)
def revoke_tokens(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return {"revoked": users.revoke_tokens(session, user)}


@me_router.delete("/tokens/{token_id}", response_model=RevokedOut)
def revoke_token(token_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    users.revoke_token(session, user, token_id)
    return {"revoked": 1}
