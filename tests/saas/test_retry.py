"""saas.retry.backoff_delay: the one back-off rule of outgoing calls, events and message sends."""

from saas.retry import backoff_delay


def test_full_jitter_within_the_capped_exponential_window():
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 4.0)]:
        delays = [backoff_delay(attempt=attempt, base=0.5, cap=4.0) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
    assert all(0 <= backoff_delay(attempt=0, base=1.0, cap=8.0) <= 1.0 for _ in range(50))


def test_retry_after_is_a_floor():
    assert all(backoff_delay(attempt=1, base=0.5, cap=4.0, retry_after=30) == 30 for _ in range(50))
    assert all(backoff_delay(attempt=1, base=0.5, cap=4.0, retry_after=0) >= 0 for _ in range(50))
