"""Read-only audit trails in the admin: tenant host, platform host, and a tenant's trail from the
platform (read from the tenant's schema, and audited)."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role
from tests.audit.helpers import last, record

pytestmark = pytest.mark.django_db
TRAIL = "/admin/audit/auditentry/"


def _session(user, tenant=None):
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost" if tenant else "localhost")
    with schema_context(tenant.schema_name if tenant else "public"):
        client.force_login(user)
    return client


def test_tenant_admin_sees_only_their_trail_with_filters(tenant_a, tenant_b, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    with schema_context(tenant_a.schema_name):
        record(action="access", object_type="reports.report", object_id="a-1", actor="x@alpha.test")
    with schema_context(tenant_b.schema_name):
        record(action="access", object_type="reports.report", object_id="b-1", actor="y@beta.test")
    client = _session(owner, tenant_a)
    page = client.get(TRAIL).content.decode()
    assert "a-1" in page
    assert "b-1" not in page
    for params in (
        {"actor": "x@alpha.test"},
        {"action__exact": "3"},
        {"object_type__exact": "reports.report"},
        {"q": "a-1"},
        {"timestamp__gte": "2000-01-01 00:00:00+00:00"},
    ):
        response = client.get(TRAIL, params)
        assert response.status_code == 200, params
        assert "a-1" in response.content.decode(), params
    assert "a-1" not in client.get(TRAIL, {"actor": "nobody"}).content.decode()


def test_members_cannot_open_the_tenant_admin(tenant_a, make_user):
    member = make_user(tenant_a, Role.MEMBER)
    response = _session(member, tenant_a).get(TRAIL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_platform_admin_sees_the_platform_trail(platform_admin, tenant_a):
    record(action="access", object_type="platform.thing", object_id="on-platform")
    with schema_context(tenant_a.schema_name):
        record(action="access", object_type="platform.thing", object_id="in-alpha")
    page = _session(platform_admin).get(TRAIL).content.decode()
    assert "on-platform" in page
    assert "in-alpha" not in page


def test_platform_admin_opens_a_tenants_trail_from_its_page(platform_admin, tenant_a):
    with schema_context(tenant_a.schema_name):
        record(action="access", object_type="platform.thing", object_id="in-alpha")
    client = _session(platform_admin)
    tenant_page = client.get(f"/admin/tenants/tenant/{tenant_a.pk}/change/").content.decode()
    link = f"{TRAIL}tenant/alpha/"
    assert link in tenant_page
    response = client.get(link)
    assert response.status_code == 200
    page = response.content.decode()
    assert "in-alpha" in page
    assert "Audit trail of Alpha" in page
    assert client.get(link, {"object_type__exact": "platform.thing"}).status_code == 200
    entry = last(tenant_a, event="audit_read")
    assert entry.actor == f"platform:{platform_admin.email}"
    assert entry.changes["via"] == "admin"
    assert client.get(f"{TRAIL}tenant/nope/").status_code == 404


def test_tenant_admins_cannot_open_another_tenants_trail(tenant_a, make_user):
    client = _session(make_user(tenant_a, Role.OWNER), tenant_a)
    for slug in ("beta", "alpha"):  # a platform-only view: here it is just an unknown entry id
        response = client.get(f"{TRAIL}tenant/{slug}/", follow=True)
        assert "Audit trail of" not in response.content.decode()
