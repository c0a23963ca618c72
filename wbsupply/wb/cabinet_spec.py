"""Everything the code knows about the WB seller cabinet's page structure, in one place.

URL paths, cookie and header names, JSON-RPC service names, ``data-testid`` selectors and the Russian
texts the cabinet shows. The sandbox cabinet renders its pages from these constants and the worker's page
objects locate elements with them, so following a change on WB's side is an edit of this file only.
"""

from __future__ import annotations

from datetime import date
from typing import Final

# --- URL paths (relative to the cabinet origin) -------------------------------------------------------

ROOT: Final = "/"
LOGIN_PATH: Final = "/auth/login"
LOGIN_PHONE_PATH: Final = "/auth/login/phone"  # form POST: phone -> code step
LOGIN_CODE_PATH: Final = "/auth/login/code"  # form POST: code -> session
LOGIN_CAPTCHA_PATH: Final = "/auth/login/captcha"  # form POST: captcha answer -> code step
SUPPLIER_SELECT_PATH: Final = "/auth/suppliers"
RESTORE_PATH: Final = "/auth/restore"  # page whose script refreshes the access token, then goes on
LOGOUT_PATH: Final = "/auth/logout"
REFRESH_PATH: Final = "/passport/api/v2/auth/refresh"  # POST, refresh cookie -> new token cookies
SESSION_PATH: Final = "/passport/api/v2/auth/session"  # GET, the page's heartbeat
SUPPLIES_PATH: Final = "/supplies-management/all-supplies"
STATIC_PREFIX: Final = "/cabinet-static"

# --- JSON-RPC services (POST {"params", "jsonrpc": "2.0", "id"}) -----------------------------------------

RPC_BASE: Final = "/ns/sm-supply/supply-manager/api/v1"
RPC_ACCEPTANCE_COSTS: Final = "supply/getAcceptanceCosts"  # one preorder's calendar
RPC_COEFFICIENTS_REPORT: Final = "supply/acceptanceCoefficientsReport"  # all warehouses, 30 days
RPC_LIST_SUPPLIES: Final = "supply/listSupplies"
RPC_GET_PREORDER: Final = "supply/getPreorder"
RPC_CREATE_DRAFT: Final = "supply/createDraft"
RPC_CREATE_PREORDER: Final = "supply/createPreorder"
RPC_WAREHOUSES: Final = "supply/listWarehouses"
RPC_CAPTCHA_CHALLENGE: Final = "captcha/getChallenge"
RPC_PLAN_ADD: Final = "plan/add"  # books a date; needs CAPTCHA_HEADER
RPC_PLAN_UPDATE: Final = "plan/update"  # moves a booked supply; needs CAPTCHA_HEADER
RPC_METHODS: Final = (
    RPC_ACCEPTANCE_COSTS,
    RPC_COEFFICIENTS_REPORT,
    RPC_LIST_SUPPLIES,
    RPC_GET_PREORDER,
    RPC_CREATE_DRAFT,
    RPC_CREATE_PREORDER,
    RPC_WAREHOUSES,
    RPC_CAPTCHA_CHALLENGE,
    RPC_PLAN_ADD,
    RPC_PLAN_UPDATE,
)


def rpc_path(method: str) -> str:
    return f"{RPC_BASE}/{method}"


# JSON-RPC error codes the cabinet answers with.
RPC_ERR_UNAUTHORIZED: Final = 401
RPC_ERR_CAPTCHA: Final = 498
RPC_ERR_NOT_FOUND: Final = 404
RPC_ERR_SLOT_UNAVAILABLE: Final = 409
RPC_ERR_REFUSED: Final = 422  # the request is valid but the supply's state forbids it
RPC_ERR_INVALID_PARAMS: Final = -32602
RPC_ERR_METHOD_NOT_FOUND: Final = -32601

# --- Cookies and headers --------------------------------------------------------------------------------

COOKIE_ACCESS: Final = "WBTokenV3"  # short-lived; read by the page to send AUTH_HEADER
COOKIE_VALIDATION: Final = "wbx-validation-key"  # HttpOnly, bound to the session
COOKIE_REFRESH: Final = "wbx-refresh"  # HttpOnly, exchanged at REFRESH_PATH
COOKIE_SUPPLIER: Final = "x-supplier-id"
SESSION_COOKIES: Final = (COOKIE_ACCESS, COOKIE_VALIDATION, COOKIE_REFRESH, COOKIE_SUPPLIER)
AUTH_HEADER: Final = "AuthorizeV3"
CAPTCHA_HEADER: Final = "X-Wb-Captcha-Token"  # "<challenge>:<nonce>" (the sandbox checks it: wbsupply.sandbox.pow)

# --- Selectors (data-testid) ----------------------------------------------------------------------------


def by_testid(name: str) -> str:
    """CSS selector of an element by its ``data-testid``."""
    return f'[data-testid="{name}"]'


class Login:
    PHONE_INPUT: Final = "login-phone-input"
    GET_CODE_BUTTON: Final = "login-get-code"
    CODE_INPUT: Final = "login-code-input"
    SUBMIT_CODE_BUTTON: Final = "login-submit-code"
    RESEND_BUTTON: Final = "login-resend-code"
    CAPTCHA_IMAGE: Final = "login-captcha-image"
    CAPTCHA_INPUT: Final = "login-captcha-input"
    CAPTCHA_SUBMIT: Final = "login-captcha-submit"
    ERROR: Final = "login-error"  # wrong code, blocked, invalid phone...
    BLOCKED: Final = "login-blocked"


class Suppliers:
    LIST: Final = "supplier-list"
    ITEM: Final = "supplier-item"  # carries Attr.SUPPLIER_ID
    SELECT_BUTTON: Final = "supplier-select"
    CURRENT: Final = "supplier-current"  # header: the selected legal entity
    SWITCH_LINK: Final = "supplier-switch"


class Nav:
    SUPPLIES_MENU: Final = "nav-supplies"
    ALL_SUPPLIES: Final = "nav-all-supplies"
    LOGOUT: Final = "nav-logout"


class Supplies:
    PAGE: Final = "supplies-page"
    CREATE_BUTTON: Final = "supplies-create"
    DRAFT_FORM: Final = "draft-form"
    BARCODE_INPUT: Final = "draft-barcode"
    QUANTITY_INPUT: Final = "draft-quantity"
    ADD_GOOD_BUTTON: Final = "draft-add-good"
    SAVE_DRAFT_BUTTON: Final = "draft-save"
    DRAFT_ROW: Final = "draft-row"  # carries Attr.DRAFT_ID
    WAREHOUSE_SELECT: Final = "preorder-warehouse"
    BOX_TYPE_SELECT: Final = "preorder-box-type"
    CREATE_PREORDER_BUTTON: Final = "preorder-create"
    PREORDER_ROW: Final = "preorder-row"  # carries Attr.PREORDER_ID, STATUS_ID, SUPPLY_ID
    PREORDER_STATUS: Final = "preorder-status"
    PREORDER_SUPPLY_ID: Final = "preorder-supply-id"
    PREORDER_DATE: Final = "preorder-date"
    PLAN_BUTTON: Final = "preorder-plan"
    RESCHEDULE_BUTTON: Final = "preorder-reschedule"
    ERROR: Final = "supplies-error"


class Calendar:
    DIALOG: Final = "plan-dialog"
    DAY: Final = "calendar-day"  # carries Attr.DATE, OPEN, COEFFICIENT
    DAY_COEFFICIENT: Final = "calendar-day-coefficient"
    CHOOSE_BUTTON: Final = "calendar-day-choose"
    SELECTED_DATE: Final = "plan-selected-date"
    CONFIRM_BUTTON: Final = "plan-confirm"
    CLOSE_BUTTON: Final = "plan-close"
    ERROR: Final = "plan-error"
    LOADING: Final = "plan-loading"


# Row, day and supplier selectors carry the object's id, so a page object needs no text matching.
class Attr:
    """Data attributes that carry ids and states, so reading a row needs no text parsing."""

    DRAFT_ID: Final = "data-draft-id"
    PREORDER_ID: Final = "data-preorder-id"
    STATUS_ID: Final = "data-status-id"
    SUPPLY_ID: Final = "data-supply-id"  # empty until planned
    SUPPLIER_ID: Final = "data-supplier-id"
    DATE: Final = "data-date"  # calendar day and the selected date, ISO
    OPEN: Final = "data-open"  # calendar day: "1" bookable, "0" closed
    COEFFICIENT: Final = "data-coefficient"  # calendar day: -1 closed, 0 free, n multiplier


def preorder_row(preorder_id: int) -> str:
    return f'{by_testid(Supplies.PREORDER_ROW)}[{Attr.PREORDER_ID}="{preorder_id}"]'


def calendar_day(day: date | str) -> str:
    iso = day.isoformat() if isinstance(day, date) else day
    return f'{by_testid(Calendar.DAY)}[{Attr.DATE}="{iso}"]'


def supplier_item(supplier_id: int) -> str:
    return f'{by_testid(Suppliers.ITEM)}[{Attr.SUPPLIER_ID}="{supplier_id}"]'


# --- Russian texts --------------------------------------------------------------------------------------

TEXT_GET_CODE: Final = "Получить код"
TEXT_LOGIN: Final = "Войти"
TEXT_RESEND: Final = "Получить код повторно"
TEXT_WRONG_CODE: Final = "Неверный код"
TEXT_CODE_EXPIRED: Final = "Срок действия кода истёк, запросите новый"
TEXT_BAD_PHONE: Final = "Введите номер в формате +7 и 10 цифр"
TEXT_UNKNOWN_PHONE: Final = "Пользователь с таким номером не найден"
TEXT_CAPTCHA_WRONG: Final = "Неверно введены символы с картинки"
TEXT_SUPPLIES: Final = "Поставки"
TEXT_ALL_SUPPLIES: Final = "Все поставки"
TEXT_CREATE: Final = "Создать"
TEXT_PLAN_SUPPLY: Final = "Запланировать поставку"
TEXT_CHOOSE: Final = "Выбрать"
TEXT_PLAN: Final = "Запланировать"
TEXT_RESCHEDULE: Final = "Перенести"
TEXT_UNAVAILABLE: Final = "Пока недоступно"
TEXT_FREE: Final = "Бесплатно"
TEXT_NOT_PLANNED: Final = "Не запланировано"
TEXT_PLANNED: Final = "Запланировано"
TEXT_SLOT_TAKEN: Final = "Выбранная дата больше недоступна"
TEXT_CAPTCHA_FAILED: Final = "Не удалось пройти проверку, попробуйте ещё раз"
TEXT_SESSION_EXPIRED: Final = "Сессия истекла, войдите снова"

STATUS_LABELS: Final = {1: TEXT_NOT_PLANNED, 2: TEXT_PLANNED}  # preorder statusID -> label


def blocked_text(hours: int) -> str:
    return f"Слишком много попыток. Попробуйте через {hours} ч."


def coefficient_text(coefficient: float) -> str:
    """How a calendar day shows its acceptance coefficient: «Бесплатно» or «×3»."""
    if coefficient < 0:
        return TEXT_UNAVAILABLE
    if coefficient == 0:
        return TEXT_FREE
    return f"×{coefficient:g}"
