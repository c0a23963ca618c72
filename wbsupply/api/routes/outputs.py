"""Response bodies of the JSON API, as the OpenAPI schema documents them.

The logic builds plain dicts; these models describe them. Each allows extra keys, so a field the logic adds
reaches clients before its model names it (nothing is silently dropped); views that only the cabinet's own
pages draw (calendar grid, statistics, admin tables) are documented as objects with their main keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(BaseModel):
    """Every error of the JSON API: a Russian message, and one line per problem when there are several."""

    detail: str
    errors: list[str] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in {401: "not signed in", 403: "not allowed", 404: "not found", 409: "conflict",
                         413: "body over 1 MiB", 422: "invalid request", 429: "too many requests"}.items()
}


class Ok(Out):
    ok: bool


class UserOut(Out):
    id: int
    email: str
    role: str
    active: bool
    plan_limit: int
    telegram_linked: bool
    created_at: str


class CreatedUserOut(UserOut):
    password: str | None = None  # a generated password, shown once


class AccessTokenOut(Out):
    access_token: str
    token_type: str


class ApiTokenOut(Out):
    id: int
    name: str
    created_at: str
    last_used_at: str | None
    expires_at: str | None


class ApiTokenListOut(Out):
    tokens: list[ApiTokenOut]
    max_tokens: int


class RevokedOut(Out):
    revoked: int


class WarehouseRef(Out):
    id: int
    name: str


class BookedOut(Out):
    warehouse_id: int | None
    warehouse_name: str | None
    date: str
    coefficient: int | None
    at: str | None


class TaskOut(Out):
    id: int
    account_id: int
    phase: str
    phase_label: str
    is_final: bool
    paused: bool
    message: str | None
    spec: dict[str, Any]
    warehouses: list[WarehouseRef]
    box_type_label: str | None
    mode_label: str
    booked: BookedOut | None
    deadline: str | None
    created_at: str


class AccountOut(Out):
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
    auth_pending: bool
    auth_request: str


class AccountListOut(Out):
    accounts: list[AccountOut]
    max_accounts: int
    ban_risk_warning: str


class InvitationOut(Out):
    id: int
    token: str
    path: str
    expires_at: str


class BotActionOut(Out):
    id: int
    status: str
    status_label: str


class UsageOut(Out):
    month: str
    plan: str | None
    plan_label: str
    limit: int
    used: int


class PrefsOut(Out):
    channels: dict[str, Any]
    events: dict[str, Any]


class LinkCodeOut(Out):
    code: str
    expires_at: str


class StatsOut(Out):
    days: int
    stats: list[dict[str, Any]]
    chances: list[str]


class HealthOut(Out):
    status: str
    version: str
    components: dict[str, str]
    database: str


class CabinetSuppliesOut(Out):
    """Drafts and preorders of a WB account's cabinet, each with the task holding it (if any); a preorder WB
    already planned has ``planned`` true with its ``supply_id`` and ``supply_date`` (a task with ``improve``
    takes it over and moves it to a better slot)."""

    account_id: int
    drafts: list[dict[str, Any]]
    preorders: list[dict[str, Any]]
    checked_at: str | None
