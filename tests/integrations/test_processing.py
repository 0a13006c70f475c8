"""Processing rules, run in-process: life cycle, retries and back-off, dead letters, stale events,
breaker deferrals, the sweep and retention (a real worker runs the same service in test_live)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role, User
from integrations.errors import CircuitOpenError, PermanentError, RetryableError
from integrations.http import retry_delay
from integrations.models import EventStatus, WebhookEvent
from integrations.providers import PROVIDERS, user_service
from integrations.services import (
    events_kick,
    events_process,
    events_process_pending,
    events_purge,
    events_sweep,
    webhook_parse,
    webhook_receive,
)

from .conftest import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_tenant(tenant_a):
    with schema_context(tenant_a.schema_name):
        yield tenant_a


@pytest.fixture
def fast_backoff(settings):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 0.0
    settings.WEBHOOK_BACKOFF_CAP_SECONDS = 0.0


@pytest.fixture
def no_enqueue(monkeypatch):
    sent = []
    monkeypatch.setattr("integrations.services.events_enqueue", lambda **kw: sent.append(kw) or True)
    return sent


def receive(*docs, service="user-service"):
    webhook_receive(service=service, body=webhook_parse(body=json.dumps({"events": list(docs)}).encode()))
    return [WebhookEvent.objects.get(service=service, event_id=d["id"]) for d in docs]


def process(*events):
    events_process(event_ids=[e.pk for e in events])
    for e in events:
        e.refresh_from_db()


@pytest.fixture
def handler(monkeypatch):
    """handler(type, function): a test-only handler in the user-service registry."""

    def register(type_, function):
        monkeypatch.setitem(PROVIDERS["user-service"].HANDLERS, type_, function)

    return register


def test_user_updated_creates_then_updates_the_synced_user(in_tenant, no_enqueue):
    (first,) = receive(event(ext="u-1", email="Ada@Sync.test", occurred_at="2025-01-01T00:00:00+00:00"))
    process(first)
    assert first.status == EventStatus.PROCESSED
    assert first.attempts == 1
    assert first.processed_at is not None
    user = User.objects.get(external_id="u-1")
    assert (user.email, user.role, user.has_usable_password()) == ("ada@sync.test", Role.MEMBER, False)

    (second,) = receive(
        event(
            ext="u-1",
            email="ada@new.test",
            first_name="Augusta",
            role="admin",
            occurred_at="2025-01-02T00:00:00+00:00",
        )
    )
    process(second)
    user.refresh_from_db()
    assert (user.email, user.first_name, user.role) == ("ada@new.test", "Augusta", Role.ADMIN)


def test_an_older_event_after_a_newer_one_changes_nothing(in_tenant, no_enqueue):
    newer, older = receive(
        event(ext="u-2", first_name="New", occurred_at="2025-03-01T00:00:00+00:00"),
        event(ext="u-2", first_name="Old", occurred_at="2025-02-01T00:00:00+00:00"),
    )
    process(newer)
    process(older)
    assert older.status == EventStatus.PROCESSED
    assert older.stale is True
    assert User.objects.get(external_id="u-2").first_name == "New"


def test_a_webhook_never_changes_an_owners_role_nor_makes_owners(in_tenant, no_enqueue):
    owner = User.objects.get(role=Role.OWNER)
    (e,) = receive(event(ext="u-owner", email=owner.email, role="member"))
    process(e)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    assert owner.external_id is None  # a webhook never takes over an account by its email
    assert e.status == EventStatus.DEAD
    (e2,) = receive(event(ext="u-3", role="owner"))
    process(e2)
    assert User.objects.get(external_id="u-3").role == Role.MEMBER


def test_unknown_types_are_ignored(in_tenant, no_enqueue):
    (e,) = receive(event("user.teleported"))
    process(e)
    assert e.status == EventStatus.IGNORED
    assert e.processed_at is not None


def test_failing_twice_then_succeeding_ends_processed_with_three_attempts(
    in_tenant, handler, fast_backoff, no_enqueue, django_capture_on_commit_callbacks
):
    calls = []

    def flaky(ev):
        calls.append(ev.attempts)
        if len(calls) <= 2:
            raise RetryableError("service said 503")

    handler("test.flaky", flaky)
    (e,) = receive(event("test.flaky"))
    with django_capture_on_commit_callbacks(execute=True):
        process(e)
    assert (e.status, e.attempts, e.last_error) == (
        EventStatus.RETRYING,
        1,
        "RetryableError: service said 503",
    )
    assert no_enqueue[-1]["event_ids"] == [e.pk]  # the retry is scheduled after commit
    process(e)
    assert (e.status, e.attempts) == (EventStatus.RETRYING, 2)
    process(e)
    assert (e.status, e.attempts, e.last_error) == (EventStatus.PROCESSED, 3, "")
    assert calls == [1, 2, 3]


def test_always_failing_is_dead_after_eight_attempts_and_replay_brings_it_back(
    in_tenant, tenant_a, handler, fast_backoff, no_enqueue, make_user, client_for
):
    state = {"fail": True}

    def broken(ev):
        if state["fail"]:
            raise ValueError("boom")

    handler("test.broken", broken)
    (e,) = receive(event("test.broken"))
    for attempt in range(1, 9):
        process(e)
        assert e.attempts == attempt
    assert e.status == EventStatus.DEAD
    assert e.last_error == "ValueError: boom"
    process(e)
    assert e.attempts == 8  # a dead event is never claimed again

    state["fail"] = False
    admin = make_user(tenant_a, Role.ADMIN)
    response = client_for(tenant_a, admin).post(f"/api/v1/webhooks/events/{e.pk}/replay")
    assert response.status_code == 202
    assert response.json() == {"requeued": 1}
    with schema_context(tenant_a.schema_name):
        e.refresh_from_db()
        assert (e.status, e.attempts) == (EventStatus.RECEIVED, 0)
        process(e)
    assert (e.status, e.attempts) == (EventStatus.PROCESSED, 1)


def test_retry_is_not_claimed_before_its_back_off(in_tenant, handler, settings, no_enqueue):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 3600
    settings.WEBHOOK_BACKOFF_CAP_SECONDS = 3600

    def fail(ev):
        raise RetryableError("later", retry_after=600)

    handler("test.fail", fail)
    (e,) = receive(event("test.fail"))
    process(e)
    assert e.status == EventStatus.RETRYING
    assert e.next_attempt_at >= timezone.now() + timedelta(seconds=590)  # Retry-After is a minimum
    process(e)
    assert e.attempts == 1  # not due yet: a duplicate message does nothing


def test_permanent_error_is_dead_at_once(in_tenant, handler, no_enqueue):
    handler("test.permanent", lambda ev: (_ for _ in ()).throw(PermanentError("400 from service")))
    (e,) = receive(event("test.permanent"))
    process(e)
    assert (e.status, e.attempts, e.last_error) == (EventStatus.DEAD, 1, "PermanentError: 400 from service")


def test_open_circuit_reschedules_without_counting_an_attempt(in_tenant, handler, no_enqueue):
    retry_at = timezone.now() + timedelta(seconds=30)

    def breaker_open(ev):
        raise CircuitOpenError(retry_at=retry_at)

    handler("test.circuit", breaker_open)
    (e,) = receive(event("test.circuit"))
    process(e)
    assert (e.status, e.attempts, e.next_attempt_at) == (EventStatus.RETRYING, 0, retry_at)


def test_a_failing_handlers_writes_are_rolled_back(in_tenant, handler, fast_backoff, no_enqueue):
    def half_done(ev):
        user_service.user_upsert(event=ev)
        raise RetryableError("after writing")

    handler("test.half", half_done)
    (e,) = receive(event("test.half", ext="u-half"))
    process(e)
    assert e.status == EventStatus.RETRYING
    assert not User.objects.filter(external_id="u-half").exists()


def test_one_failing_event_does_not_hold_back_its_chunk(in_tenant, handler, fast_backoff, no_enqueue):
    handler("test.fail", lambda ev: (_ for _ in ()).throw(RetryableError("no")))
    events = receive(event(ext="c-1"), event("test.fail"), event(ext="c-2"))
    process(*events)
    assert [e.status for e in events] == ["processed", "retrying", "processed"]


def test_an_event_already_processed_is_not_processed_again(in_tenant, handler, no_enqueue):
    calls = []
    handler("test.count", calls.append)
    (e,) = receive(event("test.count"))
    process(e)
    process(e)  # a redelivered message
    assert len(calls) == 1
    assert e.attempts == 1


def test_processing_with_a_live_lease_is_left_alone(in_tenant, handler, no_enqueue):
    calls = []
    handler("test.count", calls.append)
    (e,) = receive(event("test.count"))
    WebhookEvent.objects.filter(pk=e.pk).update(
        status=EventStatus.PROCESSING, attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    process(e)
    assert calls == []


def test_sweep_requeues_what_is_due_and_nothing_else(in_tenant, no_enqueue):
    now = timezone.now()
    received_due, received_fresh, retry_due, retry_later, lost, busy, done = receive(
        *[event() for _ in range(7)]
    )
    updates = {
        received_due: {"next_attempt_at": now - timedelta(seconds=1)},
        received_fresh: {"next_attempt_at": now + timedelta(seconds=30)},
        retry_due: {"status": "retrying", "attempts": 2, "next_attempt_at": now - timedelta(seconds=1)},
        retry_later: {"status": "retrying", "attempts": 2, "next_attempt_at": now + timedelta(minutes=5)},
        lost: {"status": "processing", "attempts": 1, "next_attempt_at": now - timedelta(seconds=1)},
        busy: {"status": "processing", "attempts": 1, "next_attempt_at": now + timedelta(minutes=5)},
        done: {"status": "processed", "next_attempt_at": None},
    }
    for e, fields in updates.items():
        WebhookEvent.objects.filter(pk=e.pk).update(**fields)
    no_enqueue.clear()

    assert events_sweep(now=now) == 3
    assert sorted(no_enqueue[0]["event_ids"]) == sorted([received_due.pk, retry_due.pk, lost.pk])
    lost.refresh_from_db()
    assert (lost.status, lost.attempts) == (EventStatus.RETRYING, 1)
    assert "worker lost" in lost.last_error
    received_due.refresh_from_db()
    assert received_due.next_attempt_at > now  # the next sweep gives its task a grace period


def test_sweep_marks_a_lost_event_on_its_last_attempt_dead(in_tenant, no_enqueue):
    (e,) = receive(event())
    WebhookEvent.objects.filter(pk=e.pk).update(
        status="processing", attempts=8, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    events_sweep()
    e.refresh_from_db()
    assert e.status == EventStatus.DEAD


def test_retention_deletes_old_processed_and_ignored_only(in_tenant, no_enqueue):
    old = timezone.now() - timedelta(days=31)
    events = receive(*[event() for _ in range(6)])
    for e, status in zip(
        events, ["processed", "ignored", "dead", "retrying", "processed", "processed"], strict=True
    ):
        WebhookEvent.objects.filter(pk=e.pk).update(status=status, received_at=old)
    WebhookEvent.objects.filter(pk=events[5].pk).update(received_at=timezone.now() - timedelta(days=29))
    assert events_purge(batch=2) == 3
    assert sorted(WebhookEvent.objects.values_list("status", flat=True)) == ["dead", "processed", "retrying"]


def test_backoff_is_exponential_with_full_jitter_and_capped(settings):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 2
    settings.WEBHOOK_BACKOFF_CAP_SECONDS = 60
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (5, 32), (7, 60), (8, 60)]:
        delays = [retry_delay(attempts=attempts) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the whole range, not a fixed step
    assert retry_delay(attempts=1, retry_after=30) >= 30


def test_handlers_run_as_the_services_system_actor(in_tenant, handler, monkeypatch, no_enqueue):
    from contextlib import contextmanager

    actors = []

    @contextmanager
    def acting_as(actor):
        actors.append(actor)
        yield

    monkeypatch.setattr("integrations.services.acting_as", acting_as)
    handler("test.noop", lambda ev: None)
    (e,) = receive(event("test.noop"))
    process(e)
    assert actors == ["system:user-service"]


def test_events_are_applied_in_occurred_at_order_within_a_chunk(in_tenant, no_enqueue):
    later, earlier = receive(
        event(ext="u-order", first_name="Later", occurred_at=datetime(2025, 5, 2, tzinfo=UTC).isoformat()),
        event(ext="u-order", first_name="Earlier", occurred_at=datetime(2025, 5, 1, tzinfo=UTC).isoformat()),
    )
    process(later, earlier)
    assert User.objects.get(external_id="u-order").first_name == "Later"
    assert not earlier.stale  # applied oldest first, so both count
    assert not later.stale


def test_pending_events_are_processed_in_chunks_until_none_is_left(in_tenant, settings, no_enqueue):
    settings.WEBHOOK_CHUNK_SIZE = 40
    events = receive(*[event() for _ in range(100)])
    assert events_process_pending() == 3
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert events_process_pending() == 0
    assert len(events) == 100


def test_a_long_backlog_is_handed_over_to_a_fresh_task(in_tenant, settings, monkeypatch):
    settings.WEBHOOK_CHUNK_SIZE = 10
    kicks = []
    monkeypatch.setattr("integrations.services.events_kick", lambda **kw: kicks.append(kw))
    receive(*[event() for _ in range(35)])
    assert events_process_pending(max_chunks=2) == 2
    assert kicks == [{}]
    assert WebhookEvent.objects.filter(status="received").count() == 15


def test_kick_publishes_one_task_while_one_is_waiting(in_tenant, settings, monkeypatch):
    from integrations import services
    from integrations.tasks import process_pending

    services._broker_down_until = 0.0
    published = []
    monkeypatch.setattr(process_pending, "apply_async", lambda **kw: published.append(kw))
    services._redis().delete(services._kick_key())
    assert events_kick()
    assert events_kick()
    assert len(published) == 1  # the second found a task already on its way
    events_process_pending()  # the task starts: the marker goes
    events_kick()
    assert len(published) == 2
    settings.WEBHOOK_CHUNK_SIZE = 100
    services._redis().delete(services._kick_key())
    events_kick(count=1000)
    assert len(published) == 2 + settings.WEBHOOK_MAX_PARALLEL_TASKS  # a big batch is shared out
    services._redis().delete(services._kick_key())


def test_an_email_held_by_another_synced_user_is_dead_at_once(in_tenant, no_enqueue):
    first, second = receive(
        event(ext="u-a", email="same@sync.test"), event(ext="u-b", email="same@sync.test")
    )
    process(first, second)
    assert first.status == EventStatus.PROCESSED
    assert (second.status, second.attempts) == (EventStatus.DEAD, 1)
    assert "already has this email" in second.last_error
    assert User.objects.get(email="same@sync.test").external_id == "u-a"


def test_periodic_tasks_dispatch_one_task_per_active_tenant_schema_with_work(tenant_a, tenant_b, monkeypatch):
    from integrations import tasks
    from tenants.due import due_mark

    for tenant in (tenant_a, tenant_b):  # both have work due (tests/integrations/test_due_work.py: idle ones)
        with schema_context(tenant.schema_name):
            due_mark(at=timezone.now())
    sent = {"sweep": [], "purge": []}
    monkeypatch.setattr(tasks.sweep_tenant, "apply_async", lambda **kw: sent["sweep"].append(kw))
    monkeypatch.setattr(tasks.purge_tenant, "apply_async", lambda **kw: sent["purge"].append(kw))
    tasks.sweep_all_tenants()
    tasks.purge_all_tenants()
    for kind in ("sweep", "purge"):
        schemas = {kw["headers"]["_schema_name"] for kw in sent[kind]}
        assert {tenant_a.schema_name, tenant_b.schema_name} <= schemas
        assert "public" not in schemas
