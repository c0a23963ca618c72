"""What the cabinet's routers share: templates, session cookies and the session of a request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from wbsupply.sandbox.clock import MSK
from wbsupply.wb import cabinet_spec as spec

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["spec"] = spec
templates.env.globals["SANDBOX_INBOX_PATH"] = "/sandbox/inbox"  # control API's SMS page: a demo hint only
templates.env.filters["msk"] = lambda moment, fmt="%d.%m.%Y %H:%M": moment.astimezone(MSK).strftime(fmt)

# Cookies outlive the tokens on purpose: the market's clock decides expiry, and WB's own cookies are
# long-lived too (the server answers 401 and the page refreshes).
COOKIE_MAX_AGE = 30 * 24 * 3600
HEARTBEAT_MS = 5000  # how often an open page checks (and refreshes) its session


def page_config(authenticated: bool) -> Markup:
    """The JSON the page script reads: every path, header and text comes from ``cabinet_spec``."""
    config = {
        "authenticated": authenticated,
        "heartbeatMs": HEARTBEAT_MS,
        "loginUrl": spec.LOGIN_PATH,
        "refreshUrl": spec.REFRESH_PATH,
        "sessionUrl": spec.SESSION_PATH,
        "rpcBase": spec.RPC_BASE,
        "authHeader": spec.AUTH_HEADER,
        "captchaHeader": spec.CAPTCHA_HEADER,
        "accessCookie": spec.COOKIE_ACCESS,
        "rpc": {
            "costs": spec.RPC_ACCEPTANCE_COSTS,
            "challenge": spec.RPC_CAPTCHA_CHALLENGE,
            "planAdd": spec.RPC_PLAN_ADD,
            "planUpdate": spec.RPC_PLAN_UPDATE,
            "createDraft": spec.RPC_CREATE_DRAFT,
            "createPreorder": spec.RPC_CREATE_PREORDER,
        },
        "testid": {
            "day": spec.Calendar.DAY,
            "dayCoefficient": spec.Calendar.DAY_COEFFICIENT,
            "choose": spec.Calendar.CHOOSE_BUTTON,
            "barcode": spec.Supplies.BARCODE_INPUT,
            "quantity": spec.Supplies.QUANTITY_INPUT,
        },
        "attr": {
            "date": spec.Attr.DATE,
            "open": spec.Attr.OPEN,
            "coefficient": spec.Attr.COEFFICIENT,
            "preorderId": spec.Attr.PREORDER_ID,
            "draftId": spec.Attr.DRAFT_ID,
        },
        "text": {
            "free": spec.TEXT_FREE,
            "unavailable": spec.TEXT_UNAVAILABLE,
            "choose": spec.TEXT_CHOOSE,
            "sessionExpired": spec.TEXT_SESSION_EXPIRED,
        },
    }
    # "</" must not end the <script> element early.
    return Markup(json.dumps(config, ensure_ascii=False).replace("</", "<\\/"))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("config", page_config(context.get("session") is not None))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def access_token(request: Request) -> str | None:
    return request.headers.get(spec.AUTH_HEADER) or request.cookies.get(spec.COOKIE_ACCESS)


def current_session(market: Any, request: Request) -> Any | None:
    """The market session of this request, or None (no token, expired, revoked, foreign browser)."""
    token = access_token(request)
    if not token:
        return None
    session = market.session(token)
    # The validation key cookie ties the token to the browser that logged in, as on WB.
    if session is None or request.cookies.get(spec.COOKIE_VALIDATION) != session.validation_key:
        return None
    return session


def set_session_cookies(response: Response, tokens: Any, supplier_chosen: bool = True) -> None:
    common: dict[str, Any] = {"max_age": COOKIE_MAX_AGE, "path": "/", "samesite": "lax"}
    # The page script sends the access token in a header, so that one cookie is readable from JS.
    response.set_cookie(spec.COOKIE_ACCESS, tokens.access_token, httponly=False, **common)
    response.set_cookie(spec.COOKIE_VALIDATION, tokens.validation_key, httponly=True, **common)
    response.set_cookie(spec.COOKIE_REFRESH, tokens.refresh_token, httponly=True, **common)
    if supplier_chosen:
        response.set_cookie(spec.COOKIE_SUPPLIER, str(tokens.supplier_id), httponly=False, **common)


def clear_session_cookies(response: Response) -> None:
    for name in spec.SESSION_COOKIES:
        response.delete_cookie(name, path="/")


def safe_next(target: str | None) -> str:
    """Only local paths: a login form must not become an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return spec.SUPPLIES_PATH


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    """Where an unauthenticated page request goes: the restore page while a refresh cookie may still work,
    the login form otherwise."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = spec.RESTORE_PATH if request.cookies.get(spec.COOKIE_REFRESH) else spec.LOGIN_PATH
    return redirect(f"{target}?next={quote(here, safe='')}")
