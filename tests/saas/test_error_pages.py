"""Errors on browser paths are small HTML pages in the platform's look; on `/api/` the JSON envelope.

Each kind is asked for twice, on a browser path and on an API path of the same host, and must keep
its status either way.
"""

import json
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from drf_spectacular.views import SpectacularAPIView

from saas.exceptions import error_for
from tenants.services import tenant_suspend

pytestmark = pytest.mark.django_db


def assert_page(response, status: int, heading: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert re.search(r"<h1[^>]*>\s*" + re.escape(heading) + r"\s*</h1>", html), html
    assert '{"error"' not in html  # no envelope leaking into the page
    assert "<style" in html  # base.html's look, not Django's bare default
    return html


def assert_envelope(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
def test_404(tenant_a, host):
    client = Client(HTTP_HOST=host)
    html = assert_page(client.get("/no/such/page/"), 404, "Page not found")
    assert 'href="/"' in html
    assert_envelope(client.get("/api/v1/no/such/route"), 404, "not_found")


def test_unknown_tenant_host(db):
    client = Client(HTTP_HOST="no-such-co.localhost")
    assert_page(client.get("/login/"), 404, "No such organization")
    assert_envelope(client.get("/api/v1/auth/me"), 404, "tenant_not_found")


def test_unknown_host():
    client = Client(HTTP_HOST="elsewhere.example")
    assert_page(client.get("/"), 400, "Unknown address")
    assert_envelope(client.get("/api/v1/auth/me"), 400, "bad_request")


def test_malformed_host_header():
    client = Client(HTTP_HOST="bad host!")
    assert_page(client.get("/"), 400, "Bad request")
    assert_envelope(client.get("/api/v1/auth/me"), 400, "bad_request")


def test_tenant_conflict_stays_json_on_the_api_and_is_a_page_elsewhere(tenant_a, tenant_b):
    client = Client(HTTP_HOST="alpha.localhost", HTTP_X_TENANT_ID="beta")
    assert_page(client.get("/login/"), 400, "Bad request")
    assert_envelope(client.get("/api/v1/auth/me"), 400, "tenant_conflict")


def test_suspended_tenant(fresh_tenant):
    tenant_suspend(tenant=fresh_tenant)
    client = Client(HTTP_HOST=f"{fresh_tenant.slug}.localhost")
    html = assert_page(client.get("/login/"), 403, "This organization is not available")
    assert "sign in" not in html.lower()
    assert_envelope(client.get("/api/v1/auth/me"), 403, "tenant_inactive")
    # The path form of an API route is an API path too.
    assert_envelope(Client().get(f"/api/v1/tenants/{fresh_tenant.slug}/auth/me"), 403, "tenant_inactive")


def test_csrf_failure(tenant_a):
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    response = client.post("/login/", {"email": "a@b.test", "password": "x"})
    html = assert_page(response, 403, "This form has expired")
    assert "reload" in html.lower()
    admin = Client(HTTP_HOST="localhost", enforce_csrf_checks=True).post("/admin/login/", {})
    assert_page(admin, 403, "This form has expired")


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
def test_500(tenant_a, host, monkeypatch):
    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(SpectacularAPIView, "get", boom)
    monkeypatch.setattr("saas.health.JsonResponse", boom)
    client = Client(HTTP_HOST=host, raise_request_exception=False)
    html = assert_page(client.get("/health"), 500, "Something went wrong")
    assert "a bug" not in html
    assert "RuntimeError" not in html
    reference = client.get("/health", HTTP_X_REQUEST_ID="ref-500")
    assert "ref-500" in reference.content.decode()
    api = client.get("/api/schema/")
    assert_envelope(api, 500, "server_error")
    assert "a bug" not in api.content.decode()


def test_403_handler(tenant_a):
    from saas.exceptions import permission_denied

    factory = RequestFactory()
    page = permission_denied(factory.get("/admin/secret/"), PermissionDenied())
    assert_page(page, 403, "Access denied")
    api = permission_denied(factory.get("/api/v1/users/"), PermissionDenied())
    assert_envelope(api, 403, "permission_denied")


def test_403_from_a_browser_view(tenant_a, monkeypatch):
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionDenied

    monkeypatch.setattr("accounts.web.enabled_protocols", refuse)
    assert_page(Client(HTTP_HOST="alpha.localhost").get("/login/"), 403, "Access denied")


def test_429_from_middleware_keeps_its_headers():
    factory = RequestFactory()
    headers = {"Retry_After": "7", "X_RateLimit_Limit": "5", "X_RateLimit_Remaining": "0"}
    for path, is_api in [("/login/", False), ("/api/v1/users/", True)]:
        response = error_for(
            factory.get(path), "rate_limited", "Too many requests.", 429, {"retry_after": 7}, **headers
        )
        assert response["Retry-After"] == "7"
        assert response["X-RateLimit-Limit"] == "5"
        assert response["X-RateLimit-Remaining"] == "0"
        if is_api:
            assert_envelope(response, 429, "rate_limited")
            assert json.loads(response.content)["error"]["details"] == {"retry_after": 7}
        else:
            html = assert_page(response, 429, "Too many requests")
            assert "7 seconds" in html


def test_the_page_escapes_what_it_shows():
    response = error_for(RequestFactory().get("/x"), "not_found", "<script>alert(1)</script>", 404)
    assert "<script>alert(1)" not in response.content.decode()
