"""judge(): a booking is ours only if WB shows our preorder planned on exactly our slot and we asked for it."""

from __future__ import annotations

import datetime as dt

import pytest

from wbsupply.domain.booking import Verdict, WbPreorder, claim_key, judge
from wbsupply.domain.slots import SlotKey
from wbsupply.domain.statuses import BoxType
from wbsupply.domain.tasks import SupplyTaskSpec

DAY = dt.date(2026, 12, 4)
SLOT = SlotKey(507, DAY, BoxType.BOXES)


def planned(**changes: object) -> WbPreorder:
    values: dict[str, object] = {"status_id": 2, "supply_id": 26600001, "warehouse_id": 507, "supply_date": DAY,
                                 "box_type": BoxType.BOXES, "warehouse_name": "Коледино"}
    values.update(changes)
    return WbPreorder(**values)  # type: ignore[arg-type]


def test_planned_on_exactly_our_slot_at_our_request_is_ours() -> None:
    assert judge(planned(), SLOT, asked=True).verdict is Verdict.OURS
    assert judge(planned(status_id=3), SLOT, asked=True).ours  # later statuses are still planned


@pytest.mark.parametrize(("change", "word"), [
    ({"warehouse_id": 117501}, "склад"),
    ({"supply_date": DAY + dt.timedelta(days=1)}, "дата"),
    ({"box_type": BoxType.MONOPALLETS}, "тип поставки"),
    ({"box_type": None}, "тип поставки"),
])
def test_planned_anywhere_else_is_not_ours(change: dict[str, object], word: str) -> None:
    verdict = judge(planned(**change), SLOT, asked=True, preorder_id=34600001)
    assert verdict.verdict is Verdict.ELSEWHERE
    assert "34600001" in verdict.reason and word in verdict.reason and "26600001" in verdict.reason


def test_planned_without_our_asking_is_not_ours_even_on_our_slot() -> None:
    verdict = judge(planned(), SLOT, asked=False, preorder_id=34600001)
    assert verdict.verdict is Verdict.ELSEWHERE and "без бота" in verdict.reason


def test_not_planned_and_gone() -> None:
    assert judge(WbPreorder(status_id=1, warehouse_id=507), SLOT, asked=True).verdict is Verdict.NOT_BOOKED
    gone = judge(None, SLOT, asked=True, preorder_id=7)
    assert gone.verdict is Verdict.GONE and "Заказ 7 не найден" in gone.reason


def test_a_booking_task_claims_its_preorder_else_its_draft() -> None:
    base = {"account_id": "1", "warehouses": [507], "box_type": "boxes"}
    assert claim_key(SupplyTaskSpec.model_validate({**base, "preorder_id": 5, "draft_id": "x"})) == "preorder:5"
    assert claim_key(SupplyTaskSpec.model_validate({**base, "draft_id": " AbC "})) == "draft:abc"
    assert claim_key(SupplyTaskSpec.model_validate({**base, "draft_id": "abc", "mode": "notify"})) is None


def test_a_supply_the_seller_planned_is_movable_only_while_planned_and_the_texts_say_what_to_do() -> None:
    from wbsupply.domain.booking import adopted_text, planned_by_hand_text

    assert planned().movable and not planned(status_id=3).movable and not planned(supply_date=None).movable
    assert not WbPreorder(status_id=1).movable
    offer = planned_by_hand_text(34600001, planned(), offer=True)
    assert offer.startswith("Поставка по заказу 34600001 уже запланирована в кабинете WB (Коледино, 4 декабря 2026, "
                            "поставка № 26600001). Чтобы бот искал для неё слот лучше, нажмите «Исправить и "
                            "запустить», включите «После бронирования переносить поставку»")
    assert planned_by_hand_text(34600001, planned(), offer=False).endswith("поставка № 26600001)")  # notify-only
    shipping = planned_by_hand_text(34600001, planned(status_id=3), offer=True)
    assert shipping.endswith("WB уже не переносит её на другую дату") and "Исправить" not in shipping
    assert adopted_text(34600001, planned()) == (
        "Поставка по заказу 34600001 уже запланирована на 4 декабря 2026 (Коледино, поставка № 26600001) — бот ищет "
        "слот лучше. Бронирование тарифа не списано")
