"""The browser stack (sessions, session user, messages, django-csp's policy) runs on pages, admin,
docs and the SSO flows, and not on the token API: an API request reads no session and sets no
cookie, needs no CSRF token, and carries a fixed strict CSP; a page keeps all of it."""

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role, User
from saas.middleware import API_CONTENT_SECURITY_POLICY, is_browser_request
from tests.conftest import PASSWORD, access_token

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "browser"),
    [
        ("/api/v1/users/", False),
        ("/api/v1/auth/me", False),
        ("/api/v1/webhooks/user-service/", False),
        ("/api/v1/auth/sso/token", True),
        ("/api/v1/auth/sso/login", True),
        ("/api/v1/sso/providers/oidc", True),
        ("/admin/login/", True),
        ("/login/", True),
        ("/docs", True),
    ],
)
def test_which_requests_get_the_browser_stack(rf, path, browser):
    assert is_browser_request(rf.get(path)) is browser


def test_an_api_answer_sets_no_cookie_and_carries_the_strict_policy(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {access_token(owner, tenant_a)}")
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert not response.cookies
    assert "Vary" not in response or "Cookie" not in response["Vary"]
    assert response["Content-Security-Policy"] == API_CONTENT_SECURITY_POLICY
    assert response["X-Frame-Options"] == "DENY"


def test_a_token_request_needs_no_csrf_token_and_ignores_a_session_cookie(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    client = Client(enforce_csrf_checks=True, HTTP_HOST="alpha.localhost")
    with schema_context(tenant_a.schema_name):
        client.force_login(owner)  # a browser session next to the token: the API does not read it
    created = client.post(
        "/api/v1/users/",
        {"email": "api-no-csrf@example.test", "password": "a-long-enough-password-1"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {access_token(owner, tenant_a)}",
    )
    assert created.status_code == 201, created.content
    assert settings.SESSION_COOKIE_NAME not in created.cookies
    # Without the token, the session cookie alone is no credential on the API.
    assert client.get("/api/v1/auth/me").status_code == 401


def test_pages_keep_sessions_csrf_and_their_policy(tenant_a, platform_admin):
    page = Client().get("/admin/login/")
    assert settings.CSRF_COOKIE_NAME in page.cookies
    assert "'self'" in page["Content-Security-Policy"]
    assert page["Content-Security-Policy"] != API_CONTENT_SECURITY_POLICY
    refused = Client(enforce_csrf_checks=True).post(
        "/admin/login/", {"username": platform_admin.email, "password": PASSWORD}
    )
    assert refused.status_code == 403
    signed_in = Client()
    response = signed_in.post("/admin/login/", {"username": platform_admin.email, "password": PASSWORD})
    assert response.status_code == 302
    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert signed_in.get("/admin/").status_code == 200  # the session user on the next page


def test_revocation_still_ends_a_token_on_the_next_api_request(tenant_a, make_user):
    user = make_user(tenant_a)
    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {access_token(user, tenant_a)}")
    assert client.get("/api/v1/auth/me").status_code == 200
    with schema_context(tenant_a.schema_name):
        User.objects.filter(pk=user.pk).update(token_generation=1)  # what a password reset does
    assert client.get("/api/v1/auth/me").status_code == 401
