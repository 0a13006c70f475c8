"""The browser pages of password reset and invitations: "Forgot password?" on
`/login/`, the pages the mails link to, each ending signed in; bad links get the HTML error page."""

import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.mail.models import Email
from accounts.models import Invitation, Role
from accounts.services import invitation_create
from accounts.tokens import invitation_token, password_reset_token
from tests.audit.helpers import trail
from tests.conftest import PASSWORD, TenantClient

pytestmark = pytest.mark.django_db

NEW = "page-chosen-passphrase-5"


def host(tenant):
    return {"HTTP_HOST": f"{tenant.slug}.localhost"}


def browser():
    return Client(enforce_csrf_checks=True)


def csrf(client, tenant, path):
    response = client.get(path, **host(tenant))
    return response, str(response.context["csrf_token"]) if response.context else None


def signed_in_as(client, tenant):
    home = client.get("/", **host(tenant))
    return home.context["user"].email if home.status_code == 200 else None


def test_the_sign_in_page_links_to_password_reset(tenant_a):
    page = Client().get("/login/", **host(tenant_a)).content.decode()
    assert 'href="/password/reset/"' in page
    assert "Forgot password?" in page


def test_the_reset_form_answers_the_same_for_any_email(tenant_a, make_user):
    user = make_user(tenant_a)
    answers = []
    for email in (user.email, "nobody@example.test"):
        client = browser()
        _, token = csrf(client, tenant_a, "/password/reset/")
        response = client.post(
            "/password/reset/", {"email": email, "csrfmiddlewaretoken": token}, **host(tenant_a)
        )
        assert response.status_code == 200
        answers.append(re.sub(r'content="[^"]+"', "", response.content.decode().replace(email, "EMAIL")))
    assert 'id="reset-sent"' in answers[0]
    assert answers[0] == answers[1]
    with schema_context(tenant_a.schema_name):
        assert Email.objects.filter(kind="password_reset").count() == 2


def test_the_reset_link_sets_the_password_and_signs_in(tenant_a, make_user):
    user = make_user(tenant_a, Role.ADMIN)
    with schema_context(tenant_a.schema_name):
        path = f"/password/reset/{password_reset_token(user=user)}/"
    client = browser()
    page, token = csrf(client, tenant_a, path)
    assert page.status_code == 200
    assert user.email in page.content.decode()
    mismatch = client.post(
        path, {"password": NEW, "password_confirm": NEW + "x", "csrfmiddlewaretoken": token}, **host(tenant_a)
    )
    assert mismatch.status_code == 400
    assert "do not match" in mismatch.content.decode()
    weak = client.post(
        path, {"password": "123", "password_confirm": "123", "csrfmiddlewaretoken": token}, **host(tenant_a)
    )
    assert weak.status_code == 400
    assert "too short" in weak.content.decode()
    done = client.post(
        path, {"password": NEW, "password_confirm": NEW, "csrfmiddlewaretoken": token}, **host(tenant_a)
    )
    assert (done.status_code, done["Location"]) == (302, "/")
    assert signed_in_as(client, tenant_a) == user.email
    assert any(e.event == "login" and e.changes.get("via") == "password_reset" for e in trail(tenant_a))
    used = browser().get(path, **host(tenant_a))
    assert used.status_code == 400
    assert 'id="link-invalid"' in used.content.decode()


def test_opening_the_link_spends_nothing(tenant_a, make_user):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        token = password_reset_token(user=user)
    for _ in range(2):  # a mail scanner, then the person
        assert Client().get(f"/password/reset/{token}/", **host(tenant_a)).status_code == 200
    answer = TenantClient(tenant_a).post(
        "/api/v1/auth/password/reset/confirm", {"token": token, "password": NEW}
    )
    assert answer.status_code == 204


def test_a_reset_link_of_tenant_a_is_an_error_page_on_tenant_b(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        path = f"/password/reset/{password_reset_token(user=user)}/"
    page = Client().get(path, **host(tenant_b))
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
    assert "invalid, expired or already used" in page.content.decode()


def test_the_invitation_link_creates_the_account_and_signs_in(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    with schema_context(tenant_a.schema_name):
        invitation = invitation_create(
            actor=owner, email="joiner@example.test", role="admin", first_name="Jo"
        )
        path = f"/invitations/{invitation_token(invitation=invitation)}/"
    client = browser()
    page, token = csrf(client, tenant_a, path)
    text = page.content.decode()
    assert page.status_code == 200
    assert "joiner@example.test" in text
    assert 'value="Jo"' in text
    done = client.post(
        path,
        {
            "first_name": "Jo",
            "last_name": "Ner",
            "password": NEW,
            "password_confirm": NEW,
            "csrfmiddlewaretoken": token,
        },
        **host(tenant_a),
    )
    assert (done.status_code, done["Location"]) == (302, "/")
    assert signed_in_as(client, tenant_a) == "joiner@example.test"
    with schema_context(tenant_a.schema_name):
        assert Invitation.objects.get(pk=invitation.pk).user.role == "admin"
    again = browser().get(path, **host(tenant_a))
    assert again.status_code == 400
    assert 'id="link-invalid"' in again.content.decode()


def test_an_invitation_link_of_tenant_a_is_an_error_page_on_tenant_b(tenant_a, tenant_b, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    with schema_context(tenant_a.schema_name):
        invitation = invitation_create(actor=owner, email="joiner@example.test", role="member")
        path = f"/invitations/{invitation_token(invitation=invitation)}/"
    client = browser()
    page = client.get(path, **host(tenant_b))
    assert page.status_code == 400
    assert "invalid, expired, revoked or already accepted" in page.content.decode()


def test_the_pages_need_the_csrf_token(tenant_a, make_user):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        path = f"/password/reset/{password_reset_token(user=user)}/"
    response = browser().post(path, {"password": NEW, "password_confirm": NEW}, **host(tenant_a))
    assert response.status_code == 403
    assert (
        TenantClient(tenant_a)
        .post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
        .status_code
        == 200
    )
