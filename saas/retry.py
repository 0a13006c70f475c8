"""When to try again: exponential back-off with full jitter (AWS's "Exponential Backoff And
Jitter"): uniform in [0, min(cap, base * 2**(attempt-1))], at least what the server asked for."""

import random


def backoff_delay(*, attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1`; `retry_after` (a server's Retry-After) is a floor."""
    delay = random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))  # noqa: S311 - jitter, not crypto
    return delay if retry_after is None else max(delay, retry_after)
