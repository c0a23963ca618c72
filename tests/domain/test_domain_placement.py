"""place(): bots into worker pods of at most N, dedicated bots alone, nobody moved by others coming and going."""

from __future__ import annotations

import random

import pytest

from wbsupply.domain.placement import BotDemand, PodMemory, PodNames, mib, place, pods_of


def _number(pod: str) -> int | None:
    return int(pod.removeprefix("pool-")) if pod.startswith("pool-") else None


NAMES = PodNames(shared=lambda n: f"pool-{n}", dedicated=lambda bot: f"bot-{bot}", shared_number=_number)


def bots(count: int, start: int = 0) -> list[BotDemand]:
    return [BotDemand(f"s{i:03d}") for i in range(start, start + count)]


def test_25_bots_fill_three_pods_of_at_most_10() -> None:
    placement = place(bots(25), {}, 10, NAMES)
    sizes = {pod: len(members) for pod, members in pods_of(placement).items()}
    assert sizes == {"pool-1": 10, "pool-2": 10, "pool-3": 5}


def test_removing_bots_moves_nobody_and_new_bots_fill_the_holes() -> None:
    before = place(bots(25), {}, 10, NAMES)
    remaining = [b for b in bots(25) if b.name not in {"s001", "s002", "s003", "s004", "s005"}]
    after = place(remaining, before, 10, NAMES)
    assert after == {bot: pod for bot, pod in before.items() if bot in {b.name for b in remaining}}
    grown = place([*remaining, *bots(6, start=100)], after, 10, NAMES)
    assert {bot: grown[bot] for bot in after} == after  # the old ones stay
    sizes = {pod: len(members) for pod, members in pods_of(grown).items()}
    # pool-1 and pool-3 both hold 5: the lower number fills first, the sixth bot goes to pool-3.
    assert sizes == {"pool-1": 10, "pool-2": 10, "pool-3": 6}


def test_a_dedicated_bot_gets_a_pod_of_its_own_and_keeps_it() -> None:
    demand = [*bots(3), BotDemand("vip", dedicated=True)]
    placement = place(demand, {}, 10, NAMES)
    assert placement["vip"] == "bot-vip"
    assert pods_of(placement) == {"bot-vip": ["vip"], "pool-1": ["s000", "s001", "s002"]}
    # Turning dedication off moves only that bot (into the shared pod); turning it on moves it out again.
    shared = place([*bots(3), BotDemand("vip")], placement, 10, NAMES)
    assert shared["vip"] == "pool-1" and {b: shared[b] for b in ("s000", "s001", "s002")} == dict.fromkeys(
        ("s000", "s001", "s002"), "pool-1")
    assert place(demand, shared, 10, NAMES) == placement


def test_a_bot_in_a_foreign_or_unknown_pod_is_placed_afresh() -> None:
    placement = place(bots(2), {"s000": "bot-someone", "s001": "elsewhere"}, 10, NAMES)
    assert placement == {"s000": "pool-1", "s001": "pool-1"}


def test_lowering_the_capacity_moves_only_the_overflow() -> None:
    before = place(bots(10), {}, 10, NAMES)
    after = place(bots(10), before, 4, NAMES)
    assert pods_of(after) == {"pool-1": ["s000", "s001", "s002", "s003"], "pool-2": ["s004", "s005", "s006", "s007"],
                              "pool-3": ["s008", "s009"]}


def test_random_churn_never_moves_a_staying_bot_and_never_overfills() -> None:
    rng = random.Random(7)
    alive: dict[str, BotDemand] = {}
    placement: dict[str, str] = {}
    for step in range(300):
        if alive and rng.random() < 0.4:
            alive.pop(rng.choice(sorted(alive)))
        else:
            name = f"b{step}"
            alive[name] = BotDemand(name, dedicated=rng.random() < 0.1)
        new = place(alive.values(), placement, 5, NAMES)
        assert set(new) == set(alive)
        assert all(new[bot] == placement[bot] for bot in placement if bot in alive)
        assert all(len(members) <= 5 for members in pods_of(new).values())
        assert all(new[bot.name] == f"bot-{bot.name}" for bot in alive.values() if bot.dedicated)
        placement = new


def test_a_closed_pod_keeps_its_bots_but_takes_no_new_ones() -> None:
    before = place(bots(3), {}, 10, NAMES)
    after = place(bots(5), before, 10, NAMES, closed={"pool-1"})
    assert pods_of(after) == {"pool-1": ["s000", "s001", "s002"], "pool-2": ["s003", "s004"]}


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        place(bots(1), {}, 0, NAMES)


def test_pod_memory_is_base_plus_per_bot_with_headroom() -> None:
    memory = PodMemory(base_mib=400, per_bot_mib=40, headroom=0.25)
    assert memory.request_mib(10) == 800 and memory.limit_mib(10) == 1000
    assert memory.resources(1) == {"request": "440Mi", "limit": "550Mi"}
    assert memory.request_mib(0) == 440  # an empty pod is sized for one bot


@pytest.mark.parametrize(("quantity", "expected"), [("512Mi", 512), ("1Gi", 1024), ("1000M", 954), ("2048Ki", 2)])
def test_memory_quantities_in_mib(quantity: str, expected: int) -> None:
    assert mib(quantity) == expected
