"""Sellers, phone login (codes, throttle, captcha, blocks) and cabinet sessions of the sandbox market."""

from __future__ import annotations

import math
import random
import re
import secrets
import threading
from datetime import timedelta

from wbsupply.sandbox.clock import SandboxClock
from wbsupply.sandbox.models import (
    CaptchaRequired,
    CodeExpired,
    LoginBlocked,
    LoginState,
    NotFound,
    Seller,
    Session,
    SessionExpired,
    SessionTokens,
    Sms,
    Supplier,
    UnknownPhone,
    WrongCode,
)

CODE_TTL = timedelta(minutes=5)
THROTTLE_WINDOW = timedelta(minutes=10)
THROTTLE_MAX_REQUESTS = 3  # the 4th code request within the window blocks the phone
THROTTLE_BLOCK_HOURS = 3
MAX_WRONG_CODES = 5  # then the code is burnt and a new one must be requested
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=7)

_NAMES = ("Ромашка", "Северный ветер", "Домашний уют", "Текстиль Плюс", "Дары Алтая", "Мир игрушек", "Стиль",
          "Технопарк", "Зелёный сад", "Бьюти Лаб", "Спорт Макс", "Кухня Про")
_SURNAMES = ("Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Новиков")


def normalize_phone(phone: str) -> str:
    """``+7 (916) 123-45-67``, ``89161234567``, ``9161234567`` → ``+79161234567``."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 10:
        digits = "7" + digits
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    return "+" + digits


class AccountsMixin:
    """Part of :class:`~wbsupply.sandbox.market.Market`; relies on its lock, clock and account RNG."""

    _lock: threading.RLock
    clock: SandboxClock
    _acc_rng: random.Random

    def _init_accounts(self) -> None:
        self._sellers: dict[int, Seller] = {}
        self._suppliers: dict[int, Seller] = {}  # supplier id → owner
        self._logins: dict[str, LoginState] = {}
        self._sms: list[Sms] = []
        self._sessions: dict[str, Session] = {}  # by access token
        self._by_refresh: dict[str, Session] = {}

    # -- sellers ---------------------------------------------------------------------------------------
    def create_seller(self, name: str | None = None, phone: str | None = None, suppliers: int = 1) -> Seller:
        with self._lock:
            rng = self._acc_rng
            if phone is None:
                phone = "+79" + "".join(str(rng.randrange(10)) for _ in range(9))
                while self.seller_by_phone(phone):
                    phone = "+79" + "".join(str(rng.randrange(10)) for _ in range(9))
            phone = normalize_phone(phone)
            if not re.fullmatch(r"\+7\d{10}", phone):
                raise ValueError(f"not a Russian mobile number: {phone!r}")
            if self.seller_by_phone(phone):
                raise ValueError(f"phone {phone} already belongs to a seller")
            seller_id = len(self._sellers) + 1
            name = name or f"{rng.choice(_SURNAMES)} {rng.choice('АБВГДЕИКМНОПС')}.{rng.choice('АВГДИНПС')}."
            owned = [self._new_supplier(i, name) for i in range(max(1, suppliers))]
            seller = Seller(seller_id, name, phone, "sbx." + secrets.token_urlsafe(48), owned)
            self._sellers[seller_id] = seller
            for supplier in owned:
                self._suppliers[supplier.id] = seller
            return seller

    def _new_supplier(self, index: int, seller_name: str) -> Supplier:
        rng = self._acc_rng
        supplier_id = 100_000 + len(self._suppliers) * 7 + index + rng.randrange(7)
        while supplier_id in self._suppliers:
            supplier_id += 1
        if index == 0:  # a sole trader first, legal entities after it
            return Supplier(supplier_id, f"ИП {seller_name}", "".join(str(rng.randrange(10)) for _ in range(12)))
        return Supplier(supplier_id, f"ООО «{rng.choice(_NAMES)}»",
                        "77" + "".join(str(rng.randrange(10)) for _ in range(8)))

    def sellers(self) -> list[Seller]:
        with self._lock:
            return list(self._sellers.values())

    def seller(self, seller_id: int) -> Seller:
        with self._lock:
            if seller_id not in self._sellers:
                raise NotFound(f"Продавец {seller_id} не найден")
            return self._sellers[seller_id]

    def seller_by_phone(self, phone: str) -> Seller | None:
        phone = normalize_phone(phone)
        with self._lock:
            return next((s for s in self._sellers.values() if s.phone == phone), None)

    def seller_by_token(self, token: str) -> Seller | None:
        with self._lock:
            return next((s for s in self._sellers.values() if secrets.compare_digest(s.api_token, token)), None)

    def supplier_owner(self, supplier_id: int) -> Seller:
        with self._lock:
            if supplier_id not in self._suppliers:
                raise NotFound(f"Поставщик {supplier_id} не найден")
            return self._suppliers[supplier_id]

    # -- login -----------------------------------------------------------------------------------------
    def _login(self, phone: str) -> LoginState:
        return self._logins.setdefault(phone, LoginState())

    def request_code(self, phone: str) -> None:
        phone = normalize_phone(phone)
        with self._lock:
            if self.seller_by_phone(phone) is None:
                raise UnknownPhone(phone)
            state, now = self._login(phone), self.clock.now()
            if state.blocked_until and state.blocked_until > now:
                raise LoginBlocked(math.ceil((state.blocked_until - now).total_seconds() / 3600))
            if state.captcha_forced and not state.captcha_solved:
                raise CaptchaRequired()
            state.requests = [t for t in state.requests if now - t < THROTTLE_WINDOW]
            if len(state.requests) >= THROTTLE_MAX_REQUESTS:
                state.requests.clear()
                state.blocked_until = now + timedelta(hours=THROTTLE_BLOCK_HOURS)
                raise LoginBlocked(THROTTLE_BLOCK_HOURS)
            state.requests.append(now)
            state.code = f"{self._acc_rng.randrange(1_000_000):06d}"
            state.code_expires_at = now + CODE_TTL
            state.wrong_attempts = 0
            text = f"Код для входа в личный кабинет продавца Wildberries: {state.code}. Никому его не сообщайте."
            self._sms.append(Sms(phone, text, state.code, now))

    def inbox(self, phone: str | None = None) -> list[Sms]:
        """SMS sent to ``phone`` (all phones when None), newest first."""
        with self._lock:
            wanted = normalize_phone(phone) if phone else None
            return [m for m in reversed(self._sms) if wanted is None or m.phone == wanted]

    def verify_code(self, phone: str, code: str) -> Seller:
        phone = normalize_phone(phone)
        with self._lock:
            seller = self.seller_by_phone(phone)
            if seller is None:
                raise UnknownPhone(phone)
            state, now = self._login(phone), self.clock.now()
            if state.code is None or state.code_expires_at is None:
                raise CodeExpired()
            if state.code_expires_at <= now:
                state.code = None
                raise CodeExpired()
            if not secrets.compare_digest(state.code, code.strip()):
                state.wrong_attempts += 1
                if state.wrong_attempts >= MAX_WRONG_CODES:
                    state.code = None
                raise WrongCode()
            state.code, state.code_expires_at, state.wrong_attempts = None, None, 0
            return seller

    def captcha_challenge(self, phone: str) -> str | None:
        """The text of the captcha to show for ``phone`` (None when no captcha is required)."""
        phone = normalize_phone(phone)
        with self._lock:
            state = self._login(phone)
            if not state.captcha_forced or state.captcha_solved:
                return None
            if state.captcha_answer is None:
                state.captcha_answer = "".join(self._acc_rng.choice("2345678ABCDEFHKMNPRTX") for _ in range(5))
            return state.captcha_answer

    def solve_captcha(self, phone: str, answer: str) -> bool:
        phone = normalize_phone(phone)
        with self._lock:
            state = self._login(phone)
            if not state.captcha_forced or state.captcha_solved:
                return True
            expected = self.captcha_challenge(phone)
            state.captcha_solved = expected is not None and answer.strip().upper() == expected
            if not state.captcha_solved:
                state.captcha_answer = None  # a wrong answer gets a fresh picture
            return state.captcha_solved

    def force_captcha(self, phone: str, on: bool = True) -> None:
        with self._lock:
            state = self._login(normalize_phone(phone))
            state.captcha_forced, state.captcha_solved, state.captcha_answer = on, False, None

    def block_login(self, phone: str, hours: int) -> None:
        """Block code requests for ``hours`` (0 unblocks and clears the throttle window)."""
        with self._lock:
            state = self._login(normalize_phone(phone))
            state.requests.clear()
            state.blocked_until = self.clock.now() + timedelta(hours=hours) if hours > 0 else None

    # -- sessions --------------------------------------------------------------------------------------
    def open_session(self, seller_id: int, supplier_id: int | None = None) -> SessionTokens:
        with self._lock:
            seller = self.seller(seller_id)
            if supplier_id is None:
                supplier_id = seller.suppliers[0].id
            elif all(s.id != supplier_id for s in seller.suppliers):
                raise NotFound(f"Поставщик {supplier_id} недоступен этому пользователю")
            now = self.clock.now()
            session = Session(seller, supplier_id, secrets.token_urlsafe(32), secrets.token_hex(16),
                              secrets.token_urlsafe(32), now + ACCESS_TTL, now + REFRESH_TTL)
            self._sessions[session.access_token] = session
            self._by_refresh[session.refresh_token] = session
            return session.tokens()

    def session(self, access_token: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(access_token)
            if session is None or session.revoked or session.access_expires_at <= self.clock.now():
                return None
            return session

    def refresh_session(self, refresh_token: str) -> SessionTokens:
        """New access (and rotated refresh) tokens; the old pair stops working."""
        with self._lock:
            old = self._by_refresh.get(refresh_token)
            if old is None or old.revoked or old.refresh_expires_at <= self.clock.now():
                raise SessionExpired()
            old.revoked = True
            self._sessions.pop(old.access_token, None)
            self._by_refresh.pop(refresh_token, None)
            tokens = self.open_session(old.seller.id, old.supplier_id)
            renewed = self._sessions[tokens.access_token]
            renewed.refresh_expires_at = old.refresh_expires_at  # refreshing never extends the login
            return renewed.tokens()

    def select_supplier(self, access_token: str, supplier_id: int) -> Session:
        with self._lock:
            session = self.session(access_token)
            if session is None:
                raise SessionExpired()
            if all(s.id != supplier_id for s in session.seller.suppliers):
                raise NotFound(f"Поставщик {supplier_id} недоступен этому пользователю")
            session.supplier_id = supplier_id
            return session

    def expire_sessions(self, seller_id: int, include_refresh: bool = True) -> int:
        """Expire the seller's access tokens (and refresh tokens unless told otherwise); returns how many."""
        with self._lock:
            now, count = self.clock.now(), 0
            for session in list(self._by_refresh.values()):
                if session.seller.id != seller_id or session.revoked:
                    continue
                session.access_expires_at = min(session.access_expires_at, now)
                if include_refresh:
                    session.revoked = True
                count += 1
            return count
