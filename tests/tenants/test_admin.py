"""The platform admin creates tenants through the provisioning service, never a bare model save."""

import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from accounts.models import Role, User
from tenants.models import Domain, Tenant
from tests.conftest import PASSWORD, TenantClient, access_token

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


# ---- Typos are form errors with the API's messages, never a 500 ----

ADD = {
    "slug": "typo",
    "name": "Typo Inc",
    "plan": "free",
    "owner_email": "owner@typo.test",
    "owner_password": PASSWORD,
    "extra_domains": "",
}


def _api_errors(staff_api, body):
    response = staff_api.post("/api/v1/tenants/", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    return response.json()["error"]["details"]


@pytest.fixture
def staff_api(platform_admin):
    return TenantClient(None, token=access_token(platform_admin, None))


def _form_errors(response) -> str:
    assert response.status_code == 200, response.content[:2000]
    errors = response.context["adminform"].form.errors
    assert errors, "the form was accepted"
    return " ".join(m for messages in errors.values() for m in messages)


@pytest.mark.parametrize(
    ("change", "api_change", "api_field"),
    [
        ({"owner_password": "a"}, {"owner": {"email": "owner@typo.test", "password": "a"}}, "owner_password"),
        ({"extra_domains": "acme.localhost"}, {"domains": ["acme.localhost"]}, "domains"),
        ({"extra_domains": "not a domain!"}, {"domains": ["not a domain!"]}, "domains"),
        ({"slug": "Bad Slug"}, {"slug": "Bad Slug"}, "slug"),
        ({"slug": "admin"}, {"slug": "admin"}, "slug"),
    ],
)
def test_admin_add_typos_are_form_errors_with_the_api_messages(
    staff_browser, staff_api, change, api_change, api_field
):
    response = staff_browser.post("/admin/tenants/tenant/add/", {**ADD, **change})
    shown = _form_errors(response)
    api = {
        "slug": "typo",
        "name": "Typo Inc",
        "owner": {"email": "owner@typo.test", "password": PASSWORD},
        **api_change,
    }
    for message in _api_errors(staff_api, api)[api_field]:
        assert message in shown
    assert "tenant_slug_format" not in response.content.decode()
    assert 'value="Typo Inc"' in response.content.decode()  # the form keeps what was typed
    assert not Tenant.objects.filter(slug__in=["typo", "Bad Slug"]).exists()


def test_admin_add_shows_every_service_error_at_once(staff_browser):
    response = staff_browser.post(
        "/admin/tenants/tenant/add/",
        {**ADD, "owner_password": "a", "extra_domains": "acme.localhost", "rate_limit_per_minute": "0"},
    )
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"owner_password", "extra_domains", "rate_limit_per_minute"}
    assert "acme.localhost is reserved for another tenant's sub-domain." in errors["extra_domains"]


def test_admin_add_of_a_taken_slug_says_so(staff_browser, tenant_a):
    shown = _form_errors(staff_browser.post("/admin/tenants/tenant/add/", {**ADD, "slug": "alpha"}))
    assert "This slug is taken (slugs are never reused)." in shown


def _inline_fields(page: str) -> dict[str, str]:
    """The domains inline's hidden inputs (management form, row ids), as a browser sends them back."""
    hidden = re.findall(r'<input type="hidden" name="(domains-[^"]+)"(?: value="([^"]*)")?', page)
    return dict(hidden)


def test_admin_domain_edits_go_through_the_service(staff_browser, tenant_a):
    url = f"/admin/tenants/tenant/{tenant_a.pk}/change/"
    inline = _inline_fields(staff_browser.get(url).content.decode())
    assert inline["domains-TOTAL_FORMS"] == "1"
    base = {"name": tenant_a.name, "plan": tenant_a.plan, "rate_limit_per_minute": "", **inline}
    shown = _form_errors(staff_browser.post(url, {**base, "custom_domains": "future-tenant.localhost"}))
    assert "future-tenant.localhost is reserved for another tenant's sub-domain." in shown
    assert not Domain.objects.filter(domain="future-tenant.localhost").exists()

    saved = staff_browser.post(url, {**base, "custom_domains": "alpha.example\nwww.alpha.example"})
    assert saved.status_code == 302, saved.content[:2000]
    assert set(tenant_a.domains.values_list("domain", flat=True)) == {
        "alpha.localhost",
        "alpha.example",
        "www.alpha.example",
    }
    page = staff_browser.get(url).content.decode()
    assert "alpha.example\nwww.alpha.example" in page
    assert "domains-TOTAL_FORMS" in page  # the inline lists them, read only
    assert 'name="domains-0-domain"' not in page


def test_the_domain_admin_is_read_only(staff_browser, tenant_a):
    assert staff_browser.get("/admin/tenants/domain/").status_code == 200
    assert staff_browser.get("/admin/tenants/domain/add/").status_code == 403
    response = staff_browser.post(
        "/admin/tenants/domain/add/", {"domain": "future-tenant.localhost", "tenant": tenant_a.pk}
    )
    assert response.status_code == 403
    assert not Domain.objects.filter(domain="future-tenant.localhost").exists()


def test_create_answers_400_when_the_sub_domain_is_taken(staff_api, tenant_a):
    Domain.objects.create(domain="future-tenant.localhost", tenant=tenant_a)  # e.g. made before the check
    details = _api_errors(
        staff_api,
        {
            "slug": "future-tenant",
            "name": "Future",
            "owner": {"email": "o@future.test", "password": PASSWORD},
        },
    )
    assert details["slug"] == ["Its sub-domain future-tenant.localhost is already in use."]
    assert not Tenant.objects.filter(slug="future-tenant").exists()


def test_suspend_and_activate_say_so(staff_browser, tenant_a):
    suspend = staff_browser.post(
        "/admin/tenants/tenant/",
        {"action": "suspend_selected", "_selected_action": [tenant_a.pk]},
        follow=True,
    )
    assert "Suspended: alpha." in suspend.content.decode()
    activate = staff_browser.post(
        "/admin/tenants/tenant/",
        {"action": "activate_selected", "_selected_action": [tenant_a.pk]},
        follow=True,
    )
    assert "Activated: alpha." in activate.content.decode()
    tenant_a.refresh_from_db()
    assert tenant_a.status == "active"


def test_admin_add_redirects_to_the_created_tenant(staff_browser):
    response = staff_browser.post("/admin/tenants/tenant/add/", ADD, follow=True)
    tenant = Tenant.objects.get(slug="typo")
    assert response.redirect_chain[-1][0] == "/admin/tenants/tenant/"
    assert "typo" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert User.objects.get().email == "owner@typo.test"
