"""Invitations: owners and admins invite by email under the users API's role
rules; the mail links to the tenant's `/invitations/<token>/`; accepting creates the user once,
within 7 days, and signs them in; nothing of one tenant works on another."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework_simplejwt.tokens import AccessToken

from accounts.mail.models import Email
from accounts.mail.services import emails_send
from accounts.models import Invitation, Role, User
from accounts.services import EMAIL_HAS_ACCOUNT, INVITATION_PENDING
from accounts.tokens import invitation_token
from tests.audit.helpers import trail
from tests.conftest import PASSWORD, ROUTING_FORMS, TenantClient

pytestmark = pytest.mark.django_db

LIST = "/api/v1/invitations/"
ACCEPT = "/api/v1/auth/invitations/accept"
CHOSEN = "my-own-chosen-passphrase-1"


def invite(client, email="new.person@example.test", role="member", **extra):
    return client.post(LIST, {"email": email, "role": role, **extra})


def token_of(tenant, invitation_id):
    with schema_context(tenant.schema_name):
        return invitation_token(invitation=Invitation.objects.get(pk=invitation_id))


def accept(tenant, token, password=CHOSEN, **names):
    return TenantClient(tenant).post(ACCEPT, {"token": token, "password": password, **names})


@pytest.fixture
def owner_a(tenant_a, make_user, client_for):
    return client_for(tenant_a, make_user(tenant_a, Role.OWNER))


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_an_owner_invites_and_the_mail_links_to_the_tenant_host(
    tenant_a, make_user, client_for, send_mail_to, via
):
    owner = make_user(tenant_a, Role.OWNER)
    response = invite(client_for(tenant_a, owner, via=via), role="admin", first_name="Grace")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "email", "role", "expires_at", "status"} <= set(body)
    assert (body["email"], body["role"], body["status"]) == ("new.person@example.test", "admin", "pending")
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)

    with schema_context(tenant_a.schema_name):
        emails_send(email_ids=list(Email.objects.filter(kind="invitation").values_list("pk", flat=True)))
    message = send_mail_to.wait_for(1)[0]
    assert message["To"] == "new.person@example.test"
    assert tenant_a.name in message["Subject"]
    text = send_mail_to.text(message)
    assert owner.email in text
    assert "admin" in text
    assert "Hello Grace" in text
    (link,) = [link for link in send_mail_to.links(message) if "/invitations/" in link]
    assert re.fullmatch(rf"http://{tenant_a.slug}\.localhost:8000/invitations/[0-9a-z]+-[0-9a-f]+/", link)
    assert link.split("/")[-2] == token_of(tenant_a, body["id"])


def test_accepting_creates_the_user_with_the_role_and_signs_in(tenant_a, owner_a):
    invitation = invite(owner_a, role="admin").json()
    response = accept(tenant_a, token_of(tenant_a, invitation["id"]), first_name="Ada", last_name="L")
    assert response.status_code == 201, response.content
    pair = response.json()
    assert pair["token_type"] == "Bearer"
    assert AccessToken(pair["access"])["role"] == "admin"
    me = TenantClient(tenant_a, token=pair["access"]).get("/api/v1/auth/me").json()
    assert (me["email"], me["role"], me["first_name"]) == ("new.person@example.test", "admin", "Ada")
    assert (
        TenantClient(tenant_a)
        .post("/api/v1/auth/login", {"email": "new.person@example.test", "password": CHOSEN})
        .status_code
        == 200
    )
    shown = owner_a.get(f"{LIST}{invitation['id']}/").json()
    assert shown["status"] == "accepted"


def test_an_invitation_is_accepted_once(tenant_a, owner_a):
    token = token_of(tenant_a, invite(owner_a).json()["id"])
    assert accept(tenant_a, token).status_code == 201
    again = accept(tenant_a, token, "another-passphrase-77")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_token"


def test_an_invitation_expires_after_seven_days(tenant_a, owner_a):
    invitation_id = invite(owner_a).json()["id"]
    with schema_context(tenant_a.schema_name):
        Invitation.objects.filter(pk=invitation_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = accept(tenant_a, token_of(tenant_a, invitation_id))
    assert response.json()["error"]["code"] == "invalid_token"
    assert owner_a.get(f"{LIST}{invitation_id}/").json()["status"] == "expired"
    assert owner_a.get(LIST).json()["count"] == 0
    assert invite(owner_a).status_code == 201  # an expired one no longer blocks a new one


def test_the_password_validators_apply_on_accept(tenant_a, owner_a):
    token = token_of(tenant_a, invite(owner_a).json()["id"])
    weak = accept(tenant_a, token, "123")
    assert weak.status_code == 400
    assert "password" in weak.json()["error"]["details"]
    assert accept(tenant_a, token).status_code == 201  # still pending after the refusal


def test_an_email_with_an_account_is_refused_at_invite_time(tenant_a, owner_a, make_user):
    user = make_user(tenant_a)
    response = invite(owner_a, email=user.email.upper())
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"email": [EMAIL_HAS_ACCOUNT]}


def test_an_account_made_meanwhile_is_refused_at_accept_time(tenant_a, owner_a, make_user):
    token = token_of(tenant_a, invite(owner_a).json()["id"])
    make_user(tenant_a, email="new.person@example.test")
    response = accept(tenant_a, token)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"email": [EMAIL_HAS_ACCOUNT]}


def test_one_pending_invitation_per_email(tenant_a, owner_a):
    first = invite(owner_a).json()
    second = invite(owner_a, email="New.Person@example.test")
    assert second.status_code == 400
    assert second.json()["error"]["details"] == {"email": [INVITATION_PENDING]}
    assert owner_a.delete(f"{LIST}{first['id']}/").status_code == 204
    assert invite(owner_a).status_code == 201


@pytest.mark.parametrize(
    ("inviter", "role", "status"),
    [
        (Role.MEMBER, "member", 403),
        (Role.ADMIN, "member", 201),
        (Role.ADMIN, "admin", 201),
        (Role.ADMIN, "owner", 403),
        (Role.OWNER, "owner", 201),
    ],
)
def test_the_role_rules_of_the_users_api_apply(tenant_a, make_user, client_for, inviter, role, status):
    client = client_for(tenant_a, make_user(tenant_a, inviter))
    assert invite(client, role=role).status_code == status


def test_a_platform_admin_may_invite_an_owner(tenant_a, platform_admin, client_for):
    response = invite(client_for(tenant_a, platform_admin), role="owner")
    assert response.status_code == 201
    assert response.json()["invited_by"] == f"platform:{platform_admin.email}"


def test_members_cannot_list_or_revoke(tenant_a, owner_a, make_user, client_for):
    invitation_id = invite(owner_a).json()["id"]
    member = client_for(tenant_a, make_user(tenant_a, Role.MEMBER))
    assert member.get(LIST).status_code == 403
    assert member.delete(f"{LIST}{invitation_id}/").status_code == 403


def test_the_list_shows_pending_ones_paginated(tenant_a, owner_a):
    ids = [invite(owner_a, email=f"p{i}@example.test").json()["id"] for i in range(3)]
    assert owner_a.delete(f"{LIST}{ids[0]}/").status_code == 204
    page = owner_a.get(LIST, {"page_size": 1}).json()
    assert page["count"] == 2
    assert len(page["results"]) == 1
    assert page["next"]
    assert {r["id"] for r in owner_a.get(LIST).json()["results"]} == set(ids[1:])
    revoked = owner_a.get(LIST, {"status": "revoked"}).json()["results"]
    assert [r["id"] for r in revoked] == [ids[0]]
    assert owner_a.get(LIST, {"status": "bogus"}).status_code == 400


def test_a_revoked_invitation_cannot_be_accepted(tenant_a, owner_a):
    invitation_id = invite(owner_a).json()["id"]
    token = token_of(tenant_a, invitation_id)
    assert owner_a.delete(f"{LIST}{invitation_id}").status_code == 204
    assert owner_a.delete(f"{LIST}{invitation_id}/").status_code == 204  # again: a no-op
    assert accept(tenant_a, token).json()["error"]["code"] == "invalid_token"


def test_an_accepted_invitation_cannot_be_revoked(tenant_a, owner_a):
    invitation_id = invite(owner_a).json()["id"]
    assert accept(tenant_a, token_of(tenant_a, invitation_id)).status_code == 201
    response = owner_a.delete(f"{LIST}{invitation_id}/")
    assert response.status_code == 409


def test_an_admin_cannot_revoke_an_owners_invitation(tenant_a, owner_a, make_user, client_for):
    invitation_id = invite(owner_a, role="owner").json()["id"]
    admin = client_for(tenant_a, make_user(tenant_a, Role.ADMIN))
    assert admin.delete(f"{LIST}{invitation_id}/").status_code == 403


def test_a_revoked_invitation_sends_no_mail(tenant_a, owner_a, send_mail_to):
    invitation_id = invite(owner_a).json()["id"]
    assert owner_a.delete(f"{LIST}{invitation_id}/").status_code == 204
    with schema_context(tenant_a.schema_name):
        emails_send(email_ids=list(Email.objects.values_list("pk", flat=True)))
    assert send_mail_to.messages == []


@pytest.mark.parametrize("token", ["nope", "1-abc", "zz-" + "0" * 48])
def test_a_bad_token_is_invalid_token(tenant_a, token):
    response = accept(tenant_a, token)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_token"


def test_accepting_is_limited_per_ip_like_sign_in(tenant_a, settings):
    settings.SAAS_LOGIN_RATE_PER_IP = "2/m"
    client = TenantClient(tenant_a)
    answers = [
        client.post(ACCEPT, {"token": "1-ab", "password": CHOSEN}, REMOTE_ADDR="192.0.2.77").status_code
        for _ in range(3)
    ]
    assert answers == [400, 400, 429]


def test_everything_is_audited_and_no_token_reaches_the_trail(tenant_a, owner_a):
    sent = invite(owner_a, email="audited@example.test", role="admin").json()
    token = token_of(tenant_a, sent["id"])
    assert accept(tenant_a, "1-nope").status_code == 400
    assert accept(tenant_a, token).status_code == 201
    other = invite(owner_a, email="revoked@example.test").json()
    assert owner_a.delete(f"{LIST}{other['id']}/").status_code == 204
    entries = trail(tenant_a)
    events = {(e.event, e.object_pk) for e in entries}
    assert {
        ("invitation_send", str(sent["id"])),
        ("invitation_accept", str(sent["id"])),
        ("invitation_send", str(other["id"])),
        ("invitation_revoke", str(other["id"])),
    } <= events
    assert any(e.event == "invitation_invalid_token" for e in entries)
    rows = [e for e in entries if e.object_type == "accounts.invitation" and e.action_name == "create"]
    assert {e.object_pk for e in rows} >= {str(sent["id"]), str(other["id"])}
    accepted = next(e for e in entries if e.event == "invitation_accept")
    assert accepted.actor == "audited@example.test"
    assert any(e.event == "login" and e.changes.get("via") == "invitation" for e in entries)
    assert token not in str([(e.changes, e.additional_data, e.object_repr) for e in entries])
    assert token.split("-", 1)[1] not in str([e.changes for e in entries])


# ---- Cross-tenant twins ----


def test_an_invitation_of_tenant_a_is_refused_on_tenant_b(tenant_a, tenant_b, owner_a):
    token = token_of(tenant_a, invite(owner_a).json()["id"])
    response = accept(tenant_b, token)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_token"
    with schema_context(tenant_b.schema_name):
        assert not User.objects.filter(email="new.person@example.test").exists()
    assert accept(tenant_a, token).status_code == 201


def test_the_list_of_tenant_a_is_not_visible_from_tenant_b(
    tenant_a, tenant_b, owner_a, make_user, client_for
):
    invitation_id = invite(owner_a).json()["id"]
    owner_b = client_for(tenant_b, make_user(tenant_b, Role.OWNER))
    assert owner_b.get(LIST).json()["count"] == 0
    assert owner_b.get(f"{LIST}{invitation_id}/").status_code == 404
    assert owner_b.delete(f"{LIST}{invitation_id}/").status_code == 404
    assert owner_a.get(f"{LIST}{invitation_id}/").json()["status"] == "pending"


def test_a_token_of_tenant_a_cannot_revoke_an_invitation_of_tenant_b(
    tenant_a, tenant_b, make_user, client_for
):
    owner_b = client_for(tenant_b, make_user(tenant_b, Role.OWNER))
    invitation_id = invite(owner_b).json()["id"]
    owner_a_token = client_for(tenant_a, make_user(tenant_a, Role.OWNER)).client._credentials
    foreign = TenantClient(tenant_b)
    foreign.client.credentials(**owner_a_token)
    response = foreign.delete(f"{LIST}{invitation_id}/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_tenant_mismatch"
    assert owner_b.get(f"{LIST}{invitation_id}/").json()["status"] == "pending"


def test_invitations_are_tenant_routes(platform_admin, client_for):
    assert client_for(None, platform_admin).get(LIST).status_code == 404
    assert TenantClient(None).post(ACCEPT, {"token": "1-a", "password": PASSWORD}).status_code == 404


@pytest.mark.parametrize("token", ["zzzzzzzzzzzzz-" + "0" * 48, "zzzzzzzzzzzzz-abc-def"])
def test_an_id_past_the_database_range_is_just_a_bad_token(tenant_a, token):
    assert accept(tenant_a, token).json()["error"]["code"] == "invalid_token"
    body = {"token": token, "password": CHOSEN}
    reset = TenantClient(tenant_a).post("/api/v1/auth/password/reset/confirm", body)
    assert reset.json()["error"]["code"] == "invalid_token"
