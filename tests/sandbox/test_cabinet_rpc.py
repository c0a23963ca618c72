"""The cabinet's proof of work and JSON-RPC envelope without a browser (fast)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from wbsupply.sandbox import pow
from wbsupply.sandbox.market import Market
from wbsupply.sandbox.testing import RunningSandbox
from wbsupply.testkit import fresh_seller
from wbsupply.wb import cabinet_spec as spec


def test_leading_zero_bits_and_solver() -> None:
    assert pow.leading_zero_bits(bytes([0, 0, 0b0001_0000])) == 19
    assert pow.leading_zero_bits(bytes(4)) == 32
    nonce = pow.solve("abc", 10)
    assert hashlib.sha256(f"abc{nonce}".encode()).digest()[0] == 0
    assert pow.check("abc", nonce, 10) and not any(pow.check("abc", n, 10) for n in range(nonce))


def test_challenges_are_single_use_and_must_be_solved() -> None:
    book = pow.ChallengeBook()
    challenge = book.issue(8)
    nonce = pow.solve(challenge, 8)
    assert not book.redeem(None) and not book.redeem("garbage") and not book.redeem(f"{challenge}:x")
    assert not book.redeem(pow.make_token("unknown", nonce))
    assert book.redeem(pow.make_token(challenge, nonce))
    assert not book.redeem(pow.make_token(challenge, nonce))  # spent
    other = book.issue(8)
    assert not book.redeem(pow.make_token(other, next(n for n in range(100) if not pow.check(other, n, 8))))
    expired = pow.ChallengeBook(ttl_seconds=0)
    stale = expired.issue(0)
    assert not expired.redeem(pow.make_token(stale, 0))


def test_coefficient_texts() -> None:
    assert [spec.coefficient_text(c) for c in (-1, 0, 3, 1.5)] == ["Пока недоступно", "Бесплатно", "×3", "×1.5"]
    assert spec.blocked_text(2) == "Слишком много попыток. Попробуйте через 2 ч."


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url) as client:
        yield client


@pytest.fixture
def market(sandbox: RunningSandbox) -> Market:
    return sandbox.market


def logged_in(client: httpx.Client, market: Market) -> Any:
    seller = fresh_seller(market)
    client.post(spec.LOGIN_PHONE_PATH, data={"phone": seller.phone})
    response = client.post(spec.LOGIN_CODE_PATH, data={"phone": seller.phone, "code": market.inbox()[0].code},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == spec.SUPPLIES_PATH
    return seller


def test_json_rpc_envelope(client: httpx.Client, market: Market) -> None:
    logged_in(client, market)
    url = spec.rpc_path(spec.RPC_LIST_SUPPLIES)
    ok = client.post(url, json={"params": {}, "jsonrpc": "2.0", "id": 3}).json()
    assert ok == {"jsonrpc": "2.0", "id": 3, "result": {"drafts": [], "preorders": []}}
    broken = client.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == -32700
    assert client.post(url, json={"id": 4}).json()["error"]["code"] == -32600
    unknown = client.post(spec.rpc_path("supply/nope"), json={"jsonrpc": "2.0", "id": 5})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == spec.RPC_ERR_METHOD_NOT_FOUND
    missing = client.post(spec.rpc_path(spec.RPC_GET_PREORDER), json={"jsonrpc": "2.0", "id": 6, "params": {}})
    assert missing.json()["error"]["code"] == spec.RPC_ERR_INVALID_PARAMS
    absent = {"jsonrpc": "2.0", "id": 7, "params": {"preorderID": 1}}
    assert client.post(spec.rpc_path(spec.RPC_GET_PREORDER), json=absent).json()["error"]["code"] == 404
    for goods in ([], ["not an object"], [{"barcode": "123", "quantity": "many"}]):
        bad = {"jsonrpc": "2.0", "id": 8, "params": {"goods": goods}}
        assert client.post(spec.rpc_path(spec.RPC_CREATE_DRAFT), json=bad).json()["error"]["code"] == -32602


def test_foreign_validation_key_is_not_a_session(client: httpx.Client, market: Market) -> None:
    logged_in(client, market)
    client.cookies.set(spec.COOKIE_VALIDATION, "stolen-token-elsewhere")
    response = client.post(spec.rpc_path(spec.RPC_LIST_SUPPLIES), json={"jsonrpc": "2.0", "id": 1})
    assert response.status_code == 401
    page = client.get(spec.SUPPLIES_PATH, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith(spec.RESTORE_PATH)


def test_login_never_redirects_off_site(client: httpx.Client, market: Market) -> None:
    seller = fresh_seller(market)
    client.post(spec.LOGIN_PHONE_PATH, data={"phone": seller.phone})
    for target in ("https://evil.example", "//evil.example", "/\\evil.example"):
        response = client.post(spec.LOGIN_CODE_PATH, follow_redirects=False, data={
            "phone": seller.phone, "code": "000000", "next": target})
        assert "evil" not in response.text
    market.request_code(seller.phone)
    response = client.post(spec.LOGIN_CODE_PATH, follow_redirects=False, data={
        "phone": seller.phone, "code": market.inbox(seller.phone)[0].code, "next": "//evil.example"})
    assert response.headers["location"] == spec.SUPPLIES_PATH
