"""The sandbox turns every service into slow errors for a while (FAULTS_SANDBOX_SECONDS, default 25;
the issue's minute has the same shape): breakers open, calls stop reaching the services, the backlog
waits (rescheduled, not burned), nothing goes `dead`, and it drains when the faults stop.

`user.created` calls the user service (profile) and the communication service (welcome message, whose
`message.*` webhooks the sandbox then sends back); `invoice.paid` for an unknown subscription calls
the payment service.
"""

import os
import time
import uuid

import pytest
import redis
import requests

from integrations.service_names import SERVICES
from tests.conftest import wait_for

from .conftest import Counter, Sender, Stack, make_event, record

pytestmark = pytest.mark.faults

FAULT_SECONDS = float(os.environ.get("FAULTS_SANDBOX_SECONDS", "25"))
RESET_SECONDS = 5  # the breaker's open period (30 s in production)
WARM_USERS, FAULT_USERS, FAULT_INVOICES = 20, 100, 50


def invoice(sub_id: str) -> dict[str, object]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "invoice.paid",
        "occurred_at": "2025-01-01T00:00:00+00:00",
        "data": {
            "id": f"in_{uuid.uuid4().hex[:12]}",
            "subscription_id": sub_id,
            "amount": 1200,
            "currency": "eur",
        },
    }


def test_sandbox_errors_and_slowness_open_breakers_keep_the_backlog_and_it_drains(stack: Stack) -> None:
    stack.extra_env.update(
        INTEGRATIONS_BREAKER_RESET_SECONDS=str(RESET_SECONDS),
        INTEGRATIONS_BREAKER_PROBE_TTL_SECONDS="10",
        INTEGRATIONS_HTTP_CONNECT_TIMEOUT="1",
        INTEGRATIONS_HTTP_READ_TIMEOUT="2",
        INTEGRATIONS_HTTP_MAX_ATTEMPTS="2",
        INTEGRATIONS_HTTP_BACKOFF_BASE="0.05",
        INTEGRATIONS_HTTP_BACKOFF_CAP="0.2",
    )
    slug = "sandbox-faults"
    url = stack.web(workers=2)
    _, sandbox = stack.sandbox("--tenant", slug, "--platform-url", url, "--delivery-delay", "0.2")
    tenant = stack.provision(slug, base_url=sandbox)
    stack.worker(concurrency=2)
    stack.worker(concurrency=2)
    stack.beat()
    counter = Counter(stack.database_url, tenant.schema)
    sender = Sender(url, tenant)
    breakers = redis.Redis.from_url(stack.redis.url, decode_responses=True)

    def breaker(service: str) -> str:
        return breakers.hget(f"saas:breaker:{tenant.schema}:{service}", "state") or "closed"

    def sandbox_state() -> dict[str, object]:
        return requests.get(f"{sandbox}/_state", timeout=10).json()

    def count(sql: str) -> int:
        return int(counter.rows(sql)[0][0])

    # Healthy: the whole loop works (profile, welcome message, delivery webhooks back).
    warm = [make_event("user.created") for _ in range(WARM_USERS)]
    assert sender.post({"events": warm}) == 202
    wait_for(
        lambda: count("SELECT count(*) FROM integrations_message WHERE status = 'opened'") == WARM_USERS,
        timeout=120,
        what="warm-up welcome messages opened",
    )

    # Faults: every service answers 503 after 500 ms.
    for service in SERVICES:
        fault = {"service": service, "error_rate": 1, "latency_ms": 500, "status": 503}
        assert requests.post(f"{sandbox}/_faults", json=fault, timeout=10).status_code == 200
    faults_on = time.monotonic()
    subs = [f"sub_{uuid.uuid4().hex[:10]}" for _ in range(FAULT_INVOICES)]
    for sub in subs:
        requests.post(f"{sandbox}/_subscriptions", json={"id": sub}, timeout=10).raise_for_status()
    users = [make_event("user.created") for _ in range(FAULT_USERS)]
    invoices = [invoice(sub) for sub in subs]
    for start in range(0, FAULT_USERS, 10):
        assert sender.post({"events": users[start : start + 10]}) == 202
    for start in range(0, FAULT_INVOICES, 10):
        assert sender.post({"events": invoices[start : start + 10]}, service="payment-service") == 202

    wait_for(
        lambda: breaker("user-service") == "open" and breaker("payment-service") == "open",
        timeout=60,
        what="user and payment breakers open",
    )
    opened_after = time.monotonic() - faults_on
    calls_at_open = sandbox_state()["requests"]
    wait_for(
        lambda: time.monotonic() - faults_on >= FAULT_SECONDS, timeout=FAULT_SECONDS + 5, what="fault window"
    )
    calls_at_end = sandbox_state()["requests"]
    during_faults = counter.statuses()
    calls_while_open = {s: calls_at_end[s] - calls_at_open[s] for s in SERVICES}

    # While the services failed: the backlog waited, nothing died, calls mostly stopped.
    assert "dead" not in during_faults
    # Waiting = not yet processed: received, retrying, or claimed by a worker that is still slowed
    # down by the faults (on a loaded machine the whole backlog can sit in `processing`).
    assert sum(during_faults.get(s, 0) for s in ("received", "retrying", "processing")) > 0
    assert (
        count(
            "SELECT count(*) FROM integrations_webhookevent WHERE status = 'processed'"
            " AND service IN ('user-service', 'payment-service')"
        )
        == WARM_USERS
    )  # none of the events needing a failing service got through
    probes_bound = 2 * (FAULT_SECONDS / RESET_SECONDS + 2)  # one probe per open period, doubled for slack
    assert all(calls <= probes_bound for calls in calls_while_open.values()), calls_while_open

    # Faults off: the backlog drains, the breakers close, every effect happened exactly once.
    for service in SERVICES:
        assert requests.post(f"{sandbox}/_faults", json={"service": service, "error_rate": 0}, timeout=10).ok
    faults_off = time.monotonic()
    total_users = WARM_USERS + FAULT_USERS
    wait_for(
        counter.safe(
            lambda: (
                count("SELECT count(*) FROM integrations_message WHERE status = 'opened'") == total_users
                and set(counter.statuses()) == {"processed"}
            )
        ),
        timeout=180,
        what="backlog drained and every welcome message opened",
    )
    drained_in = time.monotonic() - faults_off
    wait_for(
        lambda: all(breaker(s) == "closed" for s in ("user-service", "payment-service")),
        timeout=30,
        what="breakers closed",
    )

    state = sandbox_state()
    events = counter.statuses()
    attempts = [r[0] for r in counter.rows("SELECT attempts FROM integrations_webhookevent")]
    assert events == {"processed": total_users + FAULT_INVOICES + 3 * total_users}  # + sent/delivered/opened
    assert count("SELECT count(*) FROM accounts_user WHERE external_id IS NOT NULL") == total_users
    assert count("SELECT count(*) FROM integrations_message") == total_users  # one welcome per user
    assert len(state["messages"]) == total_users  # and the provider was asked once per user
    assert count("SELECT count(*) FROM integrations_invoice") == FAULT_INVOICES
    assert max(attempts) < 8

    record(
        "sandbox_faults",
        {
            "fault_seconds": FAULT_SECONDS,
            "breaker_reset_seconds": RESET_SECONDS,
            "breakers_open_after_seconds": round(opened_after, 1),
            "sandbox_calls_while_open": calls_while_open,
            "statuses_at_end_of_faults": during_faults,
            "drain_seconds_after_faults_off": round(drained_in, 1),
            "events_processed": events.get("processed", 0),
            "welcome_messages": total_users,
            "provider_messages": len(state["messages"]),
            "invoices": FAULT_INVOICES,
            "max_attempts": max(attempts),
        },
    )
