"""Admin API: sellers and invitations, plans, bots and their commands, statistics, errors, server load."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from wbsupply.api.deps import AdminUser, ContextDep, Csrf, DbId, SessionDep
from wbsupply.api.logic import admin, phone_guard, users
from wbsupply.api.routes.auth import user_public
from wbsupply.api.routes.outputs import BotActionOut, CreatedUserOut, InvitationOut, UserOut
from wbsupply.api.routes.schemas import InvitationIn, UserCreateIn, UserUpdateIn
from wbsupply.api.security import new_password

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Csrf])


@router.get("/users", response_model=list[UserOut])
def list_users(_: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    return [user_public(user) for user in users.list_users(session)]


@router.post("/users", status_code=201, response_model=CreatedUserOut)
def create_user(body: UserCreateIn, _: AdminUser, session: SessionDep) -> dict[str, Any]:
    password = body.password or new_password()
    user = users.create_user(session, body.email, password, role=body.role, plan_limit=body.plan_limit)
    shown = {} if body.password else {"password": password}  # a generated password is shown this once
    return {**user_public(user), **shown}


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: DbId, body: UserUpdateIn, admin_: AdminUser, session: SessionDep) -> dict[str, Any]:
    return user_public(users.update_user(session, admin_, user_id, plan_limit=body.plan_limit, active=body.active))


@router.post("/invitations", status_code=201, response_model=InvitationOut)
def invite(body: InvitationIn, admin_: AdminUser, session: SessionDep) -> dict[str, Any]:
    invitation, token = users.create_invitation(session, admin_, email=body.email, plan_limit=body.plan_limit,
                                                role=body.role)
    return {"id": invitation.id, "token": token, "path": f"/invite/{token}",
            "expires_at": invitation.expires_at.isoformat()}


@router.get("/bots", response_model=list[dict[str, Any]])
def bots(_: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    return admin.bots(session)


@router.post("/bots/{account_id}/{action}", response_model=BotActionOut)
def bot_action(account_id: DbId, action: str, admin_: AdminUser, session: SessionDep) -> dict[str, Any]:
    account = admin.bot_action(session, admin_, account_id, action)
    return {"id": account.id, "status": account.status.value, "status_label": account.status.label}


@router.post("/wb-accounts/{account_id}/approve-phone", response_model=BotActionOut)
def approve_phone(account_id: DbId, _: AdminUser, session: SessionDep) -> dict[str, Any]:
    """Vouch that the account's phone is its seller's (another seller has it connected too): codes may be sent."""
    account = phone_guard.approve(session, account_id)
    return {"id": account.id, "status": account.status.value, "status_label": account.status.label}


@router.get("/stats/bookings", response_model=dict[str, Any])
def booking_stats(_: AdminUser, session: SessionDep, days: int = Query(default=30, ge=1, le=365)) -> dict[str, Any]:
    return admin.booking_stats(session, days)


@router.get("/errors", response_model=list[dict[str, Any]])
def errors(_: AdminUser, session: SessionDep) -> list[dict[str, Any]]:
    return admin.errors(session)


@router.get("/load", response_model=dict[str, Any])
def load(_: AdminUser, context: ContextDep) -> dict[str, Any]:
    return admin.server_load(context.settings.data_dir)
