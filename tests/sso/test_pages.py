"""Browser pages on tenant hosts: sign-in, home, sign-out."""

import pytest

from accounts.models import Role
from integrations.service_names import SERVICES
from tests.conftest import PASSWORD

from .conftest import assert_not_signed_in, browser, configure_oidc, configure_saml

pytestmark = pytest.mark.django_db


def test_sign_in_page_offers_one_button_per_enabled_protocol(tenant_a, tenant_b, oidc_idp, saml_idp):
    page = browser(tenant_a).get("/login/")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content
    assert b"sso-oidc" not in page.content
    configure_oidc(tenant_a, oidc_idp)
    configure_saml(tenant_a, saml_idp)
    content = browser(tenant_a).get("/login/?next=/x").content.decode()
    assert 'id="sso-oidc" href="/sso/oidc/login/?next=%2Fx"' in content
    assert 'id="sso-saml" href="/sso/saml/login/?next=%2Fx"' in content
    assert "sso-oidc" not in browser(tenant_b).get("/login/").content.decode()  # the twin has none


def test_password_sign_in_home_and_sign_out(tenant_a, make_user):
    admin = make_user(tenant_a, Role.ADMIN)
    client = browser(tenant_a, enforce_csrf_checks=True)
    page = client.get("/login/")
    token = client.cookies["csrftoken"].value
    assert client.post("/login/", {"email": admin.email, "password": PASSWORD}).status_code == 403  # no CSRF
    response = client.post(
        "/login/", {"email": admin.email, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/").content.decode()
    assert admin.email in home
    assert 'id="integrations-health"' in home
    token = client.cookies["csrftoken"].value
    assert client.post("/logout/", {"csrfmiddlewaretoken": token})["Location"] == "/login/"
    assert_not_signed_in(client, tenant_a)
    assert page.status_code == 200


def test_members_do_not_see_the_integrations_section(tenant_a, make_user):
    member = make_user(tenant_a, Role.MEMBER)
    client = browser(tenant_a)
    client.post("/login/", {"email": member.email, "password": PASSWORD})
    home = client.get("/").content.decode()
    assert member.email in home
    assert "integrations-health" not in home


def test_wrong_password_is_shown_plainly(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    client = browser(tenant_a)
    response = client.post("/login/", {"email": user.email, "password": "wrong-password"})
    assert response.status_code == 401
    assert b"Invalid email or password." in response.content
    # A user of tenant A cannot sign in on tenant B's page.
    twin = browser(tenant_b)
    assert twin.post("/login/", {"email": user.email, "password": PASSWORD}).status_code == 401
    assert_not_signed_in(twin, tenant_b)


def test_sso_errors_are_explained_without_echoing_input(tenant_a):
    page = browser(tenant_a).get("/login/", {"sso_error": "domain_not_allowed"}).content.decode()
    assert "Your email domain is not allowed to sign in here." in page
    page = browser(tenant_a).get("/login/", {"sso_error": "<script>x</script>"}).content.decode()
    assert "<script>x" not in page
    assert 'role="alert"' not in page


def test_session_of_one_tenant_is_nothing_at_another(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    client = browser(tenant_a)
    client.post("/login/", {"email": user.email, "password": PASSWORD})
    twin = browser(tenant_b)
    twin.cookies["sessionid"] = client.cookies["sessionid"].value
    assert twin.get("/")["Location"].startswith("/login/")


def test_admins_see_their_own_integrations_health_and_an_open_breaker(tenant_a, tenant_b, make_user):
    from integrations.breaker import breaker_for

    breaker = breaker_for(schema=tenant_a.schema_name, service="payment-service")
    for _ in range(5):
        breaker.record_failure(breaker.before_call())
    try:
        admin_a, admin_b = make_user(tenant_a, Role.ADMIN), make_user(tenant_b, Role.ADMIN)
        client_a, client_b = browser(tenant_a), browser(tenant_b)
        client_a.post("/login/", {"email": admin_a.email, "password": PASSWORD})
        client_b.post("/login/", {"email": admin_b.email, "password": PASSWORD})
        home_a = client_a.get("/").content.decode()
        home_b = client_b.get("/").content.decode()
        for service in SERVICES:
            assert f'data-service="{service}"' in home_a
        assert 'class="status status-down"' in home_a  # alpha's payment-service breaker is open
        assert 'class="status status-down"' not in home_b  # beta's health knows nothing of alpha's breaker
    finally:
        breaker.reset()
