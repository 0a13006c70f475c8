"""Tenant users in the tenant's Django admin: owners and admins only, every write through the services."""

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Role, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def admin_client(tenant, user):
    client = Client(HTTP_HOST=f"{tenant.slug}.{settings.SAAS_BASE_DOMAIN}")
    with schema_context(tenant.schema_name):
        client.force_login(user)
    return client


def reload(tenant, user):
    with schema_context(tenant.schema_name):
        return User.objects.get(pk=user.pk)


FORM = {"first_name": "", "last_name": "", "is_active": "on", "new_password": ""}


@pytest.mark.parametrize(("role", "expected"), [("owner", 200), ("admin", 200), ("member", 302)])
def test_only_owners_and_admins_see_the_users(tenant_a, make_user, role, expected):
    response = admin_client(tenant_a, make_user(tenant_a, role)).get("/admin/accounts/user/")
    assert response.status_code == expected
    if expected == 302:
        assert "/admin/login/" in response["Location"]


def test_another_tenants_session_does_not_open_this_admin(tenant_a, tenant_b, make_user):
    beta_owner = make_user(tenant_b, Role.OWNER)
    client = Client(HTTP_HOST=f"{tenant_a.slug}.{settings.SAAS_BASE_DOMAIN}")
    with schema_context(tenant_b.schema_name):
        client.force_login(beta_owner)
    assert client.get("/admin/accounts/user/").status_code == 302


def test_owner_adds_a_user_through_the_service(tenant_a, make_user):
    client = admin_client(tenant_a, make_user(tenant_a, Role.OWNER))
    response = client.post(
        "/admin/accounts/user/add/",
        {**FORM, "email": "Added@Example.test", "role": "admin", "new_password": PASSWORD},
    )
    assert response.status_code == 302, response.content[:2000]
    with schema_context(tenant_a.schema_name):
        user = User.objects.get(email="added@example.test")
        assert user.role == "admin"
        assert user.check_password(PASSWORD)


def test_admin_cannot_make_an_owner_through_the_admin(tenant_a, make_user):
    admin_user = make_user(tenant_a, Role.ADMIN)
    member = make_user(tenant_a, Role.MEMBER)
    client = admin_client(tenant_a, admin_user)
    add = client.post("/admin/accounts/user/add/", {**FORM, "email": "boss@example.test", "role": "owner"})
    assert add.status_code == 200
    assert b"Only an owner can make owners" in add.content
    change = client.post(
        f"/admin/accounts/user/{member.pk}/change/", {**FORM, "email": member.email, "role": "owner"}
    )
    assert change.status_code == 200
    assert reload(tenant_a, member).role == "member"
    own = client.post(
        f"/admin/accounts/user/{admin_user.pk}/change/", {**FORM, "email": admin_user.email, "role": "owner"}
    )
    assert own.status_code == 200
    assert reload(tenant_a, admin_user).role == "admin"
    with schema_context(tenant_a.schema_name):
        assert not User.objects.filter(email="boss@example.test").exists()


def test_admin_cannot_edit_an_owner_through_the_admin(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    client = admin_client(tenant_a, make_user(tenant_a, Role.ADMIN))
    response = client.post(
        f"/admin/accounts/user/{owner.pk}/change/",
        {**FORM, "email": owner.email, "role": "owner", "new_password": "taken-over-password-1"},
    )
    assert response.status_code == 200
    assert reload(tenant_a, owner).check_password(PASSWORD)


def test_weak_password_is_a_form_error(tenant_a, make_user):
    client = admin_client(tenant_a, make_user(tenant_a, Role.OWNER))
    response = client.post(
        "/admin/accounts/user/add/",
        {**FORM, "email": "weak@example.test", "role": "member", "new_password": "123"},
    )
    assert response.status_code == 200
    assert b"too short" in response.content


def test_deactivate_action_keeps_the_last_owner(tenant_a, make_user):
    with schema_context(tenant_a.schema_name):
        owner = User.objects.get(role=Role.OWNER, is_active=True)
    client = admin_client(tenant_a, owner)
    member = make_user(tenant_a, Role.MEMBER)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "deactivate_selected", "_selected_action": [owner.pk, member.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"last active owner" in response.content
    assert reload(tenant_a, owner).is_active is True
    assert reload(tenant_a, member).is_active is False


def test_no_delete_in_the_tenant_admin(tenant_a, make_user):
    member = make_user(tenant_a, Role.MEMBER)
    client = admin_client(tenant_a, make_user(tenant_a, Role.OWNER))
    assert client.post(f"/admin/accounts/user/{member.pk}/delete/", {"post": "yes"}).status_code == 403
    assert reload(tenant_a, member).is_active is True


# ---- Typos are form errors with the API's messages; sensible defaults ----


def test_add_user_defaults_to_member(tenant_a, make_user):
    page = admin_client(tenant_a, make_user(tenant_a, Role.OWNER)).get("/admin/accounts/user/add/")
    assert page.status_code == 200
    assert page.context["adminform"].form["role"].value() == "member"
    assert '<option value="member" selected>' in page.content.decode()


def test_role_filter_lists_tenant_roles_only(tenant_a, make_user):
    page = admin_client(tenant_a, make_user(tenant_a, Role.OWNER)).get("/admin/accounts/user/")
    html = page.content.decode()
    assert "?role=owner" in html
    assert "?role=member" in html
    assert "platform_admin" not in html
    assert "Platform Admin" not in html
    member = make_user(tenant_a, Role.MEMBER)
    owner_only = admin_client(tenant_a, make_user(tenant_a, Role.OWNER)).get(
        "/admin/accounts/user/?role=owner"
    )
    assert member.email not in owner_only.content.decode()


def test_duplicate_email_shows_the_api_message(tenant_a, make_user, client_for):
    owner = make_user(tenant_a, Role.OWNER)
    taken = make_user(tenant_a, Role.MEMBER)
    client = admin_client(tenant_a, owner)
    add = client.post(
        "/admin/accounts/user/add/",
        {**FORM, "email": taken.email.upper(), "role": "member", "new_password": PASSWORD},
    )
    assert add.status_code == 200
    api = client_for(tenant_a, owner).post(
        "/api/v1/users/", {"email": taken.email.upper(), "password": PASSWORD, "role": "member"}
    )
    assert api.status_code == 400
    message = api.json()["error"]["details"]["email"][0]
    assert add.context["adminform"].form.errors["email"] == [message]

    other = make_user(tenant_a, Role.MEMBER)
    change = client.post(
        f"/admin/accounts/user/{other.pk}/change/", {**FORM, "email": taken.email, "role": "member"}
    )
    assert change.status_code == 200
    assert change.context["adminform"].form.errors["email"] == [message]
    assert reload(tenant_a, other).email == other.email


def test_weak_password_shows_the_api_message(tenant_a, make_user, client_for):
    owner = make_user(tenant_a, Role.OWNER)
    add = admin_client(tenant_a, owner).post(
        "/admin/accounts/user/add/",
        {**FORM, "email": "weak@example.test", "role": "member", "new_password": "a"},
    )
    api = client_for(tenant_a, owner).post(
        "/api/v1/users/", {"email": "weak@example.test", "password": "a", "role": "member"}
    )
    assert api.status_code == 400
    assert add.context["adminform"].form.errors["new_password"] == api.json()["error"]["details"]["password"]


def test_added_user_page_follows(tenant_a, make_user):
    client = admin_client(tenant_a, make_user(tenant_a, Role.OWNER))
    response = client.post(
        "/admin/accounts/user/add/",
        {**FORM, "email": "follow@example.test", "role": "member", "new_password": PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    assert "follow@example.test" in response.content.decode()
    with schema_context(tenant_a.schema_name):
        assert User.objects.get(email="follow@example.test").role == "member"


# ---- "Add user" without a password invites ----


def test_add_user_without_a_password_sends_an_invitation(tenant_a, make_user):
    from accounts.mail.models import Email
    from accounts.models import Invitation

    owner = make_user(tenant_a, Role.OWNER)
    response = admin_client(tenant_a, owner).post(
        "/admin/accounts/user/add/",
        {**FORM, "email": "Invited@Example.test", "first_name": "Ivy", "role": "admin"},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/accounts/user/"
    text = response.content.decode()
    assert "no account was created: an invitation to join as admin was sent to invited@example.test" in text
    with schema_context(tenant_a.schema_name):
        assert not User.objects.filter(email="invited@example.test").exists()
        invitation = Invitation.objects.get(email="invited@example.test")
        assert (invitation.role, invitation.first_name, invitation.invited_by) == (
            "admin",
            "Ivy",
            owner.email,
        )
        assert Email.objects.filter(kind="invitation", to="invited@example.test").exists()


def test_add_user_without_a_password_shows_the_invitations_api_messages(tenant_a, make_user, client_for):
    owner, admin_user = make_user(tenant_a, Role.OWNER), make_user(tenant_a, Role.ADMIN)
    taken = make_user(tenant_a, Role.MEMBER)
    add = admin_client(tenant_a, owner).post(
        "/admin/accounts/user/add/", {**FORM, "email": taken.email, "role": "member"}
    )
    api = client_for(tenant_a, owner).post("/api/v1/invitations/", {"email": taken.email, "role": "member"})
    assert add.context["adminform"].form.errors["email"] == api.json()["error"]["details"]["email"]
    boss = admin_client(tenant_a, admin_user).post(
        "/admin/accounts/user/add/", {**FORM, "email": "boss2@example.test", "role": "owner"}
    )
    assert b"Only an owner can make owners" in boss.content


def test_the_invitations_list_and_revoke_action(tenant_a, make_user):
    from accounts.models import Invitation, InvitationStatus
    from accounts.services import invitation_create

    owner = make_user(tenant_a, Role.OWNER)
    with schema_context(tenant_a.schema_name):
        invitation = invitation_create(actor=owner, email="listed@example.test", role="member")
    client = admin_client(tenant_a, owner)
    assert "listed@example.test" in client.get("/admin/accounts/invitation/").content.decode()
    client.post(
        "/admin/accounts/invitation/",
        {"action": "revoke_selected", "_selected_action": [invitation.pk]},
    )
    with schema_context(tenant_a.schema_name):
        assert Invitation.objects.get(pk=invitation.pk).status == InvitationStatus.REVOKED
