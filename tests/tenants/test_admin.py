"""The platform admin creates tenants through the provisioning service, never a bare model save."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Role, User
from tenants.models import Tenant
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_browser(platform_admin):
    browser = Client()
    browser.force_login(platform_admin)
    return browser


def test_admin_add_provisions_schema_domain_and_owner(staff_browser):
    response = staff_browser.post(
        "/admin/tenants/tenant/add/",
        {
            "slug": "viaadmin",
            "name": "Via Admin",
            "plan": "free",
            "owner_email": "owner@viaadmin.test",
            "owner_password": PASSWORD,
            "extra_domains": "via-admin.example",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    tenant = Tenant.objects.get(slug="viaadmin")
    assert schema_exists(tenant.schema_name)
    assert set(tenant.domains.values_list("domain", flat=True)) == {"viaadmin.localhost", "via-admin.example"}
    with schema_context(tenant.schema_name):
        assert User.objects.get().role == Role.OWNER


def test_admin_suspend_action_uses_the_service(staff_browser, fresh_tenant):
    response = staff_browser.post(
        "/admin/tenants/tenant/",
        {"action": "suspend_selected", "_selected_action": [fresh_tenant.pk]},
    )
    assert response.status_code == 302
    fresh_tenant.refresh_from_db()
    assert fresh_tenant.status == "suspended"


def test_tenant_users_cannot_enter_the_platform_admin(tenant_a, make_user):
    owner = make_user(None, Role.OWNER, email="not-staff@example.test")  # a public-schema non-staff row
    browser = Client()
    browser.force_login(owner)
    assert browser.get("/admin/").status_code == 302  # to the login page


def test_tenant_admin_site_does_not_show_platform_models(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    browser = Client(HTTP_HOST="alpha.localhost")
    with schema_context(tenant_a.schema_name):
        browser.force_login(owner)
    response = browser.get("/admin/")
    assert response.status_code == 200
    assert b"tenants/tenant" not in response.content
    assert browser.get("/admin/tenants/tenant/").status_code == 404
