"""Security headers and cookies on an API answer and on HTML pages; CORS closed unless configured; CSRF."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role
from tests.conftest import PASSWORD, ROOT

pytestmark = pytest.mark.django_db

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_headers_on_an_authenticated_api_answer(tenant_a, make_user, client_for):
    response = client_for(tenant_a, make_user(tenant_a, Role.MEMBER)).get("/api/v1/users/")
    assert response.status_code == 200
    for name, value in COMMON.items():
        assert response[name] == value
    assert response["Cache-Control"] == "no-store"


def test_token_answers_are_not_stored_either(tenant_a, make_user, client_for):
    user = make_user(tenant_a)
    response = client_for(tenant_a).post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
def test_headers_on_an_html_page(tenant_a, host):
    response = Client(HTTP_HOST=host).get("/admin/login/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    for name, value in COMMON.items():
        assert response[name] == value
    csp = {d.split()[0]: d.split()[1:] for d in response["Content-Security-Policy"].split("; ")}
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_api_docs_need_no_inline_script():
    html = Client().get("/docs").content.decode()
    assert "<script>" not in html
    assert Client().get("/docs?script=")["Content-Type"].startswith("application/javascript")


def test_csrf_cookie_flags():
    response = Client().get("/admin/login/")
    cookie = response.cookies[settings.CSRF_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_session_cookie_flags(platform_admin):
    client = Client(enforce_csrf_checks=False)
    response = client.post("/admin/login/", {"username": platform_admin.email, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_hsts_and_secure_cookies_in_production():
    code = (
        "from saas.settings import base as s;"
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
    )
    env = {"DJANGO_ENV": "production", "SECRET_KEY": "x" * 60, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["31536000", "True", "True", "True"]


def test_hsts_header_on_https(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Client().get("/health", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


# --- CORS -----------------------------------------------------------------------------------


def preflight(origin):
    return Client().options(
        "/api/v1/auth/login",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, x-tenant-id",
    )


def test_cors_is_closed_by_default():
    assert settings.CORS_ALLOWED_ORIGINS == []
    response = preflight("https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_cors_opens_for_configured_origins_only(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    allowed = preflight("https://app.example")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example"
    assert "x-tenant-id" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    assert "Access-Control-Allow-Origin" not in preflight("https://evil.example")


# --- CSRF -----------------------------------------------------------------------------------


def test_session_authenticated_unsafe_requests_need_the_csrf_token(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    client = Client(enforce_csrf_checks=True, HTTP_HOST="alpha.localhost")
    with schema_context(tenant_a.schema_name):
        client.force_login(owner)
    response = client.post("/admin/accounts/user/add/", {"email": "csrf@example.test", "role": "member"})
    assert response.status_code == 403
    # The API never takes the session cookie as credentials, so a cross-site form can't use it.
    api = client.post("/api/v1/users/", {"email": "csrf@example.test"}, content_type="application/json")
    assert api.status_code == 401
    with schema_context(tenant_a.schema_name):
        from accounts.models import User

        assert not User.objects.filter(email="csrf@example.test").exists()


def test_login_form_without_csrf_token_is_refused(platform_admin):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": platform_admin.email, "password": PASSWORD})
    assert response.status_code == 403
