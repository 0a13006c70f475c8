"""Password reset by mail: 202 whatever the email, a link to the tenant's host,
one use within an hour, every token of the user revoked, refused on another tenant."""

import re
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.mail.models import Email
from accounts.mail.services import emails_send
from accounts.models import Role, User
from accounts.sso.models import OidcProvider
from accounts.tokens import _reset_tokens, password_reset_token, password_reset_token_check
from tests.audit.helpers import trail
from tests.conftest import PASSWORD, ROUTING_FORMS, TenantClient

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"
RESET = "/api/v1/auth/password/reset"
CONFIRM = "/api/v1/auth/password/reset/confirm"


def ask(tenant, email, via="host", ip="192.0.2.10"):
    return TenantClient(tenant, via=via).post(RESET, {"email": email}, REMOTE_ADDR=ip)


def confirm(tenant, token, password=NEW_PASSWORD, ip="192.0.2.10"):
    return TenantClient(tenant).post(CONFIRM, {"token": token, "password": password}, REMOTE_ADDR=ip)


def login(tenant, email, password):
    return TenantClient(tenant).post("/api/v1/auth/login", {"email": email, "password": password})


def mailed_token(tenant, email, sink):
    """Asks for a reset, sends the queued mail to the SMTP server, returns the link's token."""
    before = len(sink.messages)
    assert ask(tenant, email).status_code == 202
    with schema_context(tenant.schema_name):
        emails_send(email_ids=list(Email.objects.filter(to=email).values_list("pk", flat=True)))
    message = sink.wait_for(before + 1)[-1]
    (link,) = [link for link in sink.links(message) if "/password/reset/" in link]
    return link, re.search(r"/password/reset/([^/]+)/$", link)[1]


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(tenant_a, make_user, via):
    user = make_user(tenant_a)
    known, unknown = ask(tenant_a, user.email, via), ask(tenant_a, "nobody@example.test", via)
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    with schema_context(tenant_a.schema_name):  # the same work: one outbox row each
        assert Email.objects.filter(to__in=[user.email, "nobody@example.test"]).count() == 2


def test_the_mail_links_to_the_tenant_host_and_the_token_sets_the_password(tenant_a, make_user, send_mail_to):
    user = make_user(tenant_a, Role.OWNER)
    link, token = mailed_token(tenant_a, user.email, send_mail_to)
    assert link.startswith(f"http://{tenant_a.slug}.localhost:8000/password/reset/")
    assert confirm(tenant_a, token).status_code == 204
    assert login(tenant_a, user.email, NEW_PASSWORD).status_code == 200
    assert login(tenant_a, user.email, PASSWORD).status_code == 401


def test_an_unknown_email_gets_no_mail(tenant_a, send_mail_to):
    assert ask(tenant_a, "nobody@example.test").status_code == 202
    with schema_context(tenant_a.schema_name):
        emails_send(email_ids=list(Email.objects.values_list("pk", flat=True)))
    assert send_mail_to.messages == []


def test_an_sso_only_user_is_told_to_use_the_identity_provider(tenant_a, send_mail_to):
    with schema_context(tenant_a.schema_name):
        user = User.objects.create_user("sso.only@example.test", None, role=Role.MEMBER)
        OidcProvider.objects.create(pk=1, enabled=True, issuer="https://idp.example.test", client_id="c")
    assert ask(tenant_a, user.email).status_code == 202
    with schema_context(tenant_a.schema_name):
        emails_send(email_ids=list(Email.objects.filter(to=user.email).values_list("pk", flat=True)))
    message = send_mail_to.wait_for(1)[0]
    text = send_mail_to.text(message)
    assert "identity provider" in text
    assert "single sign-on" in text
    assert "/password/reset/" not in text
    assert f"http://{tenant_a.slug}.localhost:8000/login/" in text


def test_a_reset_revokes_every_access_and_refresh_token(tenant_a, make_user):
    user = make_user(tenant_a)
    sessions = [login(tenant_a, user.email, PASSWORD).json() for _ in range(2)]
    with schema_context(tenant_a.schema_name):
        token = password_reset_token(user=user)
    assert confirm(tenant_a, token).status_code == 204
    for pair in sessions:
        me = TenantClient(tenant_a, token=pair["access"]).get("/api/v1/auth/me")
        assert me.status_code == 401
        refreshed = TenantClient(tenant_a).post("/api/v1/auth/refresh", {"refresh": pair["refresh"]})
        assert refreshed.status_code == 401
    fresh = login(tenant_a, user.email, NEW_PASSWORD).json()
    assert TenantClient(tenant_a, token=fresh["access"]).get("/api/v1/auth/me").status_code == 200


def test_a_token_works_once(tenant_a, make_user):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        token = password_reset_token(user=user)
    assert confirm(tenant_a, token).status_code == 204
    again = confirm(tenant_a, token, "yet-another-passphrase-7")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid_token"


def test_a_token_expires_after_an_hour(tenant_a, make_user, monkeypatch):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        token = password_reset_token(user=user)
    issued = _reset_tokens._now()
    monkeypatch.setattr(_reset_tokens, "_now", lambda: issued + timedelta(seconds=3601))
    assert confirm(tenant_a, token).json()["error"]["code"] == "invalid_token"
    monkeypatch.setattr(_reset_tokens, "_now", lambda: issued + timedelta(seconds=3500))
    assert confirm(tenant_a, token).status_code == 204


@pytest.mark.parametrize("token", ["", "nope", "1-abc-def", "zzzzzzzzzzzzzz-1-2", "1-" + "a" * 99])
def test_a_bad_token_is_invalid_token(tenant_a, token):
    response = confirm(tenant_a, token)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == ("invalid_token" if token else "validation_error")


def test_a_weak_password_is_refused_and_the_token_stays_good(tenant_a, make_user):
    user = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        token = password_reset_token(user=user)
    weak = confirm(tenant_a, token, "12345678")
    assert weak.status_code == 400
    assert "password" in weak.json()["error"]["details"]
    assert confirm(tenant_a, token).status_code == 204


def test_a_token_of_tenant_a_is_refused_on_tenant_b(tenant_a, tenant_b, make_user):
    user_a = make_user(tenant_a)
    with schema_context(tenant_a.schema_name):
        token = password_reset_token(user=user_a)
    with schema_context(tenant_b.schema_name):
        # Even for a user of B with the same id and password hash, the token is A's alone.
        assert not password_reset_token_check(user=user_a, token=token)
    response = confirm(tenant_b, token)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_token"
    assert confirm(tenant_a, token).status_code == 204


def test_reset_requests_are_limited_like_sign_in(tenant_a, make_user, settings):
    settings.SAAS_LOGIN_RATE_PER_EMAIL = "3/m"
    user = make_user(tenant_a)
    answers = [ask(tenant_a, user.email, ip=f"192.0.2.{i}").status_code for i in range(4)]
    assert answers == [202, 202, 202, 429]
    # ... and they share the sign-in's counter for that email.
    assert login(tenant_a, user.email, PASSWORD).status_code == 429


def test_confirmations_are_limited_per_ip(tenant_a, settings):
    settings.SAAS_LOGIN_RATE_PER_IP = "2/m"
    answers = [confirm(tenant_a, "1-aaaa-bbbb", ip="192.0.2.99").status_code for _ in range(3)]
    assert answers == [400, 400, 429]


def test_request_and_reset_are_audited(tenant_a, make_user):
    user = make_user(tenant_a)
    assert ask(tenant_a, user.email).status_code == 202
    with schema_context(tenant_a.schema_name):
        token = password_reset_token(user=user)
    assert confirm(tenant_a, "1-aaaa-bbbb").status_code == 400
    assert confirm(tenant_a, token).status_code == 204
    events = {e.event: e for e in trail(tenant_a)}
    requested = events["password_reset_request"]
    assert (requested.object_pk, requested.changes["email"]) == (str(user.pk), user.email)
    assert "password_reset_invalid_token" in events
    done = events["password_reset"]
    assert (done.object_pk, done.actor) == (str(user.pk), user.email)
    assert token not in str([e.changes for e in trail(tenant_a)])


def test_password_reset_is_a_tenant_route(platform_admin):
    assert TenantClient(None).post(RESET, {"email": platform_admin.email}).status_code == 404
    assert TenantClient(None).post(CONFIRM, {"token": "1-a-b", "password": "x"}).status_code == 404


def test_the_request_publishes_its_mail_after_the_commit(tenant_a, make_user, monkeypatch):
    from accounts.mail import tasks

    published = []
    monkeypatch.setattr(tasks.email_send_task, "apply_async", lambda args, **kw: published.append(args))
    user = make_user(tenant_a)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert ask(tenant_a, user.email).status_code == 202
    with schema_context(tenant_a.schema_name):
        email = Email.objects.get(to=user.email)
    assert published == [[[str(email.pk)]]]
    assert email.params == {}  # no token waits in the outbox
    assert timezone.now() - email.created_at < timedelta(minutes=1)
