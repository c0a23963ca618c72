"""Jinja2 templates of the cabinet and the context every page gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from wbsupply.domain import ruformat as formats
from wbsupply.domain.statuses import BotStatus, BoxType, TaskPhase
from wbsupply.store import User

TEMPLATES_DIR = Path(__file__).with_name("templates")


def _coef_class(value: int | None) -> str:
    """Heat-map colour of a calendar cell."""
    if value is None:
        return "c-closed"
    if value == 0:
        return "c-free"
    if value <= 1:
        return "c-low"
    if value <= 5:
        return "c-mid"
    return "c-high"


def templates() -> Jinja2Templates:
    engine = Jinja2Templates(directory=str(TEMPLATES_DIR))
    # Templates ship with the package: compile each once, no stat() of every template file on every render.
    engine.env.auto_reload = False
    engine.env.globals.update(BoxType=BoxType, TaskPhase=TaskPhase, BotStatus=BotStatus)
    engine.env.filters["coef_class"] = _coef_class
    engine.env.filters["dt"] = formats.msk_short
    engine.env.filters["msk"] = formats.msk
    engine.env.filters["rudate"] = formats.ru_date
    engine.env.filters["rumonth"] = formats.ru_month
    engine.env.filters["coef"] = formats.coefficient
    engine.env.filters["coef_limit"] = formats.coefficient_limit
    return engine


def page(request: Request, name: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    tmpl: Jinja2Templates = request.app.state.templates
    return tmpl.TemplateResponse(request, name, {"user": user, **context}, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
