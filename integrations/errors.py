"""Errors a provider handler raises to tell the engine what to do with the event."""

from datetime import datetime


class RetryableError(Exception):
    """A transient failure (timeout, 5xx, 429): retry later, after `retry_after` seconds if given."""

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """A failure that retrying cannot fix (e.g. a 4xx from the service)."""


class CircuitOpenError(Exception):
    """The service's breaker is open: reschedule at `retry_at` without counting an attempt."""

    def __init__(self, message: str = "", *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at
