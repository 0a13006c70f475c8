"""Idle tenants cost nothing (issue 15): beat's sweep goes only to tenants whose public due-marker
says work is due, the marker follows every due row (intake, retries, messages, mails), and an event
whose broker message was lost is still found and processed by a real worker."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.mail.services import email_queue
from integrations import tasks
from integrations.errors import RetryableError
from integrations.models import EventStatus, WebhookEvent
from integrations.providers import PROVIDERS
from integrations.services import events_process, webhook_parse, webhook_receive
from tenants.due import due_dispatch, due_refresh, due_sweep, retention_schemas
from tenants.models import TenantWork
from tests.conftest import owner_cursor, wait_for

from .conftest import event, secret_for, signed_headers


def receive(*docs, service="user-service"):
    webhook_receive(service=service, body=webhook_parse(body=json.dumps({"events": list(docs)}).encode()))
    return [WebhookEvent.objects.get(service=service, event_id=d["id"]) for d in docs]


def marker(tenant):
    return TenantWork.objects.filter(schema_name=tenant.schema_name).values_list("due_at", flat=True).first()


@pytest.fixture
def recorded(monkeypatch):
    """The schemas beat's sweep and retention dispatch send tasks to, instead of sending them."""
    sent = {"sweep": [], "purge": []}
    monkeypatch.setattr(tasks.sweep_tenant, "apply_async", lambda **kw: sent["sweep"].append(kw))
    monkeypatch.setattr(tasks.purge_tenant, "apply_async", lambda **kw: sent["purge"].append(kw))
    return {kind: _Schemas(calls) for kind, calls in sent.items()}


class _Schemas:
    def __init__(self, calls):
        self.calls = calls

    def __call__(self):
        return [kw["headers"]["_schema_name"] for kw in self.calls]


@pytest.fixture
def every_tick_its_own_slot(monkeypatch):
    """Each call below stands for a tick of a later interval (the slot lock is tested on its own)."""
    monkeypatch.setattr("integrations.tasks.beat_slot_take", lambda name, interval: True)


@pytest.fixture
def no_kick(monkeypatch):
    """Intake stores events but its kick is lost (as a broker message that never arrives)."""
    monkeypatch.setattr("integrations.services.events_kick", lambda **kw: True)


@pytest.mark.django_db
def test_an_idle_tenant_gets_no_sweep_task_and_a_tenant_with_an_event_does(
    tenant_a, tenant_b, recorded, no_kick, settings, every_tick_its_own_slot
):
    settings.WEBHOOK_RECEIVED_GRACE_SECONDS = 0
    TenantWork.objects.all().delete()  # every tenant idle (rolled back with the test)
    tasks.sweep_all_tenants()
    assert recorded["sweep"]() == []

    with schema_context(tenant_b.schema_name):
        receive(event(ext="due-1"))
    tasks.sweep_all_tenants()
    assert recorded["sweep"]() == [tenant_b.schema_name]  # not tenant_a, which has nothing due
    tasks.sweep_all_tenants()
    assert recorded["sweep"]() == [tenant_b.schema_name]  # taken for one sweep: not sent twice


@pytest.mark.django_db
def test_the_sweep_clears_the_marker_and_the_next_dispatch_skips_the_tenant(tenant_a, recorded, no_kick):
    TenantWork.objects.all().delete()
    with schema_context(tenant_a.schema_name):
        (stored,) = receive(event(ext="clear-1"))
        assert marker(tenant_a) == stored.next_attempt_at  # the intake's grace, written with the row
        WebhookEvent.objects.filter(pk=stored.pk).update(status=EventStatus.PROCESSED, next_attempt_at=None)
        due_sweep()
    assert marker(tenant_a) is None
    tasks.sweep_all_tenants()
    assert recorded["sweep"]() == []


@pytest.mark.django_db
def test_a_retry_due_later_marks_the_time_it_is_due(tenant_a, tenant_b, monkeypatch, no_kick, settings):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = settings.WEBHOOK_BACKOFF_CAP_SECONDS = 600.0
    monkeypatch.setattr("integrations.services.events_enqueue", lambda **kw: True)

    def unavailable(event):
        raise RetryableError("503 from the service", retry_after=300)

    monkeypatch.setitem(PROVIDERS["user-service"].HANDLERS, "test.retry", unavailable)
    TenantWork.objects.all().delete()
    with schema_context(tenant_a.schema_name):
        (stored,) = receive(event("test.retry", ext="retry-1"))
        TenantWork.objects.filter(schema_name=tenant_a.schema_name).update(due_at=None)  # as after a sweep
        events_process(event_ids=[stored.pk])
        stored.refresh_from_db()
        assert stored.status == EventStatus.RETRYING
        assert stored.next_attempt_at >= timezone.now() + timedelta(seconds=290)
        assert marker(tenant_a) == stored.next_attempt_at
        assert due_refresh() == stored.next_attempt_at  # the sweep keeps exactly that time
    assert marker(tenant_b) is None  # the twin: another tenant's retry marks nothing here
    assert due_dispatch() == []  # not due yet
    assert due_dispatch(now=stored.next_attempt_at) == [tenant_a.schema_name]


@pytest.mark.django_db
def test_a_queued_mail_marks_its_tenant_and_only_its_tenant(tenant_a, tenant_b):
    TenantWork.objects.all().delete()
    with schema_context(tenant_a.schema_name):
        email = email_queue(kind="password_reset", to="someone@example.test", params={"user_id": 0})
    assert marker(tenant_a) == email.next_attempt_at
    assert marker(tenant_b) is None


@pytest.mark.django_db
def test_retention_only_visits_tenants_with_work_within_the_retention_period(
    tenant_a, tenant_b, recorded, no_kick
):
    TenantWork.objects.all().delete()
    with schema_context(tenant_a.schema_name):
        receive(event(ext="keep-1"))
    tasks.purge_all_tenants()
    assert recorded["purge"]() == [tenant_a.schema_name]
    assert retention_schemas(now=timezone.now() + timedelta(days=60)) == []  # idle since: nothing


@pytest.fixture
def unblocked(django_db_blocker):
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


def test_an_event_whose_broker_message_was_lost_is_found_and_processed_by_a_real_worker(
    fresh_tenant, client_for, engine_worker, unblocked, no_kick, settings
):
    settings.WEBHOOK_RECEIVED_GRACE_SECONDS = 0  # due at once (the worker keeps the default)
    secret = secret_for(fresh_tenant)
    body = json.dumps(event(ext="lost-1")).encode()
    response = client_for(fresh_tenant).post(
        "/api/v1/webhooks/user-service/",
        body,
        content_type="application/json",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed_headers(secret, body).items()},
    )
    assert response.status_code == 202
    engine_worker()

    def processed() -> bool:
        with schema_context(fresh_tenant.schema_name):
            return list(WebhookEvent.objects.values_list("status", flat=True)) == ["processed"]

    assert not processed()  # nothing was published: only the due-marker knows
    assert fresh_tenant.schema_name in due_dispatch(now=timezone.now())
    TenantWork.objects.filter(schema_name=fresh_tenant.schema_name).update(due_at=timezone.now())
    tasks.sweep_all_tenants()  # beat's tick: a real sweep task in the tenant's schema
    wait_for(processed, what="the lost event processed")


def test_a_second_beat_in_the_same_interval_dispatches_nothing(db):
    from saas.beat import beat_slot_take

    now = 1_500_000.0  # the start of an interval (a multiple of 15)
    assert beat_slot_take("an-entry", 15.0, now=now)  # the first beat's tick
    assert not beat_slot_take("an-entry", 15.0, now=now + 5)  # the second beat, same interval
    assert beat_slot_take("another-entry", 15.0, now=now + 5)  # each schedule entry has its own slot
    assert beat_slot_take("an-entry", 15.0, now=now + 15)  # the next interval


def test_intake_does_not_wait_for_the_marker_row_when_the_marker_is_already_early_enough(
    fresh_tenant, unblocked, no_kick
):
    """Concurrent deliveries to one tenant used to queue on its marker row (the upsert locks the
    row even when it leaves it as it is) through each other's commits; now only a write waits."""
    with schema_context(fresh_tenant.schema_name):
        (first,) = receive(event(ext="early-1"))
        assert marker(fresh_tenant) == first.next_attempt_at
        with owner_cursor() as other:  # another transaction holds the marker row
            other.execute(
                "SELECT 1 FROM tenants_tenantwork WHERE schema_name = %s FOR UPDATE",
                [fresh_tenant.schema_name],
            )
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")  # before: LockNotAvailable after 5 s
            try:
                (second,) = receive(event(ext="early-2"))
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("SET lock_timeout = 0")
        assert second.next_attempt_at >= first.next_attempt_at
        assert marker(fresh_tenant) == first.next_attempt_at  # still the earliest


def test_a_refresh_waits_for_an_intake_that_read_the_marker_before_it_moved(fresh_tenant, unblocked, no_kick):
    """The lock-free mark's other half: an intake still open when a sweep's refresh clears the
    marker (it read the old one, so it did not write it) is waited for, and its event marked."""
    with schema_context(fresh_tenant.schema_name):
        (done,) = receive(event(ext="race-1"))
        WebhookEvent.objects.filter(pk=done.pk).update(status=EventStatus.PROCESSED, next_attempt_at=None)
        refreshed = {}

        def refresh() -> None:
            try:
                with schema_context(fresh_tenant.schema_name):
                    refreshed["at"] = due_refresh()
            finally:
                connection.close()

        def refresh_waits() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # else read once per transaction
                cursor.execute(  # a backend that waits for this one
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
                )
                return cursor.fetchone()[0] > 0

        with transaction.atomic():
            (pending,) = receive(event(ext="race-2"))  # the marker (done's) was early enough: not written
            thread = threading.Thread(target=refresh)
            thread.start()
            wait_for(refresh_waits, what="the refresh waiting for the open intake")
        thread.join(timeout=30)
        assert not thread.is_alive()
        pending.refresh_from_db()
        assert refreshed["at"] == pending.next_attempt_at
        assert marker(fresh_tenant) == pending.next_attempt_at


def test_a_refresh_that_cannot_wait_out_a_long_writer_marks_the_tenant_due_a_lease_later(
    fresh_tenant, unblocked, no_kick, settings
):
    """Deliveries queue behind the refresh's wait, so it is bounded: past it the tenant stays due."""
    with schema_context(fresh_tenant.schema_name):
        (done,) = receive(event(ext="long-1"))
        WebhookEvent.objects.filter(pk=done.pk).update(status=EventStatus.PROCESSED, next_attempt_at=None)
        with owner_cursor(fresh_tenant.schema_name) as other:  # a long transaction writing events
            other.execute("LOCK TABLE integrations_webhookevent IN ROW EXCLUSIVE MODE")
            before = timezone.now()
            at = due_refresh()
        assert at is not None
        assert before < at <= timezone.now() + timedelta(seconds=settings.TENANT_DUE_LEASE_SECONDS)
        assert marker(fresh_tenant) == at
        assert due_refresh() is None  # the writer gone: nothing due, the marker cleared
        assert marker(fresh_tenant) is None
