"""Helpers of the cabinet's HTML forms: read a form, run logic in a thread, turn errors into messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from wbsupply.api.errors import ApiError

T = TypeVar("T")


async def read_form(request: Request) -> dict[str, Any]:
    """Form fields as a dict; repeated fields (checkboxes) become lists."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = [value for value in form.getlist(key) if isinstance(value, str)]
        data[key] = values if len(values) > 1 or key in ("wh", "weekdays") else (values[0] if values else "")
    return data


def picked_warehouses(form: dict[str, Any]) -> list[int]:
    """Checked warehouses ordered by the seller's priority number (1 = most important), then by list order."""
    picked = []
    for position, raw in enumerate(form.get("wh", [])):
        if not str(raw).isdigit():
            continue
        priority = str(form.get(f"prio_{raw}", "")).strip()
        picked.append((int(priority) if priority.isdigit() else 1000 + position, position, int(raw)))
    return [warehouse_id for *_, warehouse_id in sorted(picked)]


async def attempt(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, ApiError | None]:
    """Run blocking logic off the event loop; an ``ApiError`` comes back for the form to show."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs), None
    except ApiError as exc:
        return None, exc
