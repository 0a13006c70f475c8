"""Breaker meets engine (events rescheduled, not burned) and `GET /api/v1/webhooks/health`."""

from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import Role
from integrations import http
from integrations.models import EventStatus
from integrations.service_names import SERVICES
from integrations.services import endpoint_update
from tenants.models import Tenant
from tests.conftest import TenantClient, access_token

from .conftest import SandboxControl
from .test_handlers import ev, handle, user_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.services.events_enqueue", lambda **kw: True)
    monkeypatch.setattr("integrations.services.events_kick", lambda **kw: True)
    monkeypatch.setattr(http, "sleep", lambda _s: None)


def configure(tenant: Tenant, sandbox: SandboxControl) -> None:
    with schema_context(tenant.schema_name):
        for service in SERVICES:
            endpoint_update(service=service, enabled=True, base_url=sandbox.base_url(service), api_key="k")


def health_of(client: Any) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/webhooks/health")
    assert response.status_code == 200, response.content
    return {s["service"]: s for s in response.json()["services"]}


def test_an_open_breaker_reschedules_events_and_health_shows_it(
    tenant_a: Tenant,
    tenant_b: Tenant,
    sandbox: SandboxControl,
    second_sandbox: SandboxControl,
    make_user: Any,
    client_for: Any,
) -> None:
    configure(tenant_a, sandbox)
    configure(tenant_b, second_sandbox)
    sandbox.fault("user-service", error_rate=1.0, status=503)
    with schema_context(tenant_a.schema_name):
        events = handle(
            "user-service", *[ev("user.created", user_data(f"usr_{i:04d}"), i) for i in range(1, 9)]
        )
    # 5 failed calls opened the breaker (3 attempts of the first event, 2 of the second);
    # after that nothing reached the service
    assert sandbox.requests_to("user-service") == 5
    assert all(e.status == EventStatus.RETRYING for e in events)
    assert events[0].attempts == 1
    assert {e.attempts for e in events[1:]} == {0}  # an open breaker is no attempt of theirs
    assert all("CircuitOpenError" in e.last_error for e in events[1:])

    a_health = health_of(client_for(tenant_a, make_user(tenant_a, Role.ADMIN)))
    users = a_health["user-service"]
    assert users["status"] == "down"
    assert users["circuit"]["state"] == "open"
    assert users["circuit"]["failures"] == 5
    assert users["circuit"]["opened_at"] is not None
    assert users["backlog"] == 8
    assert users["counts_24h"] == {"received": 8, "processed": 0, "failed": 8, "dead": 0}
    assert users["last_event_at"] is not None
    assert users["last_failure_at"] is not None
    assert a_health["payment-service"]["circuit"]["state"] == "closed"

    # Tenant B, same service, same moment: its own breaker, events and health
    connection.set_schema_to_public()
    with schema_context(tenant_b.schema_name):
        (b_event,) = handle("user-service", ev("user.created", user_data("usr_0001")))
    assert b_event.status == EventStatus.PROCESSED, b_event.last_error
    b_health = health_of(client_for(tenant_b, make_user(tenant_b, Role.ADMIN)))
    b_users = b_health["user-service"]
    assert b_users["status"] == "healthy"
    assert b_users["circuit"] == {"state": "closed", "failures": 0, "opened_at": None}
    assert b_users["counts_24h"] == {"received": 1, "processed": 1, "failed": 0, "dead": 0}
    assert b_users["backlog"] == 0


def test_health_shape_when_idle(tenant_a: Tenant, make_user: Any, client_for: Any) -> None:
    health = health_of(client_for(tenant_a, make_user(tenant_a, Role.OWNER), via="path"))
    assert sorted(health) == ["communication-service", "payment-service", "user-service"]
    for entry in health.values():
        assert set(entry) == {
            "service",
            "status",
            "circuit",
            "last_event_at",
            "last_success_at",
            "last_failure_at",
            "counts_24h",
            "backlog",
            "lag_seconds",
        }
        assert entry["status"] == "healthy"
        assert entry["lag_seconds"] == 0


def test_health_is_for_admins_of_the_tenant_only(
    tenant_a: Tenant, tenant_b: Tenant, make_user: Any, client_for: Any
) -> None:
    assert (
        client_for(tenant_a, make_user(tenant_a, Role.MEMBER)).get("/api/v1/webhooks/health").status_code
        == 403
    )
    assert client_for(tenant_a).get("/api/v1/webhooks/health/").status_code == 401
    b_token = access_token(make_user(tenant_b, Role.ADMIN), tenant_b)
    assert TenantClient(tenant_a, token=b_token).get("/api/v1/webhooks/health").status_code == 401


def test_platform_staff_see_every_tenants_health(
    tenant_a: Tenant, tenant_b: Tenant, platform_admin: Any, client_for: Any, make_user: Any
) -> None:
    response = client_for(None, platform_admin).get("/api/v1/integrations/health")
    assert response.status_code == 200
    slugs = [t["slug"] for t in response.json()["tenants"]]
    assert {"alpha", "beta"} <= set(slugs)
    member = make_user(tenant_a, Role.OWNER)
    assert client_for(tenant_a, member).get("/api/v1/integrations/health").status_code == 404
    assert client_for(None).get("/api/v1/integrations/health").status_code == 401


def test_breaker_state_is_on_metrics(tenant_a: Tenant, sandbox: SandboxControl, client_for: Any) -> None:
    from integrations.breaker import breaker_for

    br = breaker_for(schema=tenant_a.schema_name, service="payment-service")
    for _ in range(5):
        br.record_failure(br.before_call())
    body = client_for(None).get("/metrics").content.decode()
    assert f'integration_circuit_state{{service="payment-service",tenant="{tenant_a.slug}"}} 2.0' in body
