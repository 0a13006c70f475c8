"""The outgoing client against the sandbox as a real HTTP server: retries, Retry-After, 4xx, keys."""

import uuid
from typing import Any

import pytest

from integrations import http
from integrations.breaker import CircuitBreaker
from integrations.errors import RetryableError
from integrations.http import ServiceClient, ServiceRejected, parse_retry_after
from saas.retry import backoff_delay

from .conftest import SandboxControl


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's back-off waits, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(http, "sleep", recorded.append)
    return recorded


def client(sandbox: SandboxControl, service: str, **kwargs: Any) -> ServiceClient:
    schema = f"t_http_{uuid.uuid4().hex[:8]}"  # a breaker of its own per test
    return ServiceClient(
        service=service,
        base_url=sandbox.base_url(service),
        api_key="key-1",
        breaker=CircuitBreaker(schema=schema, service=service),
        **kwargs,
    )


def test_get_returns_the_decoded_answer(sandbox: SandboxControl) -> None:
    user = client(sandbox, "user-service").get("/users/usr_0001")
    assert user["id"] == "usr_0001"
    assert "@" in user["email"]


def test_5xx_is_retried_with_jittered_backoff_then_succeeds(
    sandbox: SandboxControl, waits: list[float], settings: Any
) -> None:
    settings.INTEGRATIONS_HTTP_BACKOFF_BASE = 0.2
    sandbox.fault("user-service", error_rate=1.0, status=503, count=2)
    user = client(sandbox, "user-service").get("/users/usr_0002")
    assert user["id"] == "usr_0002"
    assert sandbox.requests_to("user-service") == 3
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.2
    assert 0 <= waits[1] <= 0.4


def test_retry_after_is_honoured(sandbox: SandboxControl, waits: list[float]) -> None:
    sandbox.fault("user-service", error_rate=1.0, status=429, retry_after=3, count=1)
    assert client(sandbox, "user-service").get("/users/usr_0003")["id"] == "usr_0003"
    assert waits == [3.0]
    assert sandbox.requests_to("user-service") == 2


def test_a_long_retry_after_reschedules_instead_of_blocking_the_worker(
    sandbox: SandboxControl, waits: list[float], settings: Any
) -> None:
    settings.INTEGRATIONS_HTTP_MAX_INLINE_WAIT = 5
    sandbox.fault("payment-service", error_rate=1.0, status=503, retry_after=120)
    with pytest.raises(RetryableError) as caught:
        client(sandbox, "payment-service").get("/subscriptions/sub_demo")
    assert caught.value.retry_after == 120
    assert waits == []
    assert sandbox.requests_to("payment-service") == 1


def test_a_400_is_not_retried(sandbox: SandboxControl, waits: list[float]) -> None:
    with pytest.raises(ServiceRejected) as caught:
        client(sandbox, "communication-service").post("/messages", json={"subject": "no recipient"})
    assert caught.value.status_code == 400
    assert sandbox.requests_to("communication-service") == 1
    assert waits == []


def test_a_404_is_permanent_and_not_retried(sandbox: SandboxControl, waits: list[float]) -> None:
    with pytest.raises(ServiceRejected) as caught:
        client(sandbox, "user-service").get("/users/usr_missing")
    assert caught.value.status_code == 404
    assert sandbox.requests_to("user-service") == 1


def test_attempts_run_out_as_a_retryable_error(sandbox: SandboxControl, waits: list[float]) -> None:
    sandbox.fault("user-service", error_rate=1.0, status=502)
    with pytest.raises(RetryableError):
        client(sandbox, "user-service", max_attempts=3).get("/users/usr_0001")
    assert sandbox.requests_to("user-service") == 3
    assert len(waits) == 2


def test_a_read_timeout_is_retried(sandbox: SandboxControl, waits: list[float], settings: Any) -> None:
    settings.INTEGRATIONS_HTTP_READ_TIMEOUT = 0.2
    sandbox.fault("user-service", latency_ms=1500, count=None, error_rate=0)
    with pytest.raises(RetryableError, match="Timeout"):
        client(sandbox, "user-service", max_attempts=2).get("/users/usr_0001")
    assert len(waits) == 1


def test_connection_refused_is_retried(waits: list[float]) -> None:
    from tests.conftest import free_port

    dead = ServiceClient(
        service="user-service",
        base_url=f"http://127.0.0.1:{free_port()}/user-service",
        breaker=CircuitBreaker(schema="t_http_dead", service="user-service"),
        max_attempts=2,
    )
    with pytest.raises(RetryableError, match="ConnectionError"):
        dead.get("/users/usr_0001")
    assert len(waits) == 1


def test_every_post_carries_an_idempotency_key_kept_across_retries(
    sandbox: SandboxControl, waits: list[float]
) -> None:
    sandbox.fault("communication-service", error_rate=1.0, status=500, count=1)
    c = client(sandbox, "communication-service")
    first = c.post("/messages", json={"to": "ada@example.test"}, idempotency_key="welcome-1")
    again = c.post("/messages", json={"to": "ada@example.test"}, idempotency_key="welcome-1")
    other = c.post("/messages", json={"to": "ada@example.test"})  # a key is made when none is given
    assert first["id"] == again["id"] != other["id"]
    assert len(sandbox.state()["messages"]) == 2


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_backoff_is_full_jitter_under_the_cap() -> None:
    delays = [backoff_delay(attempt=10, base=0.5, cap=4.0) for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100
