"""Setting and clearing the session cookie (signed, HttpOnly, SameSite=Lax)."""

from __future__ import annotations

from fastapi import Request, Response

from wbsupply.api.security import SESSION_COOKIE, SESSION_MAX_AGE, SessionSigner
from wbsupply.store import User


def set_session_cookie(request: Request, response: Response, user: User) -> None:
    signer: SessionSigner = request.app.state.signer
    response.set_cookie(
        SESSION_COOKIE,
        signer.dumps(user.id or 0, user.password_hash, user.session_version),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
