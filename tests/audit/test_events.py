"""Non-row events: sign-in, sign-out, refresh reuse, platform access to a tenant, explicit records."""

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from audit.events import CHANGING_EVENTS, AuditEvent
from audit.services import audit_record
from tests.audit.helpers import IP, UA, last, request_headers
from tests.conftest import PASSWORD, ROUTING_FORMS, TenantClient, access_token

pytestmark = pytest.mark.django_db


def _login(tenant, email, password=PASSWORD, request_id="req-login"):
    return TenantClient(tenant).post(
        "/api/v1/auth/login", {"email": email, "password": password}, **request_headers(request_id)
    )


def test_login_success_and_failures_are_audited(tenant_a, make_user):
    user = make_user(tenant_a, Role.ADMIN)
    assert _login(tenant_a, user.email, request_id="req-ok").status_code == 200
    ok = last(tenant_a, event="login")
    assert (ok.actor, ok.action_name, ok.object_pk) == (user.email, "access", str(user.pk))
    assert (ok.remote_addr, ok.user_agent, ok.request_id) == (IP, UA, "req-ok")
    assert ok.changes == {"event": "login", "channel": "api"}

    assert _login(tenant_a, user.email, "wrong-password", request_id="req-bad").status_code == 401
    wrong = last(tenant_a, event="login_failed")
    assert (wrong.actor, wrong.object_pk, wrong.request_id) == ("anonymous", str(user.pk), "req-bad")
    assert (wrong.object_type, wrong.changes["email"], wrong.changes["channel"]) == (
        "accounts.user",
        user.email,
        "api",
    )
    assert (wrong.changes["source"], wrong.changes["count"]) == (IP, 1)
    assert "wrong-password" not in str(wrong.changes)

    assert _login(tenant_a, "nobody@example.test", "x", request_id="req-none").status_code == 401
    unknown = last(tenant_a, event="login_failed")
    assert (unknown.object_pk, unknown.request_id) == ("", "req-none")
    assert unknown.changes["email"] == "nobody@example.test"


def test_platform_login_is_audited_in_the_platform_trail(platform_admin):
    assert _login(None, platform_admin.email).status_code == 200
    entry = last(None, event="login")
    assert entry.actor == f"platform:{platform_admin.email}"


def test_logout_and_refresh_reuse_are_audited(tenant_a, make_user):
    user = make_user(tenant_a)
    tokens = _login(tenant_a, user.email).json()
    client = TenantClient(tenant_a, token=tokens["access"])
    refreshed = client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    reused = client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, **request_headers("req-re"))
    assert reused.status_code == 401
    entry = last(tenant_a, event="refresh_reuse")
    assert (entry.actor, entry.object_pk, entry.request_id) == (user.email, str(user.pk), "req-re")

    new = refreshed.json()
    out = TenantClient(tenant_a, token=new["access"]).post(
        "/api/v1/auth/logout", {"refresh": new["refresh"]}, **request_headers("req-out")
    )
    assert out.status_code == 204
    entry = last(tenant_a, event="logout")
    assert (entry.actor, entry.remote_addr, entry.request_id) == (user.email, IP, "req-out")


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_platform_admin_on_a_tenant_route_is_audited_as_access(tenant_a, platform_admin, via):
    client = TenantClient(tenant_a, via=via, token=access_token(platform_admin, None))
    assert client.get("/api/v1/auth/me", **request_headers("req-pa")).status_code == 200
    entry = last(tenant_a, event="platform_access")
    assert entry.actor == f"platform:{platform_admin.email}"
    assert entry.action_name == "access"
    assert entry.object_type == "tenants.tenant"
    # The path as the client sent it (the path form keeps the tenant's prefix).
    sent = f"/api/v1/tenants/{tenant_a.slug}/auth/me" if via == "path" else "/api/v1/auth/me"
    assert entry.changes["path"] == sent
    assert (entry.remote_addr, entry.user_agent, entry.request_id) == (IP, UA, "req-pa")


def test_tenant_users_on_their_own_routes_are_not_access_events(tenant_a, make_user):
    user = make_user(tenant_a)
    assert (
        TenantClient(tenant_a, token=access_token(user, tenant_a)).get("/api/v1/auth/me").status_code == 200
    )
    with schema_context(tenant_a.schema_name):
        from audit.models import AuditEntry

        assert not AuditEntry.objects.filter(event="platform_access").exists()


@pytest.mark.parametrize(
    ("event", "category"),
    [(AuditEvent.SECRET_ROTATE, "update"), (AuditEvent.REPLAY, "update"), (AuditEvent.LOGIN, "access")],
)
def test_audit_record_files_each_event_under_its_action(tenant_a, event, category):
    with schema_context(tenant_a.schema_name):
        entry = audit_record(
            event=event,
            target=("integrations.integrationsettings", "user-service"),
            details={"secret": "rotated"},
            actor="system:test",
        )
    assert entry.action_name == category
    assert entry.actor == "system:test"
    assert (entry.object_type, entry.object_pk) == ("integrations.integrationsettings", "user-service")
    assert entry.changes == {"event": event.value, "secret": "rotated"}
    assert entry.event == event.value


def test_every_event_is_filed_under_update_or_access():
    assert {AuditEvent(e) in CHANGING_EVENTS for e in AuditEvent.values} == {True, False}
    with pytest.raises(ValueError, match="is not a valid AuditEvent"):
        AuditEvent("rotate_everything")


def test_a_model_target_is_named_app_label_dot_model(tenant_a, make_user):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        entry = audit_record(event=AuditEvent.LOGOUT, target=user, actor=user)
    assert (entry.object_type, entry.object_pk, entry.object_id) == ("accounts.user", str(user.pk), user.pk)
    assert (entry.actor, entry.actor_email) == (user.email, user.email)
