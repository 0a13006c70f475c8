"""No event may do what its signer could not do through the API.

A tenant admin can rotate the user-service secret and so sign user-service events; those events must
not take over the owner's account (by its email) nor change an owner. The payment service moves the
tenant's plan, which no tenant user may set: its settings and secret are the platform's, and its
subscription events are claims verified against its API.
"""

import uuid
from typing import Any

import pytest
from django.test import Client, TestCase
from django_tenants.utils import schema_context

from accounts.models import Role, User
from integrations.models import EventStatus, IntegrationSettings, WebhookEvent
from integrations.services import events_process, integration_settings_update
from tenants.models import Tenant
from tests.conftest import PASSWORD

from .conftest import SandboxControl, event, use_sandbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("engine_here")]


def process_all(tenant: Tenant) -> list[WebhookEvent]:
    with schema_context(tenant.schema_name):
        ids = list(WebhookEvent.objects.filter(status=EventStatus.RECEIVED).values_list("id", flat=True))
        with TestCase.captureOnCommitCallbacks(execute=True):
            events_process(event_ids=ids)
        return list(WebhookEvent.objects.filter(pk__in=ids).order_by("occurred_at", "id"))


def owner_of(tenant: Tenant) -> User:
    with schema_context(tenant.schema_name):
        return User.objects.get(email=f"owner@{tenant.slug}.test")


def snapshot(user: User, tenant: Tenant) -> tuple[Any, ...]:
    with schema_context(tenant.schema_name):
        user.refresh_from_db()
    return (user.email, user.first_name, user.last_name, user.role, user.is_active, user.external_id)


def plan_of(tenant: Tenant) -> str:
    return Tenant.objects.get(pk=tenant.pk).plan


def configure(tenant: Tenant, sandbox: SandboxControl, *services: str) -> None:
    with schema_context(tenant.schema_name):
        use_sandbox(sandbox, *services, api_key="k")


# --- user-service: the admin who rotated its secret ------------------------------------------


@pytest.mark.parametrize("tenant_name", ["tenant_a", "tenant_b"])
def test_an_admin_cannot_take_over_the_owner_through_signed_user_events(
    tenant_name: str,
    request: Any,
    tenant_a: Tenant,
    tenant_b: Tenant,
    make_user: Any,
    client_for: Any,
    deliver: Any,
) -> None:
    tenant = request.getfixturevalue(tenant_name)
    other = tenant_b if tenant is tenant_a else tenant_a
    owner, other_owner = owner_of(tenant), owner_of(other)
    before, other_before = snapshot(owner, tenant), snapshot(other_owner, other)
    admin = make_user(tenant, Role.ADMIN)
    api = client_for(tenant, admin)
    rotated = api.post("/api/v1/integrations/user-service/rotate-secret")
    assert rotated.status_code == 200
    secret = rotated.json()["secret"]

    ext = f"usr_evil_{uuid.uuid4().hex[:6]}"
    link = event("user.updated", ext=ext, email=owner.email.upper(), first_name="Mallory", role="admin")
    takeover = event(
        "user.updated",
        ext=ext,
        email="mallory@evil.test",
        first_name="Mallory",
        occurred_at="2025-01-02T00:00:00+00:00",
    )
    for doc in (link, takeover):
        assert deliver(tenant, doc, secret=secret).status_code == 202
    linked, moved = process_all(tenant)

    assert linked.status == EventStatus.DEAD
    assert "belongs to an account the user service did not create" in linked.last_error
    assert snapshot(owner, tenant) == before  # names, sign-in email, role: all the owner's own
    assert moved.status == EventStatus.PROCESSED  # a user of the service's own, nobody else's
    with schema_context(tenant.schema_name):
        assert User.objects.get(external_id=ext).email == "mallory@evil.test"
    signed_in = client_for(tenant).post("/api/v1/auth/login", {"email": owner.email, "password": PASSWORD})
    assert signed_in.status_code == 200
    assert snapshot(other_owner, other) == other_before  # the twin tenant: untouched


def test_a_synced_user_made_owner_is_never_changed_nor_deactivated_by_the_service(
    tenant_a: Tenant, make_user: Any, deliver: Any
) -> None:
    promoted = make_user(tenant_a, Role.OWNER, external_id=f"usr_own_{uuid.uuid4().hex[:6]}")
    before = snapshot(promoted, tenant_a)
    ext = promoted.external_id
    deliver(tenant_a, event("user.updated", ext=ext, email="renamed@evil.test", role="member"))
    deliver(tenant_a, event("user.deleted", ext=ext, occurred_at="2025-01-03T00:00:00+00:00"))
    updated, deleted = process_all(tenant_a)
    assert (updated.status, deleted.status) == (EventStatus.DEAD, EventStatus.DEAD)
    assert "whose role is above" in updated.last_error
    assert "whose role is above" in deleted.last_error
    assert snapshot(promoted, tenant_a) == before


def test_no_event_grants_a_role_above_admin_and_own_users_still_sync(tenant_a: Tenant, deliver: Any) -> None:
    ext = f"usr_own_{uuid.uuid4().hex[:6]}"
    deliver(tenant_a, event("user.updated", ext=ext, email=f"{ext}@sync.test", role="owner"))
    deliver(
        tenant_a,
        event(
            "user.updated",
            ext=ext,
            email=f"{ext}@new.test",
            first_name="Grace",
            role="admin",
            occurred_at="2025-01-02T00:00:00+00:00",
        ),
    )
    created, changed = process_all(tenant_a)
    assert (created.status, changed.status) == (EventStatus.PROCESSED, EventStatus.PROCESSED)
    with schema_context(tenant_a.schema_name):
        user = User.objects.get(external_id=ext)
    assert (user.email, user.first_name, user.role) == (f"{ext}@new.test", "Grace", Role.ADMIN)


# --- payment-service: the plan is the platform's ---------------------------------------------


@pytest.mark.parametrize("tenant_name", ["tenant_a", "tenant_b"])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_tenant_users_cannot_configure_the_payment_service_but_can_read_it(
    tenant_name: str, role: str, request: Any, make_user: Any, client_for: Any
) -> None:
    tenant = request.getfixturevalue(tenant_name)
    api = client_for(tenant, make_user(tenant, role))
    with schema_context(tenant.schema_name):
        before = IntegrationSettings.objects.filter(service="payment-service").values_list(
            "signing_secret", "base_url"
        )
        before = list(before)
    rotated = api.post("/api/v1/integrations/payment-service/rotate-secret")
    changed = api.put("/api/v1/integrations/payment-service/", {"base_url": "http://127.0.0.1:1/evil"})
    for response in (rotated, changed):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert "only platform admins" in response.json()["error"]["message"]
    assert "secret" not in rotated.json()
    assert api.get("/api/v1/integrations/payment-service/").status_code == 200
    with schema_context(tenant.schema_name):
        after = list(
            IntegrationSettings.objects.filter(service="payment-service").values_list(
                "signing_secret", "base_url"
            )
        )
    assert after[0][1] == (before[0][1] if before else "")
    if before:
        assert after == before
    # the other services stay theirs
    assert api.put("/api/v1/integrations/user-service/", {"enabled": True}).status_code == 200


def test_a_subscription_event_is_a_claim_checked_against_the_service(
    tenant_a: Tenant, tenant_b: Tenant, sandbox: SandboxControl, deliver: Any
) -> None:
    """Even signed with the tenant's real secret (one leaked, or held from before), an event cannot pick
    the plan: the subscription is read from the service's API, and an unknown one changes nothing."""
    configure(tenant_a, sandbox, "payment-service")
    sub_id = f"sub_{uuid.uuid4().hex[:8]}"
    claim = {"id": sub_id, "customer_id": "cus_x", "plan": "enterprise", "status": "active"}
    deliver(tenant_a, event("subscription.updated", **claim, ext=sub_id), service="payment-service")
    (unknown,) = process_all(tenant_a)
    assert unknown.status == EventStatus.DEAD
    assert "not known to payment-service" in unknown.last_error
    assert plan_of(tenant_a) == "free"

    sandbox.set_subscription({**claim, "plan": "pro"})  # what the service really says
    deliver(
        tenant_a,
        event("subscription.updated", **claim, ext=sub_id, occurred_at="2025-01-02T00:00:00+00:00"),
        service="payment-service",
    )
    (verified,) = process_all(tenant_a)
    assert verified.status == EventStatus.PROCESSED, verified.last_error
    assert plan_of(tenant_a) == "pro"  # the service's plan, not the claimed one
    assert plan_of(tenant_b) == "free"


def test_a_subscription_event_without_a_configured_service_changes_nothing(
    tenant_a: Tenant, deliver: Any
) -> None:
    claim = {"id": "sub_demo", "plan": "enterprise", "status": "active"}
    deliver(tenant_a, event("subscription.created", **claim, ext="sub_demo"), service="payment-service")
    (e,) = process_all(tenant_a)
    assert e.status == EventStatus.DEAD
    assert "payment-service has no base URL" in e.last_error
    assert plan_of(tenant_a) == "free"


def test_a_platform_configured_payment_service_moves_the_plan(
    tenant_a: Tenant,
    tenant_b: Tenant,
    platform_admin: User,
    sandbox: SandboxControl,
    client_for: Any,
    deliver: Any,
) -> None:
    staff = client_for(tenant_a, platform_admin)
    configured = staff.put(
        "/api/v1/integrations/payment-service/",
        {"enabled": True, "base_url": sandbox.base_url("payment-service"), "api_key": "platform-key"},
    )
    assert configured.status_code == 200
    rotated = staff.post("/api/v1/integrations/payment-service/rotate-secret")
    assert rotated.status_code == 200
    secret = rotated.json()["secret"]
    sub_id = f"sub_{uuid.uuid4().hex[:8]}"
    data = {"id": sub_id, "customer_id": "cus_a", "plan": "enterprise", "status": "active"}
    sandbox.set_subscription(data)

    assert (
        deliver(
            tenant_b,
            event("subscription.created", **data, ext=sub_id),
            secret=secret,
            service="payment-service",
        ).status_code
        == 401
    )  # tenant A's secret is not B's
    assert (
        deliver(
            tenant_a,
            event("subscription.created", **data, ext=sub_id),
            secret=secret,
            service="payment-service",
        ).status_code
        == 202
    )
    (e,) = process_all(tenant_a)
    assert e.status == EventStatus.PROCESSED, e.last_error
    assert plan_of(tenant_a) == "enterprise"
    assert plan_of(tenant_b) == "free"
    Tenant.objects.filter(pk=tenant_a.pk).update(plan="free")  # the session tenant stays as it was


def test_the_tenant_admin_site_shows_the_payment_service_read_only(tenant_a: Tenant, make_user: Any) -> None:
    with schema_context(tenant_a.schema_name):
        integration_settings_update(
            service="payment-service", enabled=True, base_url="http://127.0.0.1:8100/payment-service"
        )
        integration_settings_update(
            service="user-service", enabled=True, base_url="http://127.0.0.1:8100/user-service"
        )
        payment = IntegrationSettings.objects.get(service="payment-service")
        users = IntegrationSettings.objects.get(service="user-service")
    admin = make_user(tenant_a, Role.ADMIN)
    client = Client(HTTP_HOST=f"{tenant_a.slug}.localhost")
    with schema_context(tenant_a.schema_name):
        client.force_login(admin)
    url = f"/admin/integrations/integrationsettings/{payment.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="base_url"' not in page.content.decode()  # shown, not editable
    refused = client.post(url, {"enabled": "on", "base_url": "http://127.0.0.1:1/evil", "api_key": "x"})
    assert refused.status_code == 403
    with schema_context(tenant_a.schema_name):
        payment.refresh_from_db()
    assert payment.base_url == "http://127.0.0.1:8100/payment-service"
    assert (
        'name="base_url"'
        in client.get(f"/admin/integrations/integrationsettings/{users.pk}/change/").content.decode()
    )
