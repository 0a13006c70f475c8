"""The engine with real processes: gunicorn intake, real Celery workers, a dead broker, a killed worker."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from integrations.models import WebhookEvent
from integrations.services import events_sweep
from saas.celery import app
from tests.conftest import stop_worker, wait_for

from .conftest import event, secret_for, signed_headers


@pytest.fixture
def unblocked(django_db_blocker):
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


def post(url, tenant, document, secret, service="user-service"):
    body = json.dumps(document).encode()
    headers = {
        "Host": f"{tenant.slug}.localhost",
        "Content-Type": "application/json",
        **signed_headers(secret, body),
    }
    return requests.post(f"{url}/api/v1/webhooks/{service}/", data=body, headers=headers, timeout=30)


def statuses(tenant):
    with schema_context(tenant.schema_name):
        return list(WebhookEvent.objects.values_list("status", flat=True))


def test_real_worker_writes_into_the_tenant_schema_never_public(
    live_server_url, fresh_tenant, tenant_a, engine_worker, unblocked
):
    engine_worker()
    secret = secret_for(fresh_tenant)
    doc = event(ext="ext-schema-1", email="schema@sync.test")
    assert post(live_server_url, fresh_tenant, doc, secret).status_code == 202

    wait_for(lambda: statuses(fresh_tenant) == ["processed"], what="event processed")
    with schema_context(fresh_tenant.schema_name):
        assert User.objects.filter(external_id="ext-schema-1", email="schema@sync.test").exists()
    with schema_context("public"):
        assert not User.objects.filter(email="schema@sync.test").exists()
    with schema_context(tenant_a.schema_name):
        assert not User.objects.filter(email="schema@sync.test").exists()


def test_fifty_concurrent_deliveries_of_one_event_store_and_process_it_once(
    live_server_url, fresh_tenant, engine_worker, unblocked
):
    engine_worker()
    secret = secret_for(fresh_tenant)
    doc = event(event_id="evt_same_for_all", ext="ext-conc")
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: post(live_server_url, fresh_tenant, doc, secret), range(50)))

    assert [a.status_code for a in answers] == [202] * 50
    assert sum(a.json()["accepted"] for a in answers) == 1
    assert sum(a.json()["duplicates"] for a in answers) == 49
    wait_for(lambda: statuses(fresh_tenant) == ["processed"], what="event processed")
    with schema_context(fresh_tenant.schema_name):
        stored = WebhookEvent.objects.get()
        assert stored.attempts == 1  # processed once
        assert User.objects.filter(external_id="ext-conc").count() == 1


@pytest.fixture
def dead_broker():
    """Points this process' Celery publisher at a port nothing listens on, then restores it."""
    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url = original
    app._pool = None
    app.amqp._producer_pool = None


def test_broker_down_still_answers_202_and_the_sweep_processes_everything(
    fresh_tenant, client_for, engine_worker, unblocked, dead_broker, settings
):
    from integrations import services

    services._broker_down_until = 0.0
    secret = secret_for(fresh_tenant)
    client = client_for(fresh_tenant)
    docs = [{"events": [event(ext=f"ext-down-{b}-{i}") for i in range(5)]} for b in range(3)]
    for doc in docs:
        body = json.dumps(doc).encode()
        response = client.post(
            "/api/v1/webhooks/user-service/",
            body,
            content_type="application/json",
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed_headers(secret, body).items()},
        )
        assert response.status_code == 202
        assert response.json() == {"accepted": 5, "duplicates": 0}
    assert statuses(fresh_tenant) == ["received"] * 15

    # The broker is back; a worker starts. Nothing was published, so only the sweep can find them.
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app._pool = None
    app.amqp._producer_pool = None
    services._broker_down_until = 0.0
    engine_worker()
    with schema_context(fresh_tenant.schema_name):
        assert events_sweep(now=timezone.now() + timedelta(minutes=1)) == 15
    wait_for(lambda: statuses(fresh_tenant) == ["processed"] * 15, what="all processed")
    with schema_context(fresh_tenant.schema_name):
        assert User.objects.filter(external_id__startswith="ext-down-").count() == 15


def test_worker_killed_mid_task_processes_the_event_exactly_once(
    live_server_url, fresh_tenant, engine_worker, unblocked
):
    worker = engine_worker(WEBHOOK_PROCESSING_LEASE_SECONDS="1")
    secret = secret_for(fresh_tenant)
    doc = event("test.slow_user", ext="ext-kill", sleep=60, slow_attempts=1)
    assert post(live_server_url, fresh_tenant, doc, secret).status_code == 202
    wait_for(lambda: statuses(fresh_tenant) == ["processing"], what="worker took the event")

    stop_worker(worker, kill=True)  # SIGKILL to the whole worker: no chance to clean up
    engine_worker(WEBHOOK_PROCESSING_LEASE_SECONDS="30")
    with schema_context(fresh_tenant.schema_name):
        wait_for(lambda: WebhookEvent.objects.get().next_attempt_at <= timezone.now(), what="lease over")
        assert events_sweep() == 1
    wait_for(lambda: statuses(fresh_tenant) == ["processed"], what="processed after the kill")
    with schema_context(fresh_tenant.schema_name):
        stored = WebhookEvent.objects.get()
        assert stored.attempts == 2  # the killed attempt and the one that finished
        assert User.objects.filter(external_id="ext-kill").count() == 1


def test_real_worker_retries_with_back_off_then_succeeds_or_goes_dead(
    live_server_url, fresh_tenant, engine_worker, unblocked
):
    engine_worker(WEBHOOK_BACKOFF_BASE_SECONDS="0.05", WEBHOOK_BACKOFF_CAP_SECONDS="0.2")
    secret = secret_for(fresh_tenant)
    flaky = event("test.flaky", event_id="evt_flaky", fail_times=2)
    hopeless = event("test.flaky", event_id="evt_hopeless", fail_times=99)
    assert post(live_server_url, fresh_tenant, {"events": [flaky, hopeless]}, secret).status_code == 202

    def outcome(event_id):
        with schema_context(fresh_tenant.schema_name):
            return WebhookEvent.objects.values_list("status", "attempts").get(event_id=event_id)

    wait_for(lambda: outcome("evt_flaky")[0] == "processed", what="flaky event processed")
    assert outcome("evt_flaky") == ("processed", 3)
    wait_for(lambda: outcome("evt_hopeless")[0] == "dead", what="hopeless event dead")
    assert outcome("evt_hopeless") == ("dead", 8)
    with schema_context(fresh_tenant.schema_name):
        assert "test failure on attempt 8" in WebhookEvent.objects.get(event_id="evt_hopeless").last_error
