"""Platform API: platform admins only."""

import pytest
from django_tenants.utils import schema_exists

from accounts.models import Role
from tenants.models import Tenant
from tests.conftest import PASSWORD, TenantClient, access_token

pytestmark = pytest.mark.django_db

NEW = {
    "slug": "omega",
    "name": "Omega",
    "plan": "pro",
    "domains": ["omega.example"],
    "owner": {"email": "boss@omega.test", "password": PASSWORD},
}


@pytest.fixture
def staff(platform_admin):
    return TenantClient(None, token=access_token(platform_admin, None))


def test_create_answers_when_schema_domain_and_owner_exist(staff):
    response = staff.post("/api/v1/tenants/", NEW)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "omega"
    assert body["plan"] == "pro"
    assert body["status"] == "active"
    assert sorted(body["domains"]) == ["omega.example", "omega.localhost"]
    assert schema_exists("t_omega")
    login = TenantClient(Tenant(slug="omega")).post(
        "/api/v1/auth/login", {"email": "boss@omega.test", "password": PASSWORD}
    )
    assert login.status_code == 200


def test_create_validates(staff):
    response = staff.post("/api/v1/tenants/", {**NEW, "slug": "Bad Slug"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "slug" in response.json()["error"]["details"]


def test_list_get_update(staff, tenant_a):
    listing = staff.get("/api/v1/tenants/")
    assert listing.status_code == 200
    assert {"count", "next", "previous", "results"} <= set(listing.json())
    assert staff.get("/api/v1/tenants/alpha").json()["slug"] == "alpha"
    patched = staff.patch("/api/v1/tenants/alpha/", {"plan": "enterprise"})
    assert patched.status_code == 200
    assert patched.json()["plan"] == "enterprise"
    put = staff.put("/api/v1/tenants/alpha", {"name": "Alpha Two", "plan": "free"})
    assert put.json()["name"] == "Alpha Two"


def test_suspend_activate_delete_and_routing_stops(staff, make_user):
    assert staff.post("/api/v1/tenants/", NEW).status_code == 201
    tenant = Tenant.objects.get(slug="omega")
    owner = TenantClient(tenant).post(
        "/api/v1/auth/login", {"email": "boss@omega.test", "password": PASSWORD}
    )
    assert owner.status_code == 200
    assert staff.post("/api/v1/tenants/omega/suspend").json()["status"] == "suspended"
    assert TenantClient(tenant).get("/health").status_code == 403
    assert staff.post("/api/v1/tenants/omega/activate/").json()["status"] == "active"
    assert TenantClient(tenant).get("/health").status_code == 200
    assert staff.delete("/api/v1/tenants/omega/").status_code == 204
    assert TenantClient(tenant).get("/health").status_code == 403
    assert schema_exists("t_omega")
    assert staff.delete("/api/v1/tenants/omega/?purge=true").status_code == 204
    assert not schema_exists("t_omega")


def test_unknown_tenant_is_404(staff):
    response = staff.get("/api/v1/tenants/nobody/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MEMBER])
def test_tenant_users_cannot_use_the_platform_api(tenant_a, make_user, role):
    user = make_user(tenant_a, role)
    via_platform = TenantClient(None, token=access_token(user, tenant_a))
    assert via_platform.get("/api/v1/tenants/").status_code == 401
    assert via_platform.post("/api/v1/tenants/", NEW).status_code == 401
    assert not Tenant.objects.filter(slug="omega").exists()


def test_anonymous_cannot_use_the_platform_api(client):
    response = client.get("/api/v1/tenants/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_patch_domains_answers_the_new_list(staff, tenant_a):
    response = staff.patch("/api/v1/tenants/alpha/", {"domains": ["alpha.example", "www.alpha.example"]})
    assert response.status_code == 200, response.content
    assert response.json()["domains"] == ["alpha.example", "alpha.localhost", "www.alpha.example"]
    assert staff.patch("/api/v1/tenants/alpha/", {"domains": []}).json()["domains"] == ["alpha.localhost"]
    assert staff.get("/api/v1/tenants/alpha/").json()["domains"] == ["alpha.localhost"]


def test_patch_domains_of_another_tenants_sub_domain_is_400(staff, tenant_a, tenant_b):
    response = staff.patch("/api/v1/tenants/alpha/", {"domains": ["beta.localhost"]})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["domains"] == [
        "beta.localhost is reserved for another tenant's sub-domain."
    ]
    assert staff.get("/api/v1/tenants/beta/").json()["domains"] == ["beta.localhost"]


# ---- Filters ----


@pytest.fixture
def listed(staff, tenant_a, tenant_b):
    """alpha (free, active, domain alpha-corp.example) and beta (pro, suspended)."""
    domains = {"domains": ["alpha-corp.example", "shop.alpha-corp.example"]}
    assert staff.patch("/api/v1/tenants/alpha/", domains).status_code == 200
    assert staff.patch("/api/v1/tenants/beta/", {"plan": "pro"}).status_code == 200
    assert staff.post("/api/v1/tenants/beta/suspend").status_code == 200
    assert staff.patch("/api/v1/tenants/alpha/", {"plan": "free"}).status_code == 200

    def slugs(**query):
        response = staff.get("/api/v1/tenants/", {**query, "page_size": 100})
        assert response.status_code == 200, response.content
        return [t["slug"] for t in response.json()["results"]]

    return slugs


def test_list_filters_by_status(listed):
    assert "beta" in listed(status="suspended")
    assert "alpha" not in listed(status="suspended")
    assert "alpha" in listed(status="active")
    assert not {"alpha", "beta"} & set(listed(status="deleted"))


def test_list_filters_by_plan(listed):
    assert "beta" in listed(plan="pro")
    assert "alpha" not in listed(plan="pro")
    assert "alpha" in listed(plan="free")


def test_list_searches_slug_name_and_domains_once_each(listed):
    assert listed(search="alp") == ["alpha"]
    assert listed(search="BETA") == ["beta"]  # the name, case-insensitively
    assert listed(search="alpha-corp.example") == ["alpha"]  # two of its domains match: listed once
    assert listed(search="corp") == ["alpha"]
    assert listed(search="nothing-like-it") == []
    assert listed(search="alp", status="suspended") == []


@pytest.mark.parametrize(("param", "value"), [("status", "zzz"), ("plan", "platinum"), ("status", "ACTIVE")])
def test_list_unknown_filter_value_is_400(staff, param, value):
    response = staff.get("/api/v1/tenants/", {param: value})
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert param in body["details"]
