"""Client of WB's public seller API (the read-only FBW methods the product needs).

Errors come back as typed exceptions carrying WB's ``application/problem+json`` detail, so callers decide
between backing off (429, 5xx, timeouts), dropping a token (401) and switching source (method disabled).
The token itself never appears in an exception or a log line.
"""

from __future__ import annotations

from typing import Any

import httpx

COEFFICIENTS_PATH = "/api/tariffs/v1/acceptance/coefficients"
SUPPLY_PATH = "/api/v1/supplies/{id}"
DISABLED_MARKERS = ("temporarily disabled", "временно отключ")


class WbApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"WB API {status}: {detail}")
        self.status = status
        self.detail = detail


class WbUnauthorized(WbApiError):
    """The token is wrong, revoked or expired."""


class WbRateLimited(WbApiError):
    def __init__(self, status: int, detail: str, retry_after_s: float) -> None:
        super().__init__(status, detail)
        self.retry_after_s = retry_after_s


class WbMethodDisabled(WbApiError):
    """WB answers 404 "This method is temporarily disabled" (coefficients since mid-2026)."""


class WbUnavailable(WbApiError):
    """Timeouts, connection errors and 5xx: back off and try again."""


class WbBadResponse(WbApiError):
    """A 2xx that is not the JSON shape the spec promises."""


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


def raise_for_wb(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    if status == 401:
        raise WbUnauthorized(status, detail)
    if status == 429:
        retry = response.headers.get("X-Ratelimit-Retry") or response.headers.get("Retry-After") or "10"
        raise WbRateLimited(status, detail, float(retry))
    if status == 404 and any(marker in detail.lower() for marker in DISABLED_MARKERS):
        raise WbMethodDisabled(status, detail)
    if status >= 500:
        raise WbUnavailable(status, detail)
    raise WbApiError(status, detail)


class WbApiClient:
    def __init__(self, base_url: str, *, timeout_s: float = 10.0, http: httpx.AsyncClient | None = None) -> None:
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def _get(self, path: str, token: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._http.get(path, params=params, headers={"Authorization": token})
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise WbUnavailable(0, type(exc).__name__) from None
        raise_for_wb(response)
        try:
            return response.json()
        except ValueError:
            raise WbBadResponse(response.status_code, "body is not JSON") from None

    async def acceptance_coefficients(self, token: str, warehouse_ids: list[int] | None = None) -> list[Any]:
        params = {"warehouseIDs": ",".join(map(str, warehouse_ids))} if warehouse_ids else None
        body = await self._get(COEFFICIENTS_PATH, token, params)
        if not isinstance(body, list):
            raise WbBadResponse(200, f"expected a list, got {type(body).__name__}")
        return body

    async def supply(self, token: str, supply_or_preorder_id: int, *, is_preorder: bool) -> dict[str, Any]:
        path = SUPPLY_PATH.format(id=supply_or_preorder_id)
        body = await self._get(path, token, {"isPreorderID": str(is_preorder).lower()})
        if not isinstance(body, dict):
            raise WbBadResponse(200, f"expected an object, got {type(body).__name__}")
        return body

    async def aclose(self) -> None:
        await self._http.aclose()
