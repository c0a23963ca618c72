"""Request bodies of the JSON API. Every limit a field has is here, so the OpenAPI schema documents it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from wbsupply.domain import tasks as domain
from wbsupply.domain.statuses import BoxType, Role, TaskMode
from wbsupply.store.types import MAX_ROW_ID


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    email: str = Field(max_length=320)
    password: str = Field(max_length=256)


class TokenIn(LoginIn):
    name: str = Field(default="", max_length=100)


class SignupIn(Strict):
    token: str = Field(max_length=200)
    email: str = Field(max_length=320)
    password: str = Field(max_length=256)


class PasswordIn(Strict):
    old_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class WbAccountIn(Strict):
    phone: str = Field(max_length=32)
    label: str = Field(default="", max_length=100)
    accept_risk: bool = False


class AuthStepIn(Strict):
    kind: Literal["phone", "code", "captcha", "supplier", "reconnect"]
    value: str | None = Field(default=None, max_length=64)


class ApiTokenIn(Strict):
    token: str | None = Field(default=None, max_length=2000)  # empty: forget the token


class UserCreateIn(Strict):
    email: str = Field(max_length=320)
    password: str | None = Field(default=None, max_length=256)  # generated and returned once if omitted
    role: Role = Role.SELLER
    plan_limit: int = 5


class UserUpdateIn(Strict):
    plan_limit: int | None = None
    active: bool | None = None


class InvitationIn(Strict):
    email: str | None = Field(default=None, max_length=320)
    plan_limit: int = 5
    role: Role = Role.SELLER


class PrefsIn(Strict):
    channels: dict[str, bool] = Field(default_factory=dict)
    events: dict[str, bool] = Field(default_factory=dict)


# Lower bounds and ranges that the domain checks itself (with the cabinet's messages) are left to it.
Id = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
BigInt = Annotated[int, Field(le=domain.MAX_ID)]
WarehouseId = Annotated[int, Field(le=2**31 - 1)]
# A filter in a query: no domain check follows, so the lower bound is here (PostgreSQL's integer range).
WarehouseFilter = Annotated[int, Field(ge=1, le=2**31 - 1)]


class TaskIn(Strict):
    """A supply task (create) or the fields to change (PATCH). The domain checks how fields fit together and
    answers in Russian; types and limits are checked here and documented in the schema."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"account_id": 1, "draft_id": "d-1", "warehouses": [507, 117501],
                                         "box_type": "boxes", "lead_time_days": 7, "max_coefficient": 1,
                                         "mode": "book"}]},
    )

    account_id: Id | None = None
    draft_id: str | None = Field(default=None, max_length=domain.MAX_DRAFT_ID_LENGTH)
    preorder_id: BigInt | None = None
    warehouses: list[WarehouseId] | None = Field(default=None, max_length=domain.MAX_WAREHOUSES,
                                                 description="WB warehouse ids, most important first")
    box_type: BoxType | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    lead_time_days: int | None = Field(default=None, le=domain.MAX_LEAD_TIME_DAYS)
    weekdays: list[BigInt] | None = Field(default=None, max_length=7, description="0 = Monday .. 6 = Sunday")
    skip_dates: list[dt.date] | None = Field(default=None, max_length=domain.MAX_SKIP_DATES)
    max_coefficient: int | None = Field(default=None, le=domain.MAX_COEFFICIENT,
                                        description="0 books free slots only")
    max_logistics_coefficient: int | None = Field(default=None, le=domain.MAX_LOGISTICS_COEFFICIENT,
                                                  description="percent, e.g. 120")
    max_storage_coefficient: int | None = Field(default=None, le=domain.MAX_STORAGE_COEFFICIENT,
                                                description="WB's storageCoef in percent, e.g. 150")
    min_days_ahead: int | None = Field(default=None, le=domain.MAX_LEAD_TIME_DAYS,
                                       description="no slot sooner than today + N days")
    skip_holidays: bool | None = Field(default=None, description="no slot on a Russian public holiday")
    pallet_count: int | None = Field(default=None, le=domain.MAX_PALLETS,
                                     description="monopallets only: pallets the date must still take")
    deadline: dt.datetime | None = Field(default=None, description="a naive value is Moscow time")
    improve: Literal["earlier", "cheaper", "both"] | None = Field(
        default=None, description="once booked, move the supply to a better slot (plan/update); free of the quota")
    max_moves: int | None = Field(default=None, le=domain.MAX_MOVES, description="moves of one booked supply")
    mode: TaskMode | None = Field(default=None, description="notify: alerts only; needs no draft or preorder")
    racers: dict[str, str] | None = Field(
        default=None, max_length=domain.MAX_RACERS,
        description="racing: the seller's other WB account ids -> each one's own draft id; the first to book wins")

    def as_data(self) -> dict[str, object]:
        """What the client sent, as the logic takes it (fields not sent stay out: PATCH keeps them)."""
        return self.model_dump(mode="json", exclude_unset=True)
