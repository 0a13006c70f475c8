"""What a provider handler raises to tell the engine what to do with its event.

- `RetryableError`: try again later (5xx, timeout, connection error); counts an attempt, and after
  the last attempt the event is `dead`. `retry_after` (seconds) is a minimum delay (Retry-After).
- `PermanentError`: retrying cannot help (a 4xx from the service, data that can never apply); the
  event goes straight to `dead` with the error kept, so it can be replayed once fixed.
- `CircuitOpenError`: the service's breaker is open; the event is rescheduled for `retry_at`
  without counting an attempt.
Any other exception is treated like `RetryableError`.
"""

from datetime import datetime


class RetryableError(Exception):
    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    pass


class CircuitOpenError(Exception):
    def __init__(self, message: str = "", *, retry_at: datetime) -> None:
        super().__init__(message or "circuit open")
        self.retry_at = retry_at
