"""The whole loop with real processes: gunicorn, two Celery workers, the sandbox on 127.0.0.1.

send_webhook creates users -> the workers fetch profiles and send welcomes through the sandbox ->
the sandbox's signed delivery webhooks come back and move the messages to `opened`; then the
sandbox fails, the shared breaker opens after 5 calls, events wait (not dead), health says open;
the sandbox recovers, ONE probe (from one of the two workers) closes the breaker, the backlog drains.
"""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from integrations.breaker import breaker_for
from integrations.models import EventStatus, Message, WebhookEvent
from integrations.service_names import SERVICES
from integrations.services import integration_settings_ensure, integration_settings_update
from tests.conftest import wait_for

from .conftest import SandboxControl

pytestmark = pytest.mark.usefixtures("committed_db")

WORKER_ENV = {
    "INTEGRATIONS_BREAKER_RESET_SECONDS": "2",
    "INTEGRATIONS_HTTP_MAX_ATTEMPTS": "1",
    "WEBHOOK_BACKOFF_BASE_SECONDS": "0.2",
    "WEBHOOK_BACKOFF_CAP_SECONDS": "5",  # >= the open period, so deferred events are re-sent
}


def statuses(tenant: Any) -> dict[str, int]:
    with schema_context(tenant.schema_name):
        counts: dict[str, int] = {}
        for status in WebhookEvent.objects.values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        return counts


def test_the_whole_loop_and_the_breaker_with_two_workers(
    fresh_tenant: Any,
    live_server_url: str,
    sandbox: SandboxControl,
    engine_worker: Any,
    settings: Any,
) -> None:
    settings.INTEGRATIONS_BREAKER_RESET_SECONDS = 2
    tenant = fresh_tenant
    with schema_context(tenant.schema_name):
        for service in SERVICES:
            integration_settings_update(
                service=service, enabled=True, base_url=sandbox.base_url(service), api_key="live"
            )
        secret = integration_settings_ensure(service="communication-service").signing_secret
    connection.set_schema_to_public()
    sandbox.register_account(
        api_key="live",
        webhook_url=f"{live_server_url}/api/v1/tenants/{tenant.slug}/webhooks/communication-service/",
        secret=secret,
    )
    engine_worker(**WORKER_ENV)
    engine_worker(**WORKER_ENV)

    out = StringIO()
    call_command(
        "send_webhook",
        "--tenant", tenant.slug, "--service", "user-service", "--type", "user.created",
        "--count", "3", "--batch", "3", "--url", live_server_url, "--sandbox-url", sandbox.url,
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    assert "accepted 3" in out.getvalue()

    def opened() -> bool:
        with schema_context(tenant.schema_name):
            return Message.objects.filter(status="opened").count() == 3

    wait_for(opened, timeout=60, what="welcome messages opened")
    with schema_context(tenant.schema_name):
        assert User.objects.filter(external_id__isnull=False, is_active=True).count() == 3
        assert set(Message.objects.values_list("kind", flat=True)) == {"welcome"}
    # 3 users, 3 x sent/delivered/opened (a status that overtook its welcome's commit is retried)
    wait_for(lambda: statuses(tenant) == {EventStatus.PROCESSED: 12}, timeout=60, what="all processed")

    # The sandbox's user service fails: the breaker opens after 5 calls, events wait.
    sandbox.fault("user-service", error_rate=1.0, status=503)
    before = sandbox.requests_to("user-service")
    call_command(
        "send_webhook",
        "--tenant", tenant.slug, "--service", "user-service", "--type", "user.created",
        "--count", "10", "--batch", "10", "--url", live_server_url, "--sandbox-url", "",
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    breaker = breaker_for(schema=tenant.schema_name, service="user-service")
    wait_for(lambda: breaker.snapshot()["failures"] >= 5, timeout=60, what="breaker open")
    assert breaker.snapshot()["state"] in ("open", "half_open")
    with schema_context(tenant.schema_name):
        from integrations.health import service_health

        health = {s["service"]: s for s in service_health()}
    assert health["user-service"]["circuit"]["state"] in ("open", "half_open")
    assert health["user-service"]["backlog"] >= 1
    assert EventStatus.DEAD not in statuses(tenant)
    opened_calls = sandbox.requests_to("user-service") - before

    # While it stays broken, each period lets exactly one probe through, whichever worker asks.
    first_open = breaker.snapshot()["opened_at"]
    wait_for(
        lambda: (breaker.snapshot()["opened_at"] or first_open) > first_open,
        timeout=60,
        what="a failed probe re-opening the breaker",
    )
    assert sandbox.requests_to("user-service") - before == opened_calls + 1
    assert EventStatus.DEAD not in statuses(tenant)

    # Recovery: the next probe succeeds, the breaker closes and the backlog drains.
    sandbox.clear_faults()

    def drained() -> bool:
        with schema_context(tenant.schema_name):
            users_done = WebhookEvent.objects.filter(type="user.created", status=EventStatus.PROCESSED)
            return users_done.count() == 13 and set(statuses(tenant)) == {EventStatus.PROCESSED}

    wait_for(drained, timeout=90, what="the backlog to drain")
    assert breaker.snapshot()["state"] == "closed"
    assert EventStatus.DEAD not in statuses(tenant)
    with schema_context(tenant.schema_name):
        assert User.objects.filter(external_id__isnull=False).count() == 13
