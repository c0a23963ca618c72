"""Request bodies of the JSON API (responses are plain dicts built by the logic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wbsupply.domain.statuses import Role


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
