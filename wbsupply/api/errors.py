"""Errors the logic raises for the seller (Russian text) and how the app answers them.

API paths (``/api/...``) get JSON ``{"detail": ...}``; cabinet pages get a page, or the login form when
the visitor is not signed in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from wbsupply.domain.tasks import FIELD_LABELS


class ApiError(Exception):
    status_code = 400

    def __init__(self, message: str, *, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or [message]


class NotFound(ApiError):
    status_code = 404


class Invalid(ApiError):
    status_code = 422


class Conflict(ApiError):
    status_code = 409


class Forbidden(ApiError):
    status_code = 403


class Unauthorized(ApiError):
    status_code = 401


class TooManyRequests(ApiError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_GENERIC = {
    400: "Неверный запрос",
    401: "Войдите в кабинет",
    403: "Недостаточно прав",
    404: "Не найдено",
    405: "Метод не поддерживается",
    413: "Слишком большой запрос",
    422: "Проверьте данные запроса",
    429: "Слишком много запросов",
}

_TYPE_TEXTS = {
    "json_invalid": "тело запроса не является корректным JSON",
    "missing": "заполните это поле",
    "int_parsing": "введите целое число",
    "int_type": "введите целое число",
    "bool_parsing": "ожидается да/нет",
    "string_type": "введите текст",
    "string_too_long": "слишком длинное значение",
    "string_too_short": "слишком короткое значение",
    "model_attributes_type": "ожидается объект JSON",
    "dict_type": "ожидается объект JSON",
    "enum": "выберите значение из списка",
    "literal_error": "выберите значение из списка",
    "greater_than_equal": "слишком маленькое значение",
    "less_than_equal": "слишком большое значение",
    "value_error": "неверное значение",
    "extra_forbidden": "такого поля нет",
    "too_long": "слишком много значений",
    "too_short": "слишком мало значений",
    "less_than": "слишком большое значение",
    "greater_than": "слишком маленькое значение",
    "list_type": "ожидается список",
    "int_from_float": "введите целое число",
    "date_parsing": "введите дату в формате ГГГГ-ММ-ДД",
    "date_from_datetime_parsing": "введите дату в формате ГГГГ-ММ-ДД",
    "datetime_parsing": "введите дату и время",
    "datetime_from_date_parsing": "введите дату и время",
}


def russian_request_errors(errors: list[dict[str, Any]]) -> list[str]:
    """FastAPI's request validation errors as short Russian lines naming the field."""
    lines = []
    for item in errors:
        loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path", "form")]
        name = loc[-1] if loc else ""
        label = FIELD_LABELS.get(name, name)
        text = _TYPE_TEXTS.get(item.get("type", ""), "неверное значение")
        lines.append(f"{label}: {text}" if label else text[0].upper() + text[1:])
    return lines


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _json(status: int, message: str, errors: list[str] | None = None, **headers: str) -> JSONResponse:
    body: dict[str, Any] = {"detail": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else {}
        if _is_api(request):
            return _json(exc.status_code, exc.message, exc.errors if len(exc.errors) > 1 else None, **headers)
        return _page(request, exc.status_code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        lines = russian_request_errors(list(exc.errors()))
        if _is_api(request):
            return _json(422, _GENERIC[422], lines)
        return _page(request, 422, "; ".join(lines))

    @app.exception_handler(OverflowError)
    async def on_overflow(request: Request, exc: OverflowError) -> Response:
        # A number beyond the database's 64-bit integers (or a date beyond year 9999) that slipped past the
        # request models: the client's mistake, not the server's.
        if _is_api(request):
            return _json(422, _GENERIC[422], ["Слишком большое число или дата"])
        return _page(request, 422, "Слишком большое число или дата")

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else None
        message = message or _GENERIC.get(exc.status_code, "Ошибка")
        if _is_api(request):
            return _json(exc.status_code, message, None, **(exc.headers or {}))
        return _page(request, exc.status_code, message)


def _page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status, headers=headers
    )
