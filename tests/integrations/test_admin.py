"""Django admin: a tenant's events on its host (filters, replay action), each tenant's on the platform."""

import pytest
from django.test import Client
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.models import Role
from integrations.models import EventStatus, WebhookEvent

from .factories import stored_event

pytestmark = pytest.mark.django_db


def dead_event(tenant, type_="user.updated"):
    with schema_context(tenant.schema_name):
        return stored_event(type_=type_, status=EventStatus.DEAD, attempts=8, last_error="boom")


def admin_client(tenant, user):
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost" if tenant else "localhost")
    with schema_context(tenant.schema_name if tenant else "public"):
        client.force_login(user)
    return client


def status_of(tenant, event):
    with schema_context(tenant.schema_name):
        return WebhookEvent.objects.get(pk=event.pk).status


def test_tenant_admin_lists_events_with_status_filter_and_replays(tenant_a, make_user):
    event = dead_event(tenant_a)
    client = admin_client(tenant_a, make_user(tenant_a, Role.ADMIN))
    page = client.get("/admin/integrations/webhookevent/?status__exact=dead")
    assert page.status_code == 200
    assert event.event_id in page.content.decode()
    assert "By status" in page.content.decode()

    response = client.post(
        "/admin/integrations/webhookevent/",
        {"action": "replay_selected", "_selected_action": [event.pk]},
    )
    assert response.status_code == 302
    assert status_of(tenant_a, event) == EventStatus.RECEIVED


def test_tenant_admin_shows_only_its_own_events(tenant_a, tenant_b, make_user):
    event = dead_event(tenant_a)
    client = admin_client(tenant_b, make_user(tenant_b, Role.ADMIN))
    page = client.get("/admin/integrations/webhookevent/")
    assert page.status_code == 200
    assert event.event_id not in page.content.decode()
    client.post(
        "/admin/integrations/webhookevent/", {"action": "replay_selected", "_selected_action": [event.pk]}
    )
    assert status_of(tenant_a, event) == EventStatus.DEAD


def test_tenant_members_cannot_open_the_events_admin(tenant_a, make_user):
    client = admin_client(tenant_a, make_user(tenant_a, Role.MEMBER))
    assert client.get("/admin/integrations/webhookevent/").status_code == 302  # to the login page


def test_platform_admin_sees_and_replays_a_tenants_events(tenant_a, tenant_b, platform_admin):
    event = dead_event(tenant_a)
    other = dead_event(tenant_b)
    client = admin_client(None, platform_admin)
    assert client.get("/admin/").status_code == 200
    change = client.get(f"/admin/tenants/tenant/{tenant_a.pk}/change/")
    assert change.status_code == 200
    url = reverse("platform_admin:tenant-webhook-events", kwargs={"tenant_id": tenant_a.pk})
    assert url in change.content.decode()

    page = client.get(url + "?status=dead")
    assert page.status_code == 200
    assert event.event_id in page.content.decode()
    assert other.event_id not in page.content.decode()

    assert client.post(url, {"event": [event.pk]}).status_code == 302
    assert status_of(tenant_a, event) == EventStatus.RECEIVED
    assert status_of(tenant_b, other) == EventStatus.DEAD

    beta_url = reverse("platform_admin:tenant-webhook-events", kwargs={"tenant_id": tenant_b.pk})
    assert client.post(beta_url, {"replay_all": "dead", "confirm": "yes"}).status_code == 302
    assert status_of(tenant_b, other) == EventStatus.RECEIVED


def test_replay_all_dead_asks_for_confirmation_first(tenant_a, tenant_b, platform_admin):
    event, other = dead_event(tenant_a), dead_event(tenant_b)
    client = admin_client(None, platform_admin)
    url = reverse("platform_admin:tenant-webhook-events", kwargs={"tenant_id": tenant_a.pk})
    assert 'name="replay_all" value="dead"' in client.get(url).content.decode()

    ask = client.post(url + "?service=user-service", {"replay_all": "dead"})
    assert ask.status_code == 200
    page = ask.content.decode()
    assert "Replay all dead events of alpha?" in page
    assert "<strong>1</strong> dead event of alpha from user-service" in page
    assert 'name="confirm" value="yes"' in page
    assert status_of(tenant_a, event) == EventStatus.DEAD  # nothing replayed yet

    done = client.post(url + "?service=user-service", {"replay_all": "dead", "confirm": "yes"}, follow=True)
    assert done.status_code == 200
    assert "1 event(s) of alpha requeued." in done.content.decode()
    assert status_of(tenant_a, event) == EventStatus.RECEIVED
    assert status_of(tenant_b, other) == EventStatus.DEAD


def test_tenant_admin_cannot_delete_webhook_events(tenant_a, make_user):
    event = dead_event(tenant_a)
    client = admin_client(tenant_a, make_user(tenant_a, Role.OWNER))
    listing = client.get("/admin/integrations/webhookevent/").content.decode()
    assert "delete_selected" not in listing
    assert "replay_selected" in listing
    response = client.post(
        "/admin/integrations/webhookevent/", {"action": "delete_selected", "_selected_action": [event.pk]}
    )
    assert response.status_code in (200, 302)
    assert client.get(f"/admin/integrations/webhookevent/{event.pk}/delete/").status_code == 403
    assert status_of(tenant_a, event) == EventStatus.DEAD


def test_the_platform_events_page_is_staff_only(tenant_a, make_user):
    client = admin_client(tenant_a, make_user(tenant_a, Role.OWNER))
    url = reverse("platform_admin:tenant-webhook-events", kwargs={"tenant_id": tenant_a.pk})
    assert client.get(url).status_code in (302, 404)  # tenant host: no such page
    anonymous = Client(HTTP_HOST="localhost")
    assert anonymous.get(url).status_code == 302
