"""WB accounts of the caller: connect (phone → code relay to the bot), status, disconnect."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from wbsupply.api.deps import Csrf, CurrentUser, DbId, SessionDep
from wbsupply.api.logic import wb
from wbsupply.api.routes.outputs import AccountListOut, AccountOut, CabinetSuppliesOut
from wbsupply.api.routes.schemas import ApiTokenIn, AuthStepIn, WbAccountIn

router = APIRouter(prefix="/wb-accounts", tags=["wb accounts"], dependencies=[Csrf])


@router.get("", response_model=AccountListOut)
def list_accounts(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    accounts = [wb.view(session, account).as_dict() for account in wb.list_accounts(session, user)]
    return {"accounts": accounts, "max_accounts": wb.max_accounts(user), "ban_risk_warning": wb.BAN_RISK_WARNING}


@router.post("", status_code=201, response_model=AccountOut)
def connect(body: WbAccountIn, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    account = wb.add_account(session, user, body.phone, body.label, body.accept_risk)
    return wb.view(session, account).as_dict()


@router.get("/{account_id}", response_model=AccountOut)
def get_account(account_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return wb.status(session, user, account_id)


@router.get("/{account_id}/supplies", response_model=CabinetSuppliesOut)
def cabinet_supplies(account_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Drafts and preorders (planned ones marked) in the seller's WB cabinet, as the bot last read them."""
    return wb.cabinet_supplies(session, user, account_id)


@router.post("/{account_id}/auth", response_model=AccountOut)
def auth_step(account_id: DbId, body: AuthStepIn, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return wb.submit_step(session, user, account_id, body.kind, body.value)


@router.put("/{account_id}/api-token", response_model=AccountOut)
def api_token(account_id: DbId, body: ApiTokenIn, request: Request, user: CurrentUser, session: SessionDep
              ) -> dict[str, Any]:
    return wb.set_api_token(session, user, account_id, body.token, request.app.state.secret_key)


@router.post("/{account_id}/disconnect", response_model=AccountOut)
def disconnect(account_id: DbId, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return wb.view(session, wb.disconnect(session, user, account_id)).as_dict()
