"""Routing: every form reaches the same tenant; bad names never reach SQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from tenants.services import tenant_suspend
from tests.conftest import ROUTING_FORMS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_every_routing_form_reaches_the_tenant(tenant_a, make_user, client_for, via):
    user = make_user(tenant_a, Role.ADMIN)
    response = client_for(tenant_a, user, via=via).get("/api/v1/auth/me")
    assert response.status_code == 200, response.content
    assert response.json()["tenant"]["slug"] == "alpha"
    assert response.json()["email"] == user.email


def test_custom_domain_routes_to_its_tenant(tenant_a, make_user, client_for):
    from tenants.services import tenant_update

    tenant_update(tenant=tenant_a, domains=["alpha-corp.example"])
    user = make_user(tenant_a)
    client = client_for(tenant_a, user)
    response = client.get("/api/v1/auth/me", HTTP_HOST="alpha-corp.example")
    assert response.status_code == 200
    assert response.json()["tenant"]["slug"] == "alpha"


def test_path_and_header_naming_different_tenants_conflict(tenant_a, tenant_b, client_for):
    client = client_for(tenant_a, via="path")
    response = client.get("/api/v1/auth/me", HTTP_X_TENANT_ID="beta")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "tenant_conflict"


def test_host_and_header_naming_different_tenants_conflict(tenant_a, tenant_b, client_for):
    response = client_for(tenant_a).get("/api/v1/auth/me", HTTP_X_TENANT_ID="beta")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "tenant_conflict"


def test_same_tenant_named_twice_is_no_conflict(tenant_a, make_user, client_for):
    user = make_user(tenant_a)
    response = client_for(tenant_a, user).get("/api/v1/auth/me", HTTP_X_TENANT_ID="alpha")
    assert response.status_code == 200


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_unknown_tenant_is_404(client_for, via):
    from tenants.models import Tenant

    ghost = Tenant(slug="ghost-co", schema_name="t_ghost_co")
    response = client_for(ghost, via=via).get("/api/v1/auth/me")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tenant_not_found"


@pytest.mark.parametrize(
    "slug",
    ["public", "pg_catalog", "a'b", 'a"b', "x" * 64, "Alpha", "a;b", "a b", "1abc", "-ab", "a", "%00", "ünï"],
)
def test_malformed_slugs_are_refused_without_sql(db, slug, client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/auth/me", HTTP_X_TENANT_ID=slug)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "tenant_not_found"
    assert len(queries) == 0


@pytest.mark.parametrize("slug", ["public", "pg_catalog", "a'b", "x" * 64, "Alpha", "a;b"])
def test_malformed_slugs_in_path_are_refused_without_sql(db, slug, client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/tenants/{slug}/auth/me")
    assert response.status_code == 404
    assert len(queries) == 0


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_suspended_tenant_is_403(fresh_tenant, client_for, via):
    tenant_suspend(tenant=fresh_tenant)
    response = client_for(fresh_tenant, via=via).get("/api/v1/auth/me")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_inactive"


def test_routed_request_runs_no_query_to_find_its_tenant(tenant_a, client_for):
    client = client_for(tenant_a)
    client.get("/health")  # warms the routing cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/health")
    assert response.status_code == 200
    assert [q["sql"] for q in queries] == []


def test_custom_domain_lookup_is_cached_too(tenant_a, client_for):
    from tenants.services import tenant_update

    tenant_update(tenant=tenant_a, domains=["cached.example"])
    client = client_for(None)
    client.get("/health", HTTP_HOST="cached.example")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/health", HTTP_HOST="cached.example")
    assert response.status_code == 200
    assert len(queries) == 0


def test_routing_cache_is_dropped_when_the_tenant_changes(fresh_tenant, client_for):
    client = client_for(fresh_tenant)
    assert client.get("/health").status_code == 200
    tenant_suspend(tenant=fresh_tenant)
    assert client.get("/health").status_code == 403


def test_no_tenant_means_platform_routes(client):
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_tenant_path_prefix_only_covers_tenant_resources(tenant_a, platform_admin, client_for):
    # /api/v1/tenants/<slug>/ is the platform's tenant resource, not a tenant route.
    response = client_for(None, platform_admin).get("/api/v1/tenants/alpha/")
    assert response.status_code == 200
    assert response.json()["slug"] == "alpha"
