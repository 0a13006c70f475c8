"""Row changes of every audited model, with actor, client IP, user agent, request id and diff."""

import pytest
from django.test import RequestFactory, override_settings
from django_tenants.utils import schema_context

from accounts.models import Role, User
from audit.context import acting_as, request_context
from audit.masking import MASK
from tenants.models import Tenant
from tests.audit.helpers import IP, UA, last, request_headers
from tests.conftest import PASSWORD, TenantClient, access_token

pytestmark = pytest.mark.django_db

NEW = {
    "slug": "audited",
    "name": "Audited",
    "plan": "free",
    "domains": ["audited.example"],
    "owner": {"email": "boss@audited.test", "password": PASSWORD},
}


@pytest.fixture
def staff(platform_admin):
    return TenantClient(None, token=access_token(platform_admin, None))


def _fake_request(user, *, tenant=None, request_id="req-fake"):
    request = RequestFactory().post("/x", HTTP_USER_AGENT=UA, REMOTE_ADDR=IP)
    request.user, request.tenant, request.request_id = user, tenant, request_id
    return request


def _stamped(entry, *, actor, request_id):
    assert entry.actor == actor
    assert entry.remote_addr == IP
    assert entry.user_agent == UA
    assert entry.request_id == request_id


def test_tenant_create_audits_tenant_domains_and_owner_in_the_right_trails(staff, platform_admin):
    response = staff.post("/api/v1/tenants/", NEW, **request_headers("req-create"))
    assert response.status_code == 201, response.content
    tenant = Tenant.objects.get(slug="audited")
    actor = f"platform:{platform_admin.email}"

    created = last(None, object_type="tenants.tenant", object_pk=str(tenant.pk), action=0)
    _stamped(created, actor=actor, request_id="req-create")
    assert created.changes["slug"] == [None, "audited"]
    assert created.changes["plan"] == [None, "free"]

    domain = last(None, object_type="tenants.domain", action=0, changes__domain__1="audited.example")
    _stamped(domain, actor=actor, request_id="req-create")

    owner = last(tenant, object_type="accounts.user", action=0)  # in the tenant's own trail
    _stamped(owner, actor=actor, request_id="req-create")
    assert owner.changes["email"] == [None, "boss@audited.test"]
    assert owner.changes["password"] == [None, MASK]  # the hash is never stored
    with schema_context(tenant.schema_name):
        hashed = User.objects.get(email="boss@audited.test").password
    assert hashed not in str(owner.changes)


def test_tenant_update_and_domain_delete_are_audited(staff, platform_admin, tenant_a):
    response = staff.patch(
        "/api/v1/tenants/alpha/",
        {"plan": "enterprise", "domains": ["alpha-extra.example"]},
        **request_headers("req-update-1"),
    )
    assert response.status_code == 200, response.content
    updated = last(None, object_type="tenants.tenant", object_pk=str(tenant_a.pk), action=1)
    _stamped(updated, actor=f"platform:{platform_admin.email}", request_id="req-update-1")
    assert updated.changes == {"plan": ["free", "enterprise"]}  # updated_at is noise, left out

    response = staff.patch("/api/v1/tenants/alpha/", {"domains": []}, **request_headers("req-update-2"))
    assert response.status_code == 200, response.content
    removed = last(None, object_type="tenants.domain", action=2)
    _stamped(removed, actor=f"platform:{platform_admin.email}", request_id="req-update-2")
    assert removed.changes["domain"] == ["alpha-extra.example", None]


def test_tenant_delete_is_audited(staff, platform_admin):
    assert staff.post("/api/v1/tenants/", NEW).status_code == 201
    response = staff.delete("/api/v1/tenants/audited/", **request_headers("req-delete"))
    assert response.status_code == 204
    tenant = Tenant.objects.get(slug="audited")
    entry = last(None, object_type="tenants.tenant", object_pk=str(tenant.pk), action=1)
    _stamped(entry, actor=f"platform:{platform_admin.email}", request_id="req-delete")
    assert entry.changes == {"status": ["active", "deleted"]}


def test_domain_row_delete_is_audited(tenant_a, platform_admin):
    with schema_context("public"), request_context(_fake_request(platform_admin, request_id="req-dom")):
        domain = tenant_a.domains.create(domain="gone.example", is_primary=False)
        domain_pk = domain.pk
        domain.delete()
    entry = last(None, object_type="tenants.domain", object_pk=str(domain_pk), action=2)
    _stamped(entry, actor=f"platform:{platform_admin.email}", request_id="req-dom")
    assert entry.changes["domain"] == ["gone.example", None]


def test_user_update_role_change_and_delete_in_a_tenant(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    member = make_user(tenant_a, Role.MEMBER)
    with (
        schema_context(tenant_a.schema_name),
        request_context(_fake_request(owner, tenant=tenant_a, request_id="req-user")),
    ):
        member.first_name = "Renamed"
        member.save()
        member.role = Role.ADMIN
        member.save()
        member.set_password("another-long-password")
        member.save()
        member_pk = member.pk
        member.delete()

    renamed, promoted, password = (
        last(tenant_a, object_pk=str(member_pk), action=1, changes__has_key=key)
        for key in ("first_name", "role", "password")
    )
    _stamped(renamed, actor=owner.email, request_id="req-user")
    assert renamed.changes == {"first_name": ["", "Renamed"]}
    assert renamed.actor_email == owner.email
    assert promoted.changes == {"role": ["member", "admin"]}
    assert promoted.event == "role_change"
    assert password.changes == {"password": [MASK, MASK]}  # that it changed, never the hash
    deleted = last(tenant_a, object_pk=str(member_pk), action=2)
    _stamped(deleted, actor=owner.email, request_id="req-user")
    assert deleted.changes["email"] == [member.email, None]


def test_user_change_lands_only_in_its_own_tenants_trail(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    entry = last(tenant_a, object_type="accounts.user", object_pk=str(user.pk), action=0)
    with schema_context(tenant_b.schema_name):
        from audit.models import AuditEntry

        assert not AuditEntry.objects.filter(actor_email=user.email).exists()
        assert not AuditEntry.objects.filter(chain_hash=entry.chain_hash).exists()


def test_platform_staff_change_goes_to_the_platform_trail(platform_admin, make_user):
    other = make_user(None, Role.PLATFORM_ADMIN, email="other-staff@platform.test")
    with request_context(_fake_request(platform_admin, request_id="req-staff")):
        other.is_active = False
        other.save()
    entry = last(None, object_type="accounts.user", object_pk=str(other.pk), action=1)
    _stamped(entry, actor=f"platform:{platform_admin.email}", request_id="req-staff")
    assert entry.changes == {"is_active": [True, False]}


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(staff):
    headers = {**request_headers("req-xff"), "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert staff.patch("/api/v1/tenants/alpha/", {"plan": "pro"}, **headers).status_code == 200
    assert last(None, object_type="tenants.tenant", action=1).remote_addr == IP

    with override_settings(SAAS_TRUSTED_PROXIES=[IP]):
        assert staff.patch("/api/v1/tenants/alpha/", {"plan": "enterprise"}, **headers).status_code == 200
    assert last(None, object_type="tenants.tenant", action=1).remote_addr == "198.51.100.1"


def test_acting_as_names_the_system_actor(tenant_a, make_user):
    user = make_user(tenant_a)
    with (
        schema_context(tenant_a.schema_name),
        request_context(_fake_request(user, tenant=tenant_a, request_id="req-hook")),
        acting_as("system:user-service"),
    ):
        user.last_name = "Synced"
        user.save()
    entry = last(tenant_a, object_pk=str(user.pk), action=1)
    assert entry.actor == "system:user-service"
    assert entry.request_id == "req-hook"  # still the request that carried the webhook


def test_a_creates_diff_is_auditlogs_own(tenant_a):
    """audit/diff.py computes a created row's diff faster, never differently: compared with
    auditlog's model_instance_diff on each audited model, a masked field and an empty one included."""
    from datetime import UTC, datetime

    from auditlog import receivers

    from accounts.models import Invitation
    from audit.diff import auditlog_model_instance_diff, model_instance_diff
    from tenants.models import Domain

    assert receivers.model_instance_diff is model_instance_diff  # installed by AuditConfig.ready()
    with schema_context(tenant_a.schema_name):
        user = User(email="diff@a.test", role=Role.ADMIN, first_name="", external_id=None)
        user.set_password(PASSWORD)
        user.pk, user.created_at = 41, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        invitation = Invitation(email="i@a.test", role=Role.MEMBER, invited_by="owner@a.test")
        invitation.pk, invitation.expires_at = 7, datetime(2026, 2, 1, tzinfo=UTC)
    rows = [user, invitation, Tenant(slug="d", name="D", schema_name="t_d"), Domain(domain="d.example")]
    for row in rows:
        expected = auditlog_model_instance_diff(None, row, use_json_for_changes=True)
        assert model_instance_diff(None, row, use_json_for_changes=True) == expected, type(row)
    changes = model_instance_diff(None, user, use_json_for_changes=True)
    assert changes is not None
    assert changes["password"] == (None, MASK)
    assert "first_name" in changes  # empty, not None: recorded
    assert "external_id" not in changes  # None: left out
