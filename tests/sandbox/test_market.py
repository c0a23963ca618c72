"""The sandbox market without a server: determinism, booking atomicity, capacity, login and sessions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from wbsupply.domain.statuses import BoxType
from wbsupply.sandbox.clock import SandboxClock
from wbsupply.sandbox.market import Market
from wbsupply.sandbox.models import (
    CaptchaRequired,
    CodeExpired,
    InvalidState,
    LoginBlocked,
    NotFound,
    Preorder,
    SessionExpired,
    SlotUnavailable,
    UnknownPhone,
    WrongCode,
)
from wbsupply.sandbox.simulation import SimulationConfig
from wbsupply.sandbox.warehouses import WAREHOUSES
from wbsupply.store.auth_relay import normalize_phone as relay_phone
from wbsupply.testkit import as_typed, fresh_preorder, fresh_seller, new_phone

START = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


def live_market(seed: int) -> Market:
    return Market(seed=seed, clock=SandboxClock(speed=0, start=START))


def new_preorder(market: Market, warehouse_id: int = 507, box_type: BoxType = BoxType.BOXES) -> Preorder:
    supplier = market.create_seller().suppliers[0].id
    draft = market.create_draft(supplier, [("2040000000017", 3)])
    return market.create_preorder(supplier, draft.id, warehouse_id, box_type)


# -- warehouses and the simulation ------------------------------------------------------------------------
def test_warehouses_look_real() -> None:
    by_id = {w.id: w for w in WAREHOUSES}
    assert len(WAREHOUSES) >= 50 and len(by_id) == len(WAREHOUSES)
    assert by_id[507].name == "Коледино" and by_id[117986].name == "Казань" and by_id[686].name == "Новосибирск"
    sorting_centres = [w for w in WAREHOUSES if w.is_sorting_center]
    assert sorting_centres and all(w.name.startswith("СЦ ") for w in sorting_centres)


def test_same_seed_same_market_whatever_the_step_granularity() -> None:
    coarse, fine = live_market(11), live_market(11)
    assert coarse.snapshot() == fine.snapshot()
    for _ in range(6):
        coarse.clock.advance(600)
        coarse.step()
        for _ in range(60):
            fine.clock.advance(10)
            fine.step()
        assert coarse.snapshot() == fine.snapshot()
        assert coarse.coefficients(days=30) == fine.coefficients(days=30)
    assert live_market(12).snapshot() != live_market(11).snapshot()


def test_same_seed_same_market_across_midnight() -> None:
    coarse, fine = live_market(21), live_market(21)
    coarse.clock.advance(16 * 3600)  # 09:00 → 01:00 Moscow time next day
    for _ in range(64):
        fine.clock.advance(900)
        fine.step()
    assert coarse.snapshot() == fine.snapshot() != {}


def test_creating_sellers_does_not_change_the_market() -> None:
    plain, busy = live_market(5), live_market(5)
    for _ in range(3):
        busy.create_seller(suppliers=2)
    plain.clock.advance(3600)
    busy.clock.advance(3600)
    assert plain.snapshot() == busy.snapshot()


def test_live_market_is_sparse_and_moves() -> None:
    market = live_market(3)
    cells = sum(len(w.box_types) for w in market.warehouses) * market.sim.horizon_days
    seen: set[str] = set()
    for _ in range(12):
        market.clock.advance(300)
        snapshot = market.snapshot()
        assert 0 < len(snapshot) < cells * 0.1  # mostly closed
        seen |= set(snapshot)
        coefficients = {c for c, _, _ in snapshot.values()}
        assert coefficients <= set(range(21))
    assert len(seen) > 40  # slots keep opening and closing


def test_frozen_market_has_no_open_slots(market: Market) -> None:
    market.clock.advance(24 * 3600)
    assert market.snapshot() == {} and market.step() == 0


def test_slot_lifetime(market: Market) -> None:
    day = market.clock.today_msk() + timedelta(days=1)
    market.open_slot(507, day, BoxType.BOXES, coefficient=2, capacity=1, lifetime_s=30)
    market.clock.advance(29)
    assert market.slot(507, day, BoxType.BOXES).is_open
    market.clock.advance(1)
    assert not market.slot(507, day, BoxType.BOXES).is_open


def test_calendar_shifts_at_moscow_midnight(market: Market) -> None:
    today = market.clock.today_msk()
    market.open_slot(507, today, BoxType.BOXES)
    market.clock.advance(24 * 3600)
    assert market.clock.today_msk() == today + timedelta(days=1)
    assert market.snapshot() == {}
    records = market.coefficients([507], days=30)
    assert len({r["date"] for r in records}) == 30
    assert records[0]["date"] == f"{today + timedelta(days=1)}T00:00:00Z"


def test_coefficients_omit_box_type_for_qr(market: Market) -> None:
    records = market.coefficients([507, 217081], days=1)
    assert sorted((r["warehouseID"], r.get("boxTypeID", 0)) for r in records) == [
        (507, 0), (507, 2), (507, 5), (507, 6), (217081, 0), (217081, 2)]
    assert all(("boxTypeID" in r) == (r.get("boxTypeID") is not None) for r in records)


# -- booking --------------------------------------------------------------------------------------------
def test_booking_takes_capacity(market: Market) -> None:
    day = market.clock.today_msk() + timedelta(days=4)
    market.open_slot(507, day, BoxType.BOXES, coefficient=1, capacity=3)
    preorders = [new_preorder(market) for _ in range(4)]
    for left, preorder in zip((2, 1, 0), preorders, strict=False):
        booked = market.book(preorder.supplier_id, preorder.id, day)
        assert (booked.status_id, booked.supply_date, booked.coefficient) == (2, day, 1)
        assert market.slot(507, day, BoxType.BOXES).capacity == left
    assert not market.slot(507, day, BoxType.BOXES).is_open
    with pytest.raises(SlotUnavailable):
        market.book(preorders[3].supplier_id, preorders[3].id, day)
    assert len({b.supply_id for b in market.bookings()}) == 3


def test_calendar_of_a_preorder(market: Market) -> None:
    preorder = new_preorder(market, 117501, BoxType.MONOPALLETS)
    today = market.clock.today_msk()
    market.open_slot(117501, today + timedelta(days=2), BoxType.MONOPALLETS, coefficient=7, capacity=2)
    market.open_slot(117501, today + timedelta(days=3), BoxType.BOXES, coefficient=0)  # another box type
    days = market.acceptance_costs(preorder.supplier_id, preorder.id, today, today + timedelta(days=4))
    assert [(d.coefficient, d.allow_unload, d.capacity_left) for d in days] == [
        (-1, False, 0), (-1, False, 0), (7, True, 2), (-1, False, 0), (-1, False, 0)]
    assert days[2].logistics_coefficient is not None and days[0].logistics_coefficient is None


def test_book_refuses_closed_past_and_planned(market: Market) -> None:
    preorder = new_preorder(market)
    today = market.clock.today_msk()
    with pytest.raises(SlotUnavailable):
        market.book(preorder.supplier_id, preorder.id, today + timedelta(days=1))
    market.open_slot(507, today - timedelta(days=1), BoxType.BOXES)
    with pytest.raises(SlotUnavailable):
        market.book(preorder.supplier_id, preorder.id, today - timedelta(days=1))
    market.open_slot(507, today + timedelta(days=1), BoxType.BOXES, capacity=5)
    market.book(preorder.supplier_id, preorder.id, today + timedelta(days=1))
    with pytest.raises(InvalidState):
        market.book(preorder.supplier_id, preorder.id, today + timedelta(days=1))
    with pytest.raises(NotFound):
        market.book(preorder.supplier_id + 1, preorder.id, today + timedelta(days=1))


def test_reschedule(market: Market) -> None:
    preorder = new_preorder(market)
    today = market.clock.today_msk()
    market.open_slot(507, today + timedelta(days=1), BoxType.BOXES, coefficient=10)
    market.open_slot(507, today + timedelta(days=5), BoxType.BOXES, coefficient=0)
    supply_id = market.book(preorder.supplier_id, preorder.id, today + timedelta(days=1)).supply_id
    moved = market.reschedule(preorder.supplier_id, preorder.id, today + timedelta(days=5))
    assert (moved.supply_id, moved.supply_date, moved.coefficient) == (supply_id, today + timedelta(days=5), 0)
    assert [b.rescheduled for b in market.bookings()] == [False, True]


@pytest.mark.parametrize("attempt", range(20))
def test_booking_race_for_the_last_unit(market: Market, attempt: int) -> None:
    day = market.clock.today_msk() + timedelta(days=2)
    market.open_slot(120762, day, BoxType.BOXES, coefficient=0, capacity=1)
    rivals = [new_preorder(market, 120762) for _ in range(2)]
    barrier = threading.Barrier(len(rivals))
    outcomes: dict[int, object] = {}

    def book(preorder: Preorder) -> None:
        barrier.wait()
        try:
            outcomes[preorder.id] = market.book(preorder.supplier_id, preorder.id, day)
        except SlotUnavailable as error:
            outcomes[preorder.id] = error

    threads = [threading.Thread(target=book, args=(p,)) for p in rivals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [p for p in rivals if isinstance(outcomes[p.id], Preorder)]
    losers = [p for p in rivals if isinstance(outcomes[p.id], SlotUnavailable)]
    assert len(winners) == 1 and len(losers) == 1
    loser = market.preorder(losers[0].supplier_id, losers[0].id)
    assert (loser.status_id, loser.supply_id, loser.supply_date, loser.updated_at) == (1, None, None, None)
    assert [b.preorder_id for b in market.bookings()] == [winners[0].id]
    assert not market.slot(120762, day, BoxType.BOXES).is_open


def test_set_capacity_and_close(market: Market) -> None:
    day = market.clock.today_msk() + timedelta(days=1)
    market.open_slot(507, day, BoxType.SUPERSAFE, coefficient=4)
    assert market.set_capacity(507, day, BoxType.SUPERSAFE, 9).capacity == 9
    assert not market.close_slot(507, day, BoxType.SUPERSAFE).is_open
    with pytest.raises(SlotUnavailable):
        market.set_capacity(507, day, BoxType.SUPERSAFE, 1)


def test_preorder_needs_a_box_type_the_warehouse_takes(market: Market) -> None:
    with pytest.raises(InvalidState):
        new_preorder(market, 217081, BoxType.MONOPALLETS)  # a sorting centre takes boxes only


# -- login and sessions ---------------------------------------------------------------------------------
def test_login_with_code(market: Market) -> None:
    # One written-out number on purpose: the test is about the spellings of a phone, not about the seller.
    seller = market.create_seller(phone="8 (916) 123-45-67")
    assert seller.phone == "+79161234567" and market.seller_by_phone("+7 916 123 45 67") is seller
    market.request_code(seller.phone)
    sms = market.inbox(seller.phone)[0]
    assert len(sms.code) == 6 and sms.code in sms.text
    with pytest.raises(WrongCode):
        market.verify_code(seller.phone, "000000" if sms.code != "000000" else "111111")
    assert market.verify_code(seller.phone, sms.code) is seller
    with pytest.raises(CodeExpired):  # a code works once
        market.verify_code(seller.phone, sms.code)
    with pytest.raises(UnknownPhone):
        market.request_code("+70000000000")
    with pytest.raises(ValueError):
        market.create_seller(phone="12345")


def test_fresh_sellers_have_their_own_valid_numbers(market: Market) -> None:
    """The test kit's numbers: each one new, a mobile the cabinet's relay and the sandbox both accept, also
    typed the way a seller writes it."""
    phones = [new_phone() for _ in range(200)]
    assert len(set(phones)) == 200 and not any(p.startswith("+7999") for p in phones)  # the demo's numbers
    assert all(relay_phone(p) == p and relay_phone(as_typed(p)) == p for p in phones)
    seller = fresh_seller(market, suppliers=2)
    preorder = fresh_preorder(market, seller, supplier=1)
    assert market.seller_by_phone(as_typed(seller.phone)) is seller and seller.phone not in phones
    assert (preorder.supplier_id, preorder.warehouse_id) == (seller.suppliers[1].id, 507)


def test_code_lives_five_minutes(market: Market) -> None:
    seller = market.create_seller()
    market.request_code(seller.phone)
    market.clock.advance(300)
    with pytest.raises(CodeExpired):
        market.verify_code(seller.phone, market.inbox(seller.phone)[0].code)


def test_login_throttle_blocks_for_three_hours(market: Market) -> None:
    seller = market.create_seller()
    for _ in range(3):
        market.request_code(seller.phone)
        market.clock.advance(60)
    with pytest.raises(LoginBlocked) as blocked:
        market.request_code(seller.phone)
    assert blocked.value.hours == 3 and "3 ч" in str(blocked.value)
    market.clock.advance(2 * 3600)
    with pytest.raises(LoginBlocked) as blocked:
        market.request_code(seller.phone)
    assert blocked.value.hours == 1
    market.clock.advance(3600)
    market.request_code(seller.phone)


def test_spread_requests_are_not_throttled(market: Market) -> None:
    seller = market.create_seller()
    for _ in range(6):
        market.request_code(seller.phone)
        market.clock.advance(301)


def test_forced_block_and_captcha(market: Market) -> None:
    seller = market.create_seller()
    market.block_login(seller.phone, 5)
    with pytest.raises(LoginBlocked) as blocked:
        market.request_code(seller.phone)
    assert blocked.value.hours == 5
    market.block_login(seller.phone, 0)
    market.force_captcha(seller.phone, True)
    with pytest.raises(CaptchaRequired):
        market.request_code(seller.phone)
    challenge = market.captcha_challenge(seller.phone)
    assert challenge and not market.solve_captcha(seller.phone, "wrong")
    challenge = market.captcha_challenge(seller.phone)
    assert challenge and market.solve_captcha(seller.phone, challenge.lower())
    market.request_code(seller.phone)
    assert market.captcha_challenge(seller.phone) is None


def test_sessions_expire_and_refresh(market: Market) -> None:
    seller = market.create_seller(suppliers=2)
    tokens = market.open_session(seller.id)
    session = market.session(tokens.access_token)
    assert session is not None and session.seller is seller and session.supplier_id == seller.suppliers[0].id
    assert market.select_supplier(tokens.access_token, seller.suppliers[1].id).supplier_id == seller.suppliers[1].id
    with pytest.raises(NotFound):
        market.select_supplier(tokens.access_token, 1)
    market.clock.advance(15 * 60)
    assert market.session(tokens.access_token) is None
    renewed = market.refresh_session(tokens.refresh_token)
    assert market.session(renewed.access_token) is not None and renewed.supplier_id == seller.suppliers[1].id
    with pytest.raises(SessionExpired):  # refresh tokens rotate
        market.refresh_session(tokens.refresh_token)
    market.clock.advance(7 * 24 * 3600)
    with pytest.raises(SessionExpired):
        market.refresh_session(renewed.refresh_token)


def test_expire_sessions(market: Market) -> None:
    seller = market.create_seller()
    soft, hard = market.open_session(seller.id), market.open_session(seller.id)
    assert market.expire_sessions(seller.id, include_refresh=False) == 2
    assert market.session(soft.access_token) is None
    renewed = market.refresh_session(soft.refresh_token)
    market.expire_sessions(seller.id)
    assert market.session(renewed.access_token) is None
    for tokens in (renewed, hard):
        with pytest.raises(SessionExpired):
            market.refresh_session(tokens.refresh_token)


def test_reset_forgets_everything(market: Market) -> None:
    seller = market.create_seller()
    market.open_slot(507, market.clock.today_msk() + timedelta(days=1), BoxType.BOXES)
    market.public_api_disabled = True
    market.reset()
    assert market.seller_by_token(seller.api_token) is None and market.snapshot() == {}
    assert not market.public_api_disabled


def test_frozen_config() -> None:
    frozen = SimulationConfig.frozen()
    assert frozen.open_rate_per_min == 0 and frozen.competitor_take_rate_per_min == 0
