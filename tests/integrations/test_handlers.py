"""Every event type's effect, in order and out of order, against the sandbox as a real server."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import TestCase
from django_tenants.utils import schema_context

from accounts.models import Role, User
from integrations import http
from integrations.models import EventStatus, Invoice, Message, Subscription, WebhookEvent
from integrations.providers.communication_service import message_id_for
from integrations.service_names import SERVICES
from integrations.services import endpoint_update, events_process, webhook_parse, webhook_receive
from tenants.models import Tenant

from .conftest import SandboxControl

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def ev(type_: str, data: dict[str, Any], minutes: int = 0) -> dict[str, Any]:
    return {"id": f"evt_{uuid.uuid4().hex}", "type": type_, "occurred_at": at(minutes), "data": data}


def handle(service: str, *docs: dict[str, Any]) -> list[WebhookEvent]:
    """Stores the events and processes them together (one chunk, as a worker would), then runs what
    waits for the commit (the messages' sends), as the worker would after each commit."""
    webhook_receive(service=service, body=webhook_parse(body=json.dumps({"events": list(docs)}).encode()))
    events = [WebhookEvent.objects.get(service=service, event_id=d["id"]) for d in docs]
    with TestCase.captureOnCommitCallbacks(execute=True):
        events_process(event_ids=[e.pk for e in events])
    for e in events:
        e.refresh_from_db()
    return events


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.services.events_enqueue", lambda **kw: True)
    monkeypatch.setattr("integrations.services.events_kick", lambda **kw: True)
    monkeypatch.setattr(http, "sleep", lambda _s: None)


def configure(sandbox: SandboxControl, *services: str, key: str = "key-a") -> None:
    for service in services or SERVICES:
        endpoint_update(service=service, enabled=True, base_url=sandbox.base_url(service), api_key=key)


@pytest.fixture
def in_a(tenant_a: Tenant, sandbox: SandboxControl) -> Any:
    with schema_context(tenant_a.schema_name):
        configure(sandbox)
        yield tenant_a


def user_data(ext: str, **extra: Any) -> dict[str, Any]:
    return {"id": ext, "email": f"{ext}@example.test", "first_name": "", "last_name": "", **extra}


# --- user-service ----------------------------------------------------------------------------


def test_user_created_fetches_the_profile_and_sends_one_welcome(
    in_a: Tenant, sandbox: SandboxControl
) -> None:
    (event,) = handle("user-service", ev("user.created", user_data("usr_0003", email="new@example.test")))
    assert event.status == EventStatus.PROCESSED, event.last_error
    user = User.objects.get(external_id="usr_0003")
    profile = sandbox.state()
    assert (user.first_name, user.last_name) == ("Edsger", "Lovelace")  # from GET /users/usr_0003
    assert user.email == "new@example.test"
    message = Message.objects.get(user=user)
    assert (message.kind, message.recipient, message.status) == ("welcome", user.email, "queued")
    assert message.external_id.startswith("msg_")
    assert [m["to"] for m in profile["messages"]] == ["new@example.test"]
    # the same user created again (a replay or a second event) gets no second welcome
    handle("user-service", ev("user.created", user_data("usr_0003", email="new@example.test"), 1))
    assert Message.objects.filter(user=user).count() == 1
    assert len(sandbox.state()["messages"]) == 1


def test_user_created_unknown_to_the_service_keeps_the_event_data(in_a: Tenant) -> None:
    (event,) = handle(
        "user-service", ev("user.created", user_data("usr_x", first_name="Kay", last_name="Ng"))
    )
    assert event.status == EventStatus.PROCESSED
    user = User.objects.get(external_id="usr_x")
    assert (user.first_name, user.last_name) == ("Kay", "Ng")
    assert Message.objects.filter(user=user).count() == 1


def test_user_updated_and_deleted(in_a: Tenant) -> None:
    handle("user-service", ev("user.created", user_data("usr_u", first_name="A"), 0))
    handle("user-service", ev("user.updated", user_data("usr_u", first_name="B", role="admin"), 1))
    user = User.objects.get(external_id="usr_u")
    assert (user.first_name, user.role, user.is_active) == ("B", Role.ADMIN, True)
    (deleted,) = handle("user-service", ev("user.deleted", {"id": "usr_u"}, 2))
    assert deleted.status == EventStatus.PROCESSED
    user.refresh_from_db()
    assert user.is_active is False


def test_an_older_user_updated_after_a_newer_one_changes_nothing(in_a: Tenant) -> None:
    handle("user-service", ev("user.updated", user_data("usr_o", first_name="Newer"), 10))
    (old,) = handle("user-service", ev("user.updated", user_data("usr_o", first_name="Older"), 5))
    assert old.status == EventStatus.PROCESSED
    assert old.stale is True
    assert User.objects.get(external_id="usr_o").first_name == "Newer"


def test_a_late_user_created_after_user_deleted_does_not_revive_or_welcome(in_a: Tenant) -> None:
    handle("user-service", ev("user.deleted", {"id": "usr_gone"}, 10))
    (late,) = handle("user-service", ev("user.created", user_data("usr_gone"), 5))
    assert late.stale is True
    assert not User.objects.filter(external_id="usr_gone").exists()
    assert not Message.objects.exists()


def test_user_service_down_retries_the_event_without_a_half_applied_user(
    in_a: Tenant, sandbox: SandboxControl
) -> None:
    sandbox.fault("user-service", error_rate=1.0, status=503)
    (event,) = handle("user-service", ev("user.created", user_data("usr_0004")))
    assert event.status == EventStatus.RETRYING
    assert event.attempts == 1
    assert not User.objects.filter(external_id="usr_0004").exists()  # rolled back with the event


# --- payment-service -------------------------------------------------------------------------


def sub(plan: str, status: str = "active", sub_id: str = "sub_1") -> dict[str, Any]:
    return {
        "id": sub_id,
        "customer_id": "cus_1",
        "plan": plan,
        "status": status,
        "current_period_end": at(60 * 24 * 30),
    }


@pytest.fixture
def billing(sandbox: SandboxControl) -> Any:
    """billing(plan, status, sub_id) -> event data, after making it the payment service's own state
    (as a real service changes the subscription, then tells the platform)."""

    def change(plan: str, status: str = "active", sub_id: str = "sub_1") -> dict[str, Any]:
        data = sub(plan, status, sub_id)
        sandbox.set_subscription(data)
        return data

    return change


def tenant_plan(tenant: Tenant) -> str:
    return Tenant.objects.get(pk=tenant.pk).plan


def test_subscription_events_move_the_tenant_plan(in_a: Tenant, billing: Any) -> None:
    (created,) = handle("payment-service", ev("subscription.created", billing("pro"), 0))
    assert created.status == EventStatus.PROCESSED, created.last_error
    assert Subscription.objects.get(external_id="sub_1").plan == "pro"
    assert tenant_plan(in_a) == "pro"
    handle("payment-service", ev("subscription.updated", billing("enterprise"), 1))
    assert tenant_plan(in_a) == "enterprise"
    handle("payment-service", ev("subscription.canceled", billing("enterprise", "canceled"), 2))
    assert Subscription.objects.get(external_id="sub_1").status == "canceled"
    assert tenant_plan(in_a) == "free"


def test_the_plan_change_reaches_routing_and_moves_the_rate_budget(
    in_a: Tenant, tenant_b: Tenant, client_for: Any, make_user: Any, billing: Any
) -> None:
    """The routing cache is dropped, so the next request sees the new plan and its rate budget."""
    owner = make_user(in_a, Role.OWNER)
    before = client_for(in_a, owner).get("/api/v1/auth/me")
    assert before.json()["tenant"]["plan"] == "free"
    assert before["X-RateLimit-Limit"] == "600"
    connection.set_schema(in_a.schema_name)
    handle("payment-service", ev("subscription.created", billing("enterprise"), 0))
    after = client_for(in_a, owner).get("/api/v1/auth/me")
    assert after.json()["tenant"]["plan"] == "enterprise"
    assert after["X-RateLimit-Limit"] == "60000"
    other = client_for(tenant_b, make_user(tenant_b, Role.OWNER)).get("/api/v1/auth/me")
    assert other["X-RateLimit-Limit"] == "600"  # another tenant's budget never moves with it


def test_changes_made_by_webhook_processing_are_audited_as_the_service(in_a: Tenant, billing: Any) -> None:
    from audit.models import AuditEntry

    handle("payment-service", ev("subscription.created", billing("pro"), 0))
    entry = AuditEntry.objects.filter(object_type="integrations.subscription").latest("seq")
    assert entry.actor == "system:payment-service"
    assert entry.changes["plan"] == [None, "pro"]


def test_subscription_updated_before_created(in_a: Tenant, billing: Any) -> None:
    handle("payment-service", ev("subscription.updated", billing("enterprise"), 5))
    (late,) = handle("payment-service", ev("subscription.created", billing("pro"), 1))
    assert late.stale is True
    assert Subscription.objects.get(external_id="sub_1").plan == "enterprise"
    assert tenant_plan(in_a) == "enterprise"


def test_invoice_payment_failed_marks_past_due_and_paid_restores(in_a: Tenant, billing: Any) -> None:
    handle("payment-service", ev("subscription.created", billing("pro"), 0))
    inv = {"id": "in_1", "subscription_id": "sub_1", "amount": 4900, "currency": "usd"}
    (failed,) = handle("payment-service", ev("invoice.payment_failed", inv, 1))
    assert failed.status == EventStatus.PROCESSED, failed.last_error
    assert Subscription.objects.get(external_id="sub_1").status == "past_due"
    assert tenant_plan(in_a) == "pro"  # a grace period, not a downgrade
    invoice = Invoice.objects.get(external_id="in_1")
    assert (invoice.status, invoice.amount, invoice.currency) == ("payment_failed", 4900, "USD")
    handle("payment-service", ev("invoice.paid", {**inv, "id": "in_2"}, 2))
    assert Subscription.objects.get(external_id="sub_1").status == "active"
    assert Invoice.objects.get(external_id="in_2").status == "paid"
    # the failure arriving again, late, changes nothing
    (late,) = handle("payment-service", ev("invoice.payment_failed", inv, 1))
    assert late.stale is True
    assert Subscription.objects.get(external_id="sub_1").status == "active"


def test_an_invoice_of_an_unknown_subscription_fetches_it(in_a: Tenant, sandbox: SandboxControl) -> None:
    inv = {"id": "in_9", "subscription_id": "sub_demo", "amount": "12.50", "currency": "EUR"}
    (event,) = handle("payment-service", ev("invoice.payment_failed", inv, 1))
    assert event.status == EventStatus.PROCESSED, event.last_error
    assert Subscription.objects.get(external_id="sub_demo").status == "past_due"
    assert Invoice.objects.get(external_id="in_9").amount == 1250
    assert sandbox.requests_to("payment-service") == 1


def test_a_bad_plan_is_a_permanent_error(in_a: Tenant, billing: Any) -> None:
    (event,) = handle("payment-service", ev("subscription.created", billing("platinum"), 0))
    assert event.status == EventStatus.DEAD
    assert "plan" in event.last_error


# --- communication-service -------------------------------------------------------------------


@pytest.fixture
def welcome(in_a: Tenant) -> Message:
    handle("user-service", ev("user.created", user_data("usr_0005")))
    return Message.objects.get()


def msg(message: Message, **extra: Any) -> dict[str, Any]:
    return {"id": message.external_id, "message_id": str(message.pk), "recipient": message.recipient, **extra}


def status_of(message: Message) -> str:
    message.refresh_from_db()
    return message.status


def test_message_statuses_move_forward(welcome: Message) -> None:
    for step, status in enumerate(("sent", "delivered", "opened")):
        (event,) = handle("communication-service", ev(f"message.{status}", msg(welcome), step))
        assert event.status == EventStatus.PROCESSED, event.last_error
        assert status_of(welcome) == status


def test_message_delivered_before_sent_stays_delivered(welcome: Message) -> None:
    handle("communication-service", ev("message.delivered", msg(welcome), 2))
    (sent,) = handle("communication-service", ev("message.sent", msg(welcome), 1))
    assert sent.stale is True
    assert status_of(welcome) == "delivered"


def test_bounced_and_failed_are_final(welcome: Message) -> None:
    handle("communication-service", ev("message.bounced", msg(welcome, reason="no mailbox"), 1))
    handle("communication-service", ev("message.opened", msg(welcome), 2))
    assert status_of(welcome) == "bounced"
    assert welcome.status_reason == "no mailbox"


def test_a_status_found_by_the_provider_id_alone(welcome: Message) -> None:
    handle("communication-service", ev("message.sent", {"id": welcome.external_id, "message_id": ""}))
    assert status_of(welcome) == "sent"


def test_a_status_for_an_unknown_message_is_retried(in_a: Tenant) -> None:
    (event,) = handle("communication-service", ev("message.sent", {"id": "msg_x", "message_id": "msg_x"}))
    assert event.status == EventStatus.RETRYING


def test_a_rejected_welcome_is_recorded_failed_without_losing_the_user(
    in_a: Tenant, sandbox: SandboxControl
) -> None:
    sandbox.fault("communication-service", error_rate=1.0, status=400)
    (event,) = handle("user-service", ev("user.created", user_data("usr_0006")))
    assert event.status == EventStatus.PROCESSED
    message = Message.objects.get()
    assert message.status == "failed"
    assert sandbox.requests_to("communication-service") == 1  # a 400 is not retried


def test_message_ids_differ_between_tenants(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with schema_context(tenant_a.schema_name):
        a = message_id_for("welcome:usr_1")
    with schema_context(tenant_b.schema_name):
        b = message_id_for("welcome:usr_1")
    assert a != b


def test_other_types_are_ignored(in_a: Tenant) -> None:
    (event,) = handle("payment-service", ev("refund.created", {"id": "re_1"}))
    assert event.status == EventStatus.IGNORED
