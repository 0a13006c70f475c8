"""The shared circuit breaker: opens after 5, fails fast, one probe across processes, closes."""

import subprocess
import sys
import time
import uuid
from typing import Any

import pytest

from integrations import breaker as breaker_module
from integrations import http
from integrations.breaker import CircuitBreaker
from integrations.errors import CircuitOpenError, RetryableError
from integrations.http import ServiceClient
from tests.conftest import ROOT, free_port, subprocess_env, wait_for

from .conftest import SandboxControl


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "sleep", lambda _seconds: None)


@pytest.fixture
def short_reset(settings: Any) -> float:
    settings.INTEGRATIONS_BREAKER_RESET_SECONDS = 0.5
    return 0.5


def make_client(sandbox: SandboxControl, schema: str, service: str = "user-service") -> ServiceClient:
    return ServiceClient(
        service=service,
        base_url=sandbox.base_url(service),
        breaker=CircuitBreaker(schema=schema, service=service),
        max_attempts=1,
    )


def fail_n(client: ServiceClient, n: int) -> None:
    for _ in range(n):
        with pytest.raises(RetryableError):
            client.get("/users/usr_0001")


def test_opens_after_five_failures_in_a_row_and_stops_calling(sandbox: SandboxControl) -> None:
    client = make_client(sandbox, "t_brk_open")
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(client, 4)
    assert client.breaker.snapshot()["state"] == "closed"
    assert client.breaker.snapshot()["failures"] == 4
    fail_n(client, 1)
    snap = client.breaker.snapshot()
    assert snap["state"] == "open"
    assert snap["opened_at"] is not None
    for _ in range(10):
        with pytest.raises(CircuitOpenError) as caught:
            client.get("/users/usr_0001")
    assert caught.value.retry_at > snap["opened_at"]
    assert sandbox.requests_to("user-service") == 5


def test_retries_inside_one_call_count_as_failures_and_stop_when_it_opens(
    sandbox: SandboxControl,
) -> None:
    client = make_client(sandbox, "t_brk_retries")
    client.max_attempts = 10
    sandbox.fault("user-service", error_rate=1.0)
    with pytest.raises(CircuitOpenError):
        client.get("/users/usr_0001")
    assert sandbox.requests_to("user-service") == 5


def test_a_success_resets_the_count(sandbox: SandboxControl) -> None:
    client = make_client(sandbox, "t_brk_reset")
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(client, 4)
    sandbox.clear_faults()
    client.get("/users/usr_0001")
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(client, 4)
    assert client.breaker.snapshot()["state"] == "closed"


def test_4xx_answers_do_not_open_it(sandbox: SandboxControl) -> None:
    client = make_client(sandbox, "t_brk_4xx")
    for _ in range(8):
        with pytest.raises(http.ServiceRejected):
            client.get("/users/nobody")
    assert client.breaker.snapshot()["state"] == "closed"


def test_after_the_open_period_one_probe_closes_it_on_success(
    sandbox: SandboxControl, short_reset: float
) -> None:
    client = make_client(sandbox, "t_brk_probe")
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(client, 5)
    sandbox.clear_faults()
    wait_for(lambda: client.breaker.snapshot()["state"] == "half_open", what="half-open")
    assert client.get("/users/usr_0001")["id"] == "usr_0001"
    assert client.breaker.snapshot()["state"] == "closed"
    assert client.breaker.snapshot()["failures"] == 0
    assert sandbox.requests_to("user-service") == 6


def test_a_failed_probe_opens_it_for_another_period(sandbox: SandboxControl, short_reset: float) -> None:
    client = make_client(sandbox, "t_brk_reprobe")
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(client, 5)
    first_open = client.breaker.snapshot()["opened_at"]
    wait_for(lambda: client.breaker.snapshot()["state"] == "half_open", what="half-open")
    fail_n(client, 1)  # the probe
    snap = client.breaker.snapshot()
    assert snap["state"] == "open"
    assert snap["opened_at"] > first_open
    with pytest.raises(CircuitOpenError):
        client.get("/users/usr_0001")
    assert sandbox.requests_to("user-service") == 6


def test_while_the_probe_is_out_everyone_else_fails_fast() -> None:
    br = CircuitBreaker(schema="t_brk_inflight", service="user-service")
    br.reset_seconds = 0.0
    tickets = [br.before_call() for _ in range(5)]
    for ticket in tickets:
        br.record_failure(ticket)
    probe = br.before_call()
    assert probe.probe
    for _ in range(20):
        with pytest.raises(CircuitOpenError):
            br.before_call()
    br.record_success(probe)
    assert not br.before_call().probe


_PROBER = """
import sys, time, threading, django
django.setup()
from integrations.http import ServiceClient
from integrations.breaker import CircuitBreaker
from integrations.errors import CircuitOpenError, RetryableError
base_url, schema, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
outcomes = []
def call():
    client = ServiceClient(service="user-service", base_url=base_url,
                           breaker=CircuitBreaker(schema=schema, service="user-service"), max_attempts=1)
    while time.time() < start_at:
        time.sleep(0.001)
    try:
        client.get("/users/usr_0001")
        outcomes.append("ok")
    except CircuitOpenError:
        outcomes.append("open")
    except RetryableError:
        outcomes.append("failed")
threads = [threading.Thread(target=call) for _ in range(10)]
[t.start() for t in threads]
[t.join() for t in threads]
print(" ".join(outcomes))
"""


def test_exactly_one_probe_across_two_processes(sandbox: SandboxControl) -> None:
    schema = f"t_brk_{uuid.uuid4().hex[:8]}"
    client = make_client(sandbox, schema)
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(client, 5)
    # Its 30 s are over (moved back rather than waited for), and the sandbox still fails, slowly:
    # the one probe fails and the breaker opens for another 30 s, whatever the scheduling.
    breaker_module.redis_client().hset(client.breaker.key, "opened_at", time.time() - 31)
    sandbox.fault("user-service", error_rate=1.0, latency_ms=300)
    assert client.breaker.snapshot()["state"] == "half_open"
    start_at = time.time() + 2.0  # both processes are up by then; 20 callers fire together
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROBER, sandbox.base_url("user-service"), schema, str(start_at)],
            cwd=ROOT,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = " ".join(proc.communicate(timeout=60)[0] for proc in procs).split()
    assert len(outcomes) == 20
    assert outcomes.count("failed") == 1  # the one probe
    assert outcomes.count("open") == 19
    assert sandbox.requests_to("user-service") == 6
    assert client.breaker.snapshot()["state"] == "open"


def test_breakers_are_per_tenant_and_per_service(sandbox: SandboxControl) -> None:
    a_users = make_client(sandbox, "t_brk_tenant_a")
    b_users = make_client(sandbox, "t_brk_tenant_b")
    a_payments = make_client(sandbox, "t_brk_tenant_a", service="payment-service")
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(a_users, 5)
    sandbox.clear_faults()
    assert a_users.breaker.snapshot()["state"] == "open"
    assert b_users.get("/users/usr_0001")["id"] == "usr_0001"
    assert a_payments.get("/subscriptions/sub_demo")["id"] == "sub_demo"
    assert b_users.breaker.snapshot()["state"] == "closed"


def test_redis_down_falls_back_to_a_process_local_breaker(
    sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # The breaker builds its own client from REDIS_URL, as in production (`from_url`: no retries of
    # its own, so an unreachable Redis costs one refused connection per call, not seconds).
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setattr(breaker_module, "_client", None)
    client = make_client(sandbox, f"t_brk_local_{uuid.uuid4().hex[:6]}")
    assert client.get("/users/usr_0001")["id"] == "usr_0001"  # calls still flow
    sandbox.fault("user-service", error_rate=1.0)
    fail_n(client, 5)
    with pytest.raises(CircuitOpenError):
        client.get("/users/usr_0001")  # and a failing service is still protected
    assert sandbox.requests_to("user-service") == 6
    assert client.breaker.snapshot()["state"] == "open"
