"""Integration settings and the events API: roles, filters, replay, and cross-tenant refusals."""

import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role
from integrations.models import EventStatus, IntegrationSettings, WebhookEvent
from integrations.selectors import integration_settings_get, signing_secrets

from .factories import stored_event

pytestmark = pytest.mark.django_db
ROUTES = ["host", "header", "path"]


@pytest.fixture
def admin_a(tenant_a, make_user):
    return make_user(tenant_a, Role.ADMIN)


def make_events(tenant, *specs):
    with schema_context(tenant.schema_name):
        return [stored_event(service=service, status=status, type_=type_) for service, status, type_ in specs]


# --- settings ---------------------------------------------------------------------------------


def test_get_creates_the_settings_with_a_secret_and_never_shows_it(tenant_a, admin_a, client_for):
    response = client_for(tenant_a, admin_a).get("/api/v1/integrations/user-service/")
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "user-service"
    assert body["enabled"] is True
    assert body["has_api_key"] is False
    with schema_context(tenant_a.schema_name):
        secret = integration_settings_get(service="user-service").signing_secret
    assert secret.startswith("whsec_")
    assert secret not in json.dumps(body)
    assert body["secret_hint"].endswith(secret[-4:])


def test_put_stores_the_api_key_encrypted_and_never_returns_it(tenant_a, admin_a, client_for, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(tenant_a, admin_a)
    response = client.put(
        "/api/v1/integrations/communication-service",
        {"enabled": False, "base_url": "http://127.0.0.1:8100/pay", "api_key": "sk_live_top_secret"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["enabled"], body["base_url"], body["has_api_key"]) == (
        False,
        "http://127.0.0.1:8100/pay",
        True,
    )
    assert "sk_live_top_secret" not in response.content.decode()
    assert (
        "sk_live_top_secret" not in client.get("/api/v1/integrations/communication-service").content.decode()
    )
    assert "sk_live_top_secret" not in caplog.text
    with schema_context(tenant_a.schema_name):
        endpoint = IntegrationSettings.objects.get(service="communication-service")
        assert "sk_live_top_secret" not in endpoint.api_key_encrypted
        assert endpoint.api_key_value() == "sk_live_top_secret"

    # Leaving api_key out keeps it; an empty one clears it.
    client.put("/api/v1/integrations/communication-service/", {"enabled": True})
    with schema_context(tenant_a.schema_name):
        assert (
            integration_settings_get(service="communication-service").api_key_value() == "sk_live_top_secret"
        )
    client.put("/api/v1/integrations/communication-service/", {"api_key": ""})
    with schema_context(tenant_a.schema_name):
        assert integration_settings_get(service="communication-service").api_key_value() == ""


def test_put_validates_the_base_url(tenant_a, admin_a, client_for):
    response = client_for(tenant_a, admin_a).put(
        "/api/v1/integrations/user-service/", {"base_url": "not a url"}
    )
    assert response.status_code == 400
    assert "base_url" in response.json()["error"]["details"]


def test_rotate_secret_returns_the_new_secret_once_and_keeps_the_old_one_for_a_day(
    tenant_a, admin_a, client_for
):
    client = client_for(tenant_a, admin_a)
    client.get("/api/v1/integrations/user-service/")
    with schema_context(tenant_a.schema_name):
        old = integration_settings_get(service="user-service").signing_secret
    response = client.post("/api/v1/integrations/user-service/rotate-secret")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old
    with schema_context(tenant_a.schema_name):
        assert signing_secrets(service="user-service") == [new, old]
        expires = integration_settings_get(service="user-service").previous_secret_expires_at
    assert timedelta(hours=23, minutes=59) < expires - timezone.now() <= timedelta(hours=24)
    assert new not in client.get("/api/v1/integrations/user-service/").content.decode()


def test_unknown_service_settings_are_404(tenant_a, admin_a, client_for):
    assert client_for(tenant_a, admin_a).get("/api/v1/integrations/fax-service/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/integrations/user-service/"),
        ("put", "/api/v1/integrations/user-service/"),
        ("post", "/api/v1/integrations/user-service/rotate-secret"),
        ("get", "/api/v1/webhooks/events"),
        ("post", "/api/v1/webhooks/events/replay"),
    ],
)
def test_members_and_anonymous_are_refused(tenant_a, make_user, client_for, method, path):
    member = make_user(tenant_a, Role.MEMBER)
    assert getattr(client_for(tenant_a, member), method)(path, {}).status_code == 403
    assert getattr(client_for(tenant_a), method)(path, {}).status_code == 401


@pytest.mark.parametrize("via", ROUTES)
def test_another_tenants_admin_cannot_read_or_rotate_settings(tenant_a, tenant_b, make_user, client_for, via):
    admin_b = make_user(tenant_b, Role.ADMIN)
    client = client_for(tenant_b, admin_b, via=via)
    client.tenant = tenant_a  # B's token, A's route
    assert client.get("/api/v1/integrations/user-service/").status_code == 401
    assert client.post("/api/v1/integrations/user-service/rotate-secret").status_code == 401
    with schema_context(tenant_a.schema_name):
        assert not IntegrationSettings.objects.exists()


# --- events -----------------------------------------------------------------------------------


def test_events_list_and_filters(tenant_a, admin_a, client_for):
    a, b, c = make_events(
        tenant_a,
        ("user-service", "dead", "user.updated"),
        ("payment-service", "processed", "invoice.paid"),
        ("user-service", "processed", "user.created"),
    )
    client = client_for(tenant_a, admin_a)
    body = client.get("/api/v1/webhooks/events").json()
    assert body["count"] == 3
    assert set(body["results"][0]) >= {
        "id",
        "service",
        "event_id",
        "type",
        "status",
        "attempts",
        "last_error",
        "received_at",
        "processed_at",
        "payload",
    }

    def ids(query):
        return {row["id"] for row in client.get(f"/api/v1/webhooks/events/?{query}").json()["results"]}

    assert ids("service=user-service") == {a.pk, c.pk}
    assert ids("status=dead") == {a.pk}
    assert ids("type=invoice.paid") == {b.pk}
    assert ids("since=2000-01-01T00:00:00Z") == {a.pk, b.pk, c.pk}
    assert ids("since=2999-01-01T00:00:00Z") == set()
    assert client.get("/api/v1/webhooks/events?status=lost").status_code == 400
    assert client.get("/api/v1/webhooks/events?since=yesterday").status_code == 400


def test_event_detail(tenant_a, admin_a, client_for):
    (a,) = make_events(tenant_a, ("user-service", "dead", "user.updated"))
    client = client_for(tenant_a, admin_a)
    body = client.get(f"/api/v1/webhooks/events/{a.pk}").json()
    assert (body["id"], body["event_id"], body["status"]) == (a.pk, a.event_id, "dead")
    assert client.get("/api/v1/webhooks/events/999999/").status_code == 404


def test_replay_by_filter_requeues_and_is_audited(tenant_a, admin_a, client_for, monkeypatch):
    recorded = []
    monkeypatch.setattr("integrations.services.audit_record", lambda **kw: recorded.append(kw))
    make_events(
        tenant_a,
        ("user-service", "dead", "user.updated"),
        ("user-service", "dead", "user.updated"),
        ("payment-service", "dead", "invoice.paid"),
        ("user-service", "processed", "user.updated"),
    )
    client = client_for(tenant_a, admin_a)
    response = client.post("/api/v1/webhooks/events/replay", {"status": "dead", "service": "user-service"})
    assert response.status_code == 202
    assert response.json() == {"requeued": 2}
    with schema_context(tenant_a.schema_name):
        assert sorted(WebhookEvent.objects.values_list("service", "status")) == [
            ("payment-service", "dead"),
            ("user-service", "processed"),
            ("user-service", "received"),
            ("user-service", "received"),
        ]
    assert recorded[-1]["event"] == "replay"
    assert recorded[-1]["details"]["requeued"] == 2
    assert client.post("/api/v1/webhooks/events/replay/", {}).json() == {"requeued": 1}  # default: dead


def test_replay_one_is_audited_and_refuses_an_event_in_flight(tenant_a, admin_a, client_for, monkeypatch):
    recorded = []
    monkeypatch.setattr("integrations.services.audit_record", lambda **kw: recorded.append(kw))
    dead, busy = make_events(
        tenant_a, ("user-service", "dead", "user.updated"), ("user-service", "processing", "user.updated")
    )
    client = client_for(tenant_a, admin_a)
    assert client.post(f"/api/v1/webhooks/events/{dead.pk}/replay/").status_code == 202
    assert recorded[-1]["event"] == "replay"
    assert recorded[-1]["target"] == dead
    assert recorded[-1]["actor"] == admin_a
    assert client.post(f"/api/v1/webhooks/events/{busy.pk}/replay").status_code == 409


@pytest.mark.parametrize("via", ROUTES)
def test_tenant_b_cannot_see_or_replay_tenant_as_events(tenant_a, tenant_b, make_user, client_for, via):
    (dead_a,) = make_events(tenant_a, ("user-service", "dead", "user.updated"))
    admin_b = make_user(tenant_b, Role.ADMIN)

    own = client_for(tenant_b, admin_b, via=via)  # B's own routes: A's rows do not exist there
    assert own.get("/api/v1/webhooks/events").json()["count"] == 0
    assert own.get(f"/api/v1/webhooks/events/{dead_a.pk}").status_code == 404
    assert own.post(f"/api/v1/webhooks/events/{dead_a.pk}/replay").status_code == 404
    assert own.post("/api/v1/webhooks/events/replay", {"status": "dead"}).json() == {"requeued": 0}

    crossing = client_for(tenant_b, admin_b, via=via)  # B's token on A's route
    crossing.tenant = tenant_a
    assert crossing.get("/api/v1/webhooks/events").status_code == 401
    assert crossing.post(f"/api/v1/webhooks/events/{dead_a.pk}/replay").status_code == 401
    with schema_context(tenant_a.schema_name):
        assert WebhookEvent.objects.get(pk=dead_a.pk).status == EventStatus.DEAD


def test_platform_admin_can_use_the_events_api_on_a_tenant_route(tenant_a, platform_admin, client_for):
    make_events(tenant_a, ("user-service", "dead", "user.updated"))
    assert client_for(tenant_a, platform_admin).get("/api/v1/webhooks/events").json()["count"] == 1


def test_the_trail_filtered_by_an_admins_email_finds_their_replays(tenant_a, tenant_b, admin_a, client_for):
    from audit.selectors import entry_list

    (dead,) = make_events(tenant_a, ("user-service", "dead", "user.updated"))
    assert client_for(tenant_a, admin_a).post(f"/api/v1/webhooks/events/{dead.pk}/replay/").status_code == 202
    with schema_context(tenant_a.schema_name):
        replays = [e for e in entry_list(actor=admin_a.email.upper()) if e.event == "replay"]
    assert [(e.actor, e.actor_email, e.object_type, e.object_pk) for e in replays] == [
        (admin_a.email, admin_a.email, "integrations.webhookevent", str(dead.pk))
    ]
    with schema_context(tenant_b.schema_name):  # the twin: another tenant's trail has none of them
        assert not [e for e in entry_list(actor=admin_a.email) if e.event == "replay"]
