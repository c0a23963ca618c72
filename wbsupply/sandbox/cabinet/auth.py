"""Login by phone and code (with throttling, blocks and captcha), supplier selection and token refresh."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from wbsupply.sandbox.cabinet.web import (
    clear_session_cookies,
    current_session,
    login_redirect,
    redirect,
    render,
    safe_next,
    set_session_cookies,
)
from wbsupply.sandbox.models import (
    CaptchaRequired,
    CodeExpired,
    LoginBlocked,
    NotFound,
    SessionExpired,
    UnknownPhone,
    WrongCode,
)
from wbsupply.wb import cabinet_spec as spec

PHONE_RE = re.compile(r"^\+7\d{10}$")
CODE_RE = re.compile(r"^\d{6}$")


def parse_phone(raw: str) -> str | None:
    """``+7 (916) 123-45-67`` → ``+79161234567``; anything that is not +7 and 10 digits → None."""
    digits = re.sub(r"[\s()\-]", "", raw)
    if re.fullmatch(r"\d{10}", digits):
        digits = "+7" + digits
    return digits if PHONE_RE.match(digits) else None


def build_auth_router(market: Any) -> APIRouter:
    router = APIRouter()

    def login_page(request: Request, step: str, next_: str, status_code: int = 200, **context: Any) -> Response:
        return render(request, "login.html", status_code=status_code, step=step, next=next_, **context)

    def ask_code(request: Request, phone: str, next_: str) -> Response:
        """Request a code and show the step that follows: code, captcha or a refusal."""
        try:
            market.request_code(phone)
        except LoginBlocked as blocked:
            return login_page(request, "phone", next_, 429, phone=phone, blocked=spec.blocked_text(blocked.hours))
        except CaptchaRequired:
            return login_page(request, "captcha", next_, phone=phone, captcha=market.captcha_challenge(phone))
        except UnknownPhone:
            return login_page(request, "phone", next_, 404, phone=phone, error=spec.TEXT_UNKNOWN_PHONE)
        return login_page(request, "code", next_, phone=phone)

    @router.get(spec.LOGIN_PATH)
    def login_form(request: Request, next: str = spec.SUPPLIES_PATH) -> Response:
        return login_page(request, "phone", safe_next(next))

    @router.post(spec.LOGIN_PHONE_PATH)
    def login_phone(
        request: Request, phone: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
    ) -> Response:
        parsed = parse_phone(phone)
        if parsed is None:
            return login_page(request, "phone", safe_next(next), 400, phone=phone, error=spec.TEXT_BAD_PHONE)
        return ask_code(request, parsed, safe_next(next))

    @router.post(spec.LOGIN_CAPTCHA_PATH)
    def login_captcha(
        request: Request,
        phone: Annotated[str, Form()] = "",
        answer: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "",
    ) -> Response:
        parsed, next_ = parse_phone(phone), safe_next(next)
        if parsed is None:
            return login_page(request, "phone", next_, 400, error=spec.TEXT_BAD_PHONE)
        if not market.solve_captcha(parsed, answer):
            return login_page(request, "captcha", next_, 400, phone=parsed,
                              captcha=market.captcha_challenge(parsed), error=spec.TEXT_CAPTCHA_WRONG)
        return ask_code(request, parsed, next_)

    @router.post(spec.LOGIN_CODE_PATH)
    def login_code(
        request: Request,
        phone: Annotated[str, Form()] = "",
        code: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "",
    ) -> Response:
        parsed, next_ = parse_phone(phone), safe_next(next)
        if parsed is None:
            return login_page(request, "phone", next_, 400, error=spec.TEXT_BAD_PHONE)
        code = code.strip()
        if not CODE_RE.match(code):
            return login_page(request, "code", next_, 400, phone=parsed, error=spec.TEXT_WRONG_CODE)
        try:
            seller = market.verify_code(parsed, code)
        except WrongCode:
            return login_page(request, "code", next_, 400, phone=parsed, error=spec.TEXT_WRONG_CODE)
        except CodeExpired:
            return login_page(request, "code", next_, 400, phone=parsed, error=spec.TEXT_CODE_EXPIRED)
        except UnknownPhone:
            return login_page(request, "phone", next_, 404, phone=parsed, error=spec.TEXT_UNKNOWN_PHONE)
        several = len(seller.suppliers) > 1
        tokens = market.open_session(seller.id)
        # With several legal entities the seller picks one before anything else, as on WB.
        response = redirect(f"{spec.SUPPLIER_SELECT_PATH}?next={quote(next_, safe='')}" if several else next_)
        set_session_cookies(response, tokens, supplier_chosen=not several)
        return response

    @router.get(spec.SUPPLIER_SELECT_PATH)
    def suppliers_page(request: Request, next: str = spec.SUPPLIES_PATH) -> Response:
        session = current_session(market, request)
        if session is None:
            return login_redirect(request)
        return render(request, "suppliers.html", session=session, next=safe_next(next),
                      suppliers=session.seller.suppliers)

    @router.post(spec.SUPPLIER_SELECT_PATH)
    def select_supplier(
        request: Request, supplier_id: Annotated[int, Form()], next: Annotated[str, Form()] = ""
    ) -> Response:
        session = current_session(market, request)
        if session is None:
            return login_redirect(request)
        try:
            session = market.select_supplier(session.access_token, supplier_id)
        except (NotFound, SessionExpired):
            return redirect(spec.SUPPLIER_SELECT_PATH)
        response = redirect(safe_next(next))
        set_session_cookies(response, session.tokens())
        return response

    @router.get(spec.RESTORE_PATH)
    def restore(request: Request, next: str = spec.SUPPLIES_PATH) -> Response:
        return render(request, "restore.html", next=safe_next(next))

    @router.post(spec.REFRESH_PATH)
    def refresh(request: Request) -> Response:
        try:
            tokens = market.refresh_session(request.cookies.get(spec.COOKIE_REFRESH, ""))
        except SessionExpired as expired:
            response: Response = JSONResponse({"error": {"code": 401, "message": str(expired)}}, 401)
            clear_session_cookies(response)
            return response
        response = JSONResponse({"result": {"supplierID": tokens.supplier_id,
                                            "accessExpiresAt": tokens.access_expires_at.isoformat()}})
        set_session_cookies(response, tokens, supplier_chosen=spec.COOKIE_SUPPLIER in request.cookies)
        return response

    @router.get(spec.SESSION_PATH)
    def session_info(request: Request) -> Response:
        session = current_session(market, request)
        if session is None:
            return JSONResponse({"error": {"code": 401, "message": spec.TEXT_SESSION_EXPIRED}}, 401)
        left = (session.access_expires_at - market.clock.now()).total_seconds()
        return JSONResponse({"result": {"supplierID": session.supplier_id, "accessExpiresIn": int(left)}})

    @router.get(spec.LOGOUT_PATH)
    def logout() -> Response:
        response = redirect(spec.LOGIN_PATH)
        clear_session_cookies(response)
        return response

    return router
