import itertools

import pytest

from wbsupply.monitor.pool import TokenPool
from wbsupply.wb.ratelimit import TokenBucket


def run_schedule(pool: TokenPool, seconds: float) -> list[tuple[str, float]]:
    """Poll as the monitor does, return (token, time) of every poll."""
    now, polls = 0.0, []
    while True:
        token, at = pool.next_poll(now)
        if at > seconds:
            return polls
        assert token.bucket.wait_time(at) == 0, "the pool scheduled a poll its bucket would refuse"
        pool.mark_used(token, at)
        polls.append((token.name, at))
        now = at


def test_one_token_polls_every_interval():
    polls = run_schedule(TokenPool.of(["a"], 12.0), 60)
    assert [t for _, t in polls] == [0, 12, 24, 36, 48, 60]


def test_three_tokens_poll_three_times_as_often_each_at_its_own_interval():
    pool = TokenPool.of(["a", "b", "c"], 12.0)
    assert pool.effective_interval_s == pytest.approx(4.0)
    polls = run_schedule(pool, 60)
    assert [t for _, t in polls] == pytest.approx([4.0 * i for i in range(16)])
    per_token = {}
    for name, at in polls:
        per_token.setdefault(name, []).append(at)
    for times in per_token.values():
        assert all(b - a >= 12.0 - 1e-9 for a, b in itertools.pairwise(times))


def test_interval_below_the_bucket_refill_is_clamped_to_stay_within_limits():
    pool = TokenPool.of(["a"], 3.0)
    polls = run_schedule(pool, 600)
    per_minute = max(sum(1 for _, t in polls if start <= t < start + 60) for start in range(0, 540, 5))
    assert per_minute <= 6
    assert pool.effective_interval_s == 10.0


def test_429_retry_is_honoured_before_the_next_poll():
    pool = TokenPool.of(["a"], 12.0)
    token, at = pool.next_poll(0.0)
    pool.mark_used(token, at)
    token.bucket.penalise(1.0, retry_after_s=45)
    _, next_at = pool.next_poll(1.0)
    assert next_at >= 46.0


def test_dropped_token_is_not_used_again():
    pool = TokenPool.of(["a", "b"], 12.0)
    first, _ = pool.next_poll(0)
    pool.drop(first)
    polls = run_schedule(pool, 60)
    assert {name for name, _ in polls} == {"token#2"}
    assert pool.dropped == ["token#1"]
    pool.drop(pool.tokens[0])
    with pytest.raises(LookupError):
        pool.next_poll(0)


def test_token_names_never_contain_the_secret():
    pool = TokenPool.of(["very-secret-token"], 12.0)
    assert "very-secret" not in repr(pool)


def test_bucket_burst_then_refill():
    bucket = TokenBucket(burst=6, interval_s=10.0)
    assert all(bucket.take(0.0) for _ in range(6))
    assert not bucket.take(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(10.0)
    assert bucket.take(10.0)


def test_small_lateness_does_not_drift_the_schedule_but_a_stall_restarts_it():
    pool = TokenPool.of(["a"], 12.0)
    sent = []
    now = 0.0
    for _ in range(10):  # every poll goes out 0.5 s late (a busy loop)
        token, at = pool.next_poll(now)
        now = at + 0.5
        pool.mark_used(token, at, now)
        sent.append(at)
    assert sent == [12.0 * i for i in range(10)]
    token, at = pool.next_poll(now)
    pool.mark_used(token, at, at + 3)  # a 3 s stall: no burst of catch-up polls afterwards
    _, following = pool.next_poll(at + 3)
    assert following == at + 3 + 12
