"""WB login relayed from our cabinet: one auth request → one step on WB's login page → a Russian answer.

``perform_step`` never logs a phone or a code; what the seller sees is the request's message and the
account's ``auth_state`` / ``auth_prompt`` (:class:`wbsupply.store.auth.AuthState`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from wbsupply.control.base import AuthStep, BotRecord
from wbsupply.store.auth import AuthRequestKind, AuthState
from wbsupply.wb import cabinet_spec as spec
from wbsupply.worker.cabinet import Cabinet, LoginOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    ok: bool  # the request is done (else failed)
    message: str  # for the seller
    state: AuthState
    prompt: dict[str, Any] = field(default_factory=dict)
    supplier_id: str | None = None

    @property
    def authorized(self) -> bool:
        return self.state is AuthState.AUTHORIZED


def masked(phone: str) -> str:
    return f"{phone[:2]} *** ***-**-{phone[-2:]}" if len(phone) >= 4 else "***"


def _blocked(outcome: LoginOutcome) -> StepResult:
    hours = f"через {outcome.hours} ч." if outcome.hours else "позже"
    return StepResult(False, f"Wildberries временно ограничил вход по этому номеру. Попробуйте {hours}",
                      AuthState.BLOCKED, {"hours": outcome.hours})


def interpret(outcome: LoginOutcome, kind: AuthRequestKind, phone: str, known_supplier: str | None) -> StepResult:
    """Turn what WB's page shows after a step into the answer for the seller."""
    step = outcome.step
    if step == "done":
        return StepResult(True, "Аккаунт WB подключён, бот начинает работу", AuthState.AUTHORIZED)
    if step == "blocked":
        return _blocked(outcome)
    if step == "captcha":
        failed = kind is AuthRequestKind.CAPTCHA
        text = "Символы введены неверно, попробуйте ещё раз" if failed else \
            "Wildberries просит подтвердить, что вы не робот: введите символы с картинки"
        return StepResult(not failed, text, AuthState.NEED_CAPTCHA, {"captcha": outcome.captcha})
    if step == "suppliers":
        suppliers = outcome.suppliers
        return StepResult(True, "Выберите организацию, от имени которой бронировать поставки",
                          AuthState.NEED_SUPPLIER, {"suppliers": suppliers})
    if step == "code":
        if kind is AuthRequestKind.CODE:
            text = outcome.message or "Неверный код"
            return StepResult(False, f"{text}. Проверьте СМС и введите код ещё раз", AuthState.CODE_SENT)
        return StepResult(True, f"Wildberries отправил код на номер {masked(phone)}. Введите его",
                          AuthState.CODE_SENT)
    message = outcome.message or "Wildberries не принял данные, начните вход заново"
    return StepResult(False, message, AuthState.NEED_PHONE)


async def perform_step(cabinet: Cabinet, step: AuthStep, bot: BotRecord) -> StepResult:
    kind = AuthRequestKind(step.kind)
    value = step.value or ""
    if kind in (AuthRequestKind.PHONE, AuthRequestKind.RECONNECT):
        phone = value or bot.phone
        outcome = await cabinet.enter_phone(phone)
        result = interpret(outcome, kind, phone, bot.supplier_id)
    elif kind is AuthRequestKind.CODE:
        if not await cabinet.shows(spec.Login.CODE_INPUT):
            return StepResult(False, "Код уже не ждут: запросите новый код", AuthState.NEED_PHONE)
        result = interpret(await cabinet.enter_code(value), kind, bot.phone, bot.supplier_id)
    elif kind is AuthRequestKind.CAPTCHA:
        if not await cabinet.shows(spec.Login.CAPTCHA_INPUT):
            return StepResult(False, "Картинка устарела: начните вход заново", AuthState.NEED_PHONE)
        result = interpret(await cabinet.answer_captcha(value), kind, bot.phone, bot.supplier_id)
    else:  # supplier
        result = interpret(await cabinet.choose_supplier(int(value)), kind, bot.phone, bot.supplier_id)
        if result.authorized:
            return StepResult(True, result.message, AuthState.AUTHORIZED, supplier_id=value)
    if result.state is AuthState.NEED_SUPPLIER and bot.supplier_id:
        # Re-login of a known account: pick the legal entity the seller chose before.
        chosen = await cabinet.choose_supplier(int(bot.supplier_id))
        if chosen.step == "done":
            return StepResult(True, "Аккаунт WB подключён, бот начинает работу", AuthState.AUTHORIZED,
                              supplier_id=bot.supplier_id)
    if result.authorized:
        return StepResult(True, result.message, result.state, supplier_id=await cabinet.current_supplier())
    log.info("bot %s: auth step %s -> %s", bot.id, kind.value, result.state.value)
    return result

