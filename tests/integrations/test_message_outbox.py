"""The welcome message is sent after the commit that created its user, driven by its `Message` row.

The row is written pending in the event's transaction; the send happens after the commit; a failed
or lost send is sent again by the sweep, and the message id as Idempotency-Key means a second send
never makes a second copy.
"""

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from integrations import http
from integrations.errors import CircuitOpenError
from integrations.models import EventStatus, Message, WebhookEvent
from integrations.providers.communication_service import messages_due, messages_send
from integrations.services import (
    events_process,
    messages_sweep,
    webhook_parse,
    webhook_receive,
)
from tenants.models import Tenant

from .conftest import SandboxControl, event, use_sandbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine_here")]


@pytest.fixture
def in_a(tenant_a: Tenant, sandbox: SandboxControl) -> Any:
    with schema_context(tenant_a.schema_name):
        use_sandbox(sandbox, "user-service", "communication-service")
        yield tenant_a


def created(*, after_commit: bool = True) -> tuple[WebhookEvent, Message]:
    doc = event("user.created", ext=f"usr_m_{uuid.uuid4().hex[:8]}")
    webhook_receive(service="user-service", body=webhook_parse(body=json.dumps(doc).encode()))
    e = WebhookEvent.objects.get(event_id=doc["id"])
    if after_commit:
        with TestCase.captureOnCommitCallbacks(execute=True):
            events_process(event_ids=[e.pk])
    else:  # the worker dies right after the commit, before it sends anything
        with TestCase.captureOnCommitCallbacks(execute=False):
            events_process(event_ids=[e.pk])
    e.refresh_from_db()
    return e, Message.objects.get(user__external_id=doc["data"]["id"])


def later(seconds: float = 3600) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def test_a_failing_send_keeps_the_user_and_the_sweep_sends_it_later(
    in_a: Tenant, sandbox: SandboxControl
) -> None:
    sandbox.fault("communication-service", error_rate=1.0, status=503)
    e, message = created()
    assert e.status == EventStatus.PROCESSED  # the user is applied, whatever the message's fate
    assert User.objects.filter(pk=message.user_id).exists()
    assert (message.external_id, message.status, message.send_attempts) == ("", "queued", 1)
    assert message.next_send_at is not None
    assert "503" in message.send_error
    assert message.pk not in messages_due()  # waiting for its back-off

    sandbox.clear_faults()
    assert messages_due(now=later()) == [message.pk]
    Message.objects.filter(pk=message.pk).update(next_send_at=timezone.now())
    messages_send(message_ids=[message.pk], due_only=True)
    message.refresh_from_db()
    assert message.external_id.startswith("msg_")
    assert (message.next_send_at, message.send_error) == (None, "")
    assert [m["to"] for m in sandbox.state()["messages"]] == [message.recipient]


def test_a_send_lost_with_its_worker_is_found_by_the_sweep_and_sent_once(
    in_a: Tenant, sandbox: SandboxControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations import tasks

    e, message = created(after_commit=False)
    assert e.status == EventStatus.PROCESSED
    assert message.external_id == ""
    assert sandbox.state()["messages"] == []
    enqueued: list[Any] = []
    monkeypatch.setattr(tasks.send_messages, "apply_async", lambda **kw: enqueued.append(kw))
    assert messages_sweep(now=later(1)) == 1
    assert enqueued[0]["args"] == [[str(message.pk)]]

    tasks.send_messages(message_ids=[str(message.pk)])
    message.refresh_from_db()
    first = message.external_id
    assert first.startswith("msg_")
    # sent again all the same (two processes, a lost answer): the service keeps one copy
    Message.objects.filter(pk=message.pk).update(external_id="", next_send_at=timezone.now())
    messages_send(message_ids=[message.pk], due_only=True)
    message.refresh_from_db()
    assert message.external_id == first
    assert len(sandbox.state()["messages"]) == 1
    assert messages_sweep(now=later()) == 0


def test_an_open_breaker_postpones_the_send_without_counting_an_attempt(
    in_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    retry_at = later(30)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise CircuitOpenError(retry_at=retry_at)

    monkeypatch.setattr(http.ServiceClient, "post", refuse)
    _, message = created()
    assert (message.send_attempts, message.next_send_at, message.status) == (0, retry_at, "queued")


def test_a_send_that_keeps_failing_is_given_up_as_failed(
    in_a: Tenant, sandbox: SandboxControl, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.INTEGRATIONS_HTTP_MAX_ATTEMPTS = 1  # two failed calls in all: the breaker stays closed
    sandbox.fault("communication-service", error_rate=1.0, status=503)
    _, message = created()
    assert message.send_attempts == 1
    Message.objects.filter(pk=message.pk).update(next_send_at=timezone.now())
    messages_send(message_ids=[message.pk], due_only=True)
    message.refresh_from_db()
    assert (message.status, message.next_send_at, message.send_attempts) == ("failed", None, 2)
    assert message.status_reason.startswith("not sent after 2 attempts")
    from audit.models import AuditEntry

    gave_up = AuditEntry.objects.filter(object_type="integrations.message").latest("seq")
    assert (gave_up.actor, gave_up.changes["status"]) == (
        "system:communication-service",
        ["queued", "failed"],
    )
    assert messages_due(now=later()) == []


def test_messages_of_another_tenant_are_not_swept_here(
    in_a: Tenant, tenant_b: Tenant, sandbox: SandboxControl
) -> None:
    sandbox.fault("communication-service", error_rate=1.0, status=503)
    _, message = created()
    with schema_context(tenant_b.schema_name):
        assert messages_due(now=later()) == []
        messages_send(message_ids=[message.pk])  # an id of tenant A means nothing in B
    message.refresh_from_db()
    assert message.send_attempts == 1
