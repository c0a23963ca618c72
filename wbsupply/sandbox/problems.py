"""Error bodies exactly as WB sends them: gateway errors as ``application/problem+json``, method errors
(400/404 of the supplies and tariffs services) as the spec's ``models.ErrorModel`` in ``application/json``."""

from __future__ import annotations

import secrets
from datetime import datetime

from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
GATEWAY_ORIGIN = "s2s-api-auth-catalog"
SUPPLY_ORIGIN = "supply-api"
DISABLED_DETAIL = ("This method is temporarily disabled. Метод временно отключён: "
                   "https://dev.wildberries.ru/release-notes?id=570")
_STATUS_TEXT = {401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


def request_id() -> str:
    return secrets.token_hex(16)


def _code() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(6)}-[UK-{secrets.token_urlsafe(8)}]"


def problem(status: int, title: str, detail: str, now: datetime, headers: dict[str, str] | None = None,
            origin: str = GATEWAY_ORIGIN) -> JSONResponse:
    body = {
        "title": title,
        "detail": detail,
        "code": _code(),
        "requestId": request_id(),
        "origin": origin,
        "status": status,
        "statusText": _STATUS_TEXT.get(status, ""),
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def unauthorized(detail: str, now: datetime) -> JSONResponse:
    return problem(401, "unauthorized", detail, now)


def too_many_requests(limit_name: str, now: datetime, headers: dict[str, str]) -> JSONResponse:
    return problem(429, "too many requests", f"limited by {limit_name}", now, headers)


def disabled(now: datetime, origin: str) -> JSONResponse:
    return problem(404, "method is temporarily disabled", DISABLED_DETAIL, now, origin=origin)


def method_error(status: int, detail: str, origin: str = SUPPLY_ORIGIN,
                 headers: dict[str, str] | None = None) -> JSONResponse:
    title = "bad request" if status == 400 else "not found"
    body = {"status": status, "title": title, "detail": detail, "requestId": request_id(), "origin": origin}
    return JSONResponse(body, status_code=status, headers=headers)
