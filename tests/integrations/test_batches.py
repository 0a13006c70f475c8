"""How a batch of events is applied: optimistically in one transaction without savepoints,
replayed with them when a handler fails, and with the batch's audit entries chained in one statement
at its end. Whatever the path: a failing event keeps none of its writes, the others keep theirs and
their audit entries, a failing handler runs once per attempt, outcomes are counted once, and the
tenant's chain verifies."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEntry
from audit.selectors import chain_verify
from integrations import metrics
from integrations.errors import PermanentError, RetryableError
from integrations.models import EventStatus, WebhookEvent
from integrations.providers import PROVIDERS, user_service
from integrations.services import events_process, webhook_parse, webhook_receive
from integrations.versions import version_advance, version_advance_and_fetch

from .conftest import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_tenant(tenant_a):
    with schema_context(tenant_a.schema_name):
        yield tenant_a


@pytest.fixture(autouse=True)
def no_enqueue(monkeypatch):
    sent = []
    monkeypatch.setattr("integrations.services.events_enqueue", lambda **kw: sent.append(kw) or True)
    return sent


@pytest.fixture
def handler(monkeypatch):
    def register(type_, function):
        monkeypatch.setitem(PROVIDERS["user-service"].HANDLERS, type_, function)

    return register


def receive(*docs):
    webhook_receive(
        service="user-service", body=webhook_parse(body=json.dumps({"events": list(docs)}).encode())
    )
    return [WebhookEvent.objects.get(service="user-service", event_id=d["id"]) for d in docs]


def process(*events):
    events_process(event_ids=[e.pk for e in events])
    for e in events:
        e.refresh_from_db()


def _audited(external_id: str) -> list[AuditEntry]:
    pks = [str(pk) for pk in User.objects.filter(external_id=external_id).values_list("pk", flat=True)]
    return list(AuditEntry.objects.filter(object_type="accounts.user", object_pk__in=pks))


def test_a_failing_event_runs_once_and_the_others_keep_their_writes_and_entries(in_tenant, handler):
    calls: list[str] = []

    def half_done(ev):
        calls.append(ev.event_id)
        user_service.user_upsert(event=ev)  # written, then undone with the event
        raise RetryableError("after writing")

    handler("test.half", half_done)
    events = receive(event(ext="b-1"), event("test.half", ext="b-half"), event(ext="b-2"), event(ext="b-3"))
    before = AuditEntry.objects.count()
    process(*events)
    assert [e.status for e in events] == ["processed", "retrying", "processed", "processed"]
    assert calls == [events[1].event_id]  # the failing handler is not run a second time
    assert not User.objects.filter(external_id="b-half").exists()
    assert _audited("b-half") == []
    for ext in ("b-1", "b-2", "b-3"):
        assert len(_audited(ext)) == 1
    assert AuditEntry.objects.count() == before + 3
    assert chain_verify().ok


def test_events_after_a_failure_each_get_a_savepoint(in_tenant, handler):
    """Two failing events in one batch: each keeps none of its writes, the rest are applied."""

    def half_done(ev):
        user_service.user_upsert(event=ev)
        raise PermanentError("refused after writing")

    handler("test.half", half_done)
    events = receive(
        event(ext="s-1"), event("test.half", ext="s-x"), event(ext="s-2"), event("test.half", ext="s-y")
    )
    process(*events)
    assert [e.status for e in events] == ["processed", "dead", "processed", "dead"]
    assert set(User.objects.filter(external_id__startswith="s-").values_list("external_id", flat=True)) == {
        "s-1",
        "s-2",
    }
    assert chain_verify().ok


def test_a_handler_that_fails_only_when_replayed_is_settled_with_its_error(in_tenant, handler):
    runs: list[int] = []

    def second_time_unlucky(ev):
        runs.append(ev.pk)
        user_service.user_upsert(event=ev)
        if len(runs) == 2:
            raise RetryableError("only the second time")

    def always(ev):
        raise RetryableError("always")

    handler("test.fickle", second_time_unlucky)
    handler("test.always", always)
    fickle, failing = receive(event("test.fickle", ext="f-1"), event("test.always", ext="f-2"))
    process(fickle, failing)
    assert (fickle.status, failing.status) == (EventStatus.RETRYING, EventStatus.RETRYING)
    assert fickle.last_error == "RetryableError: only the second time"
    assert not User.objects.filter(external_id__in=["f-1", "f-2"]).exists()
    assert chain_verify().ok


def test_outcomes_are_counted_once_even_when_the_batch_is_replayed(in_tenant, handler):
    handler("test.fail", lambda ev: (_ for _ in ()).throw(RetryableError("no")))

    def value(outcome: str) -> float:
        return metrics.PROCESSED.labels("user-service", outcome)._value.get()

    processed, failed = value("processed"), value("failed")
    process(*receive(event(ext="m-1"), event("test.fail"), event(ext="m-2")))
    assert (value("processed") - processed, value("failed") - failed) == (2, 1)


def test_a_batch_without_failures_uses_no_savepoints_and_one_audit_statement(in_tenant):
    events = receive(*(event(ext=f"q-{n}") for n in range(5)))
    with CaptureQueriesContext(connection) as queries:
        process(*events)
    sql = [q["sql"] for q in queries.captured_queries]
    assert [e.status for e in events] == ["processed"] * 5
    # the test's own transaction makes the claim's and the batch's transactions savepoints: two, not
    # one more per event
    assert len([s for s in sql if s.startswith("SAVEPOINT")]) == 2
    # one for the five entries (two when this connection's known head was stale: the first inserts
    # nothing, the second follows the head read under the lock)
    appends = [s for s in sql if s.lstrip().startswith(("EXECUTE audit_append_", "WITH head AS"))]
    assert 1 <= len(appends) <= 2, appends
    assert chain_verify().ok


def test_a_new_users_event_reads_the_users_once_and_inserts(in_tenant):
    """Per new user: the stale check with the read of the id's and the email's holders (one round
    trip), then the INSERT; the email is not checked a second time before it (the unique index
    still refuses a race)."""
    events = receive(*(event(ext=f"n-{n}") for n in range(4)))
    with CaptureQueriesContext(connection) as queries:
        process(*events)
    assert [e.status for e in events] == ["processed"] * 4
    users = [q["sql"] for q in queries.captured_queries if "accounts_user" in q["sql"]]
    assert len(users) == 2 * 4
    assert len([s for s in users if s.lstrip().startswith('INSERT INTO "accounts_user"')]) == 4
    assert User.objects.filter(external_id__startswith="n-").count() == 4


def test_a_new_users_email_held_by_another_synced_user_is_refused(in_tenant, make_user, tenant_a):
    make_user(tenant_a, email="taken@sync.test", external_id="holder")
    (taken,) = receive(event(ext="newcomer", email="taken@sync.test"))
    process(taken)
    assert taken.status == EventStatus.DEAD
    assert "another user already has this email" in taken.last_error
    assert not User.objects.filter(external_id="newcomer").exists()


def test_version_advance_and_fetch_reads_after_advancing(in_tenant, make_user, tenant_a):
    user = make_user(tenant_a, external_id="v-1")
    kwargs = {"object_type": "user", "object_id": "v-1", "event_id": "e1"}
    current, rows = version_advance_and_fetch(
        occurred_at=_at("2025-01-02"), queryset=User.objects.filter(external_id="v-1"), **kwargs
    )
    assert current
    assert [(u.pk, u.email, u._state.adding) for u in rows] == [(user.pk, user.email, False)]
    current, rows = version_advance_and_fetch(
        occurred_at=_at("2025-01-01"), queryset=User.objects.filter(external_id="nobody"), **kwargs
    )
    assert (current, rows) == (False, [])
    assert version_advance(occurred_at=_at("2025-01-02"), **kwargs)  # the same instant: current


def _at(day: str):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.fromisoformat(day).replace(tzinfo=UTC)
