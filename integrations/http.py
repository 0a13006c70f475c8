"""The one outgoing HTTP client for the three services.

Every call: connect and read timeouts; an `Idempotency-Key` on every POST (the same key on every
retry of that call, so the service can deduplicate); each attempt asks the shared circuit breaker
first (`breaker.py`) and reports to it; retries with exponential back-off and full jitter on
connection errors, timeouts, 429 and 5xx, honouring `Retry-After`; never on any other 4xx.

What a caller gets:
- the decoded JSON body of a 2xx (None when empty);
- `ServiceRejected` (a `PermanentError`) for any other 4xx, with `status_code`;
- `RetryableError(retry_after=...)` when the attempts ran out or the service asked for a wait
  longer than a worker should sleep (`INTEGRATIONS_HTTP_MAX_INLINE_WAIT`): the engine retries
  the event later;
- `CircuitOpenError(retry_at=...)` when the breaker is open: no request was made.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings

from saas.retry import backoff_delay
from saas.typing import connection

from .breaker import CircuitBreaker, breaker_for
from .errors import PermanentError, RetryableError
from .selectors import integration_settings_get

logger = logging.getLogger(__name__)

USER_AGENT = "saas-platform/1.0 (+integrations)"
sleep = time.sleep  # module level so tests can watch the waits without slowing down


class ServiceRejected(PermanentError):
    """The service answered with a 4xx other than 429: retrying the same request cannot help."""

    def __init__(self, message: str, *, status_code: int, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(tz=UTC))).total_seconds())


def retry_delay(*, attempts: int, retry_after: float | None = None) -> float:
    """When a failed event (or message send) is due again: the shared back-off with the webhook
    settings, never sooner than the service's Retry-After."""
    return backoff_delay(
        attempt=attempts,
        base=settings.WEBHOOK_BACKOFF_BASE_SECONDS,
        cap=settings.WEBHOOK_BACKOFF_CAP_SECONDS,
        retry_after=retry_after,
    )


class ServiceClient:
    """Calls one service for one tenant (the breaker is that tenant's breaker for that service)."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        api_key: str | None = None,
        breaker: CircuitBreaker,
        session: requests.Session | None = None,
        max_attempts: int | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.breaker = breaker
        self.session = session or requests.Session()
        self.max_attempts = max_attempts or int(settings.INTEGRATIONS_HTTP_MAX_ATTEMPTS)
        self.timeout = (
            float(settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT),
            float(settings.INTEGRATIONS_HTTP_READ_TIMEOUT),
        )

    def get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self._decode(self.request("GET", path, params=params))

    def post(self, path: str, *, json: Any, idempotency_key: str | None = None) -> Any:
        return self._decode(self.request("POST", path, json=json, idempotency_key=idempotency_key))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> requests.Response:
        url = f"{self.base_url}/{path.lstrip('/')}"
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if method.upper() == "POST":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        base = float(settings.INTEGRATIONS_HTTP_BACKOFF_BASE)
        cap = float(settings.INTEGRATIONS_HTTP_BACKOFF_CAP)
        max_wait = float(settings.INTEGRATIONS_HTTP_MAX_INLINE_WAIT)

        problem = ""
        retry_after: float | None = None
        for attempt in range(1, self.max_attempts + 1):
            ticket = self.breaker.before_call()  # CircuitOpenError: nothing is sent
            retry_after = None
            try:
                response = self.session.request(
                    method, url, params=params, json=json, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.breaker.record_failure(ticket)
                problem = f"{type(exc).__name__} calling {self.service}"
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    self.breaker.record_failure(ticket)
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    problem = f"{self.service} answered {status} to {method} {path}"
                else:
                    self.breaker.record_success(ticket)
                    if status >= 400:
                        raise ServiceRejected(
                            f"{self.service} answered {status} to {method} {path}",
                            status_code=status,
                            body=response.text[:500],
                        )
                    return response
            logger.info(
                "outgoing call failed",
                extra={"service": self.service, "attempt": attempt, "problem": problem},
            )
            if attempt == self.max_attempts:
                break
            if retry_after is not None:
                delay = retry_after  # the service said when; within one call that is the wait
            else:
                delay = backoff_delay(attempt=attempt, base=base, cap=cap)
            if delay > max_wait:
                # Don't hold a worker for a long wait: the engine reschedules the event instead.
                raise RetryableError(problem, retry_after=delay)
            sleep(delay)
        raise RetryableError(problem, retry_after=retry_after)

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(f"non-JSON answer from {response.url}") from exc


def service_client(service: str) -> ServiceClient | None:
    """The client of the current tenant for `service`, or None when it is disabled or unset.

    The breaker key is the current schema, so a tenant's failures never open another's breaker.
    """

    endpoint = integration_settings_get(service=service)
    if endpoint is None or not endpoint.enabled or not endpoint.base_url:
        return None
    return ServiceClient(
        service=service,
        base_url=endpoint.base_url,
        api_key=endpoint.api_key_value() or None,
        breaker=breaker_for(schema=connection.schema_name, service=service),
    )


def fetch_or_none(service: str, path: str) -> dict[str, Any] | None:
    """`GET {base_url}{path}` of the current tenant's `service`: the JSON object, or None when the
    service is not configured or answers 404. Timeouts, 5xx and an open breaker propagate (the
    engine retries or reschedules the event); any other 4xx raises `ServiceRejected`."""
    client = service_client(service)
    if client is None:
        return None
    try:
        answer = client.get(path)
    except ServiceRejected as exc:
        if exc.status_code == 404:
            return None
        raise
    return answer if isinstance(answer, dict) else None
