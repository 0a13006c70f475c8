"""One sign-in path: API, browser form, both admin forms and SSO share the
per-IP and per-(tenant, email) limits and audit `login` / `login_failed` alike."""

import time

import pytest
from django.test import Client

from accounts.models import Role
from audit.security import security_events_flush
from tests.audit.helpers import trail
from tests.conftest import PASSWORD, TenantClient

pytestmark = pytest.mark.django_db

IP = "198.51.100.23"
WRONG = "wrong-password"


def browser_login(tenant, email, password=WRONG, ip=IP, client=None):
    return (client or Client()).post(
        "/login/",
        {"email": email, "password": password},
        HTTP_HOST=f"{tenant.slug}.localhost",
        REMOTE_ADDR=ip,
    )


def admin_login(tenant, email, password=WRONG, ip=IP, client=None):
    host = f"{tenant.slug}.localhost" if tenant else "localhost"
    return (client or Client()).post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password},
        HTTP_HOST=host,
        REMOTE_ADDR=ip,
    )


def sign_ins(tenant, event):
    """(channel, count) of every `login` / `login_failed` entry in the tenant's (or platform's) trail."""
    security_events_flush(now=time.time() + 180)  # close the minute: counted-only failures are written
    return [
        (e.changes.get("channel"), e.changes.get("count", 1), e.object_type)
        for e in trail(tenant)
        if e.event == event
    ]


def failures(tenant):
    return sum(count for _, count, _ in sign_ins(tenant, "login_failed"))


def test_browser_sign_in_is_limited_per_email_and_every_failure_is_audited(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a, Role.OWNER)
    statuses = [browser_login(tenant_a, user.email, ip=f"192.0.2.{i}").status_code for i in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    limited = browser_login(tenant_a, user.email, PASSWORD, ip="192.0.2.99")  # even the right password
    assert limited.status_code == 429
    assert limited["Content-Type"].startswith("text/html")
    assert b"Too many sign-in attempts" in limited.content
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert failures(tenant_a) == 10
    assert {(channel, kind) for channel, _, kind in sign_ins(tenant_a, "login_failed") if channel} == {
        ("browser", "accounts.user")
    }
    assert sign_ins(tenant_b, "login_failed") == []  # the twin tenant's trail is untouched


def test_browser_sign_in_is_limited_per_ip(settings, tenant_a, make_user):
    settings.SAAS_LOGIN_RATE_PER_IP = "3/m"
    statuses = [browser_login(tenant_a, f"nobody{i}@example.test").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_browser_and_api_share_the_limits(settings, tenant_a, make_user):
    settings.SAAS_LOGIN_RATE_PER_EMAIL = "3/m"
    user = make_user(tenant_a)
    for _ in range(2):
        assert browser_login(tenant_a, user.email).status_code == 401
    api = TenantClient(tenant_a).post("/api/v1/auth/login", {"email": user.email, "password": "nope"})
    assert api.status_code == 401
    assert browser_login(tenant_a, user.email, PASSWORD).status_code == 429


def test_browser_success_is_audited_like_the_api(tenant_a, make_user):
    user = make_user(tenant_a, Role.MEMBER)
    response = browser_login(tenant_a, user.email, PASSWORD)
    assert response.status_code == 302
    (entry,) = [e for e in trail(tenant_a) if e.event == "login"]
    assert (entry.object_type, entry.object_pk, entry.actor) == ("accounts.user", str(user.pk), user.email)
    assert entry.changes == {"event": "login", "channel": "browser"}


@pytest.mark.parametrize("on_platform", [False, True], ids=["tenant-admin", "platform-admin"])
def test_admin_sign_in_is_limited_per_ip_and_audited_in_its_schema(on_platform, tenant_a, tenant_b):
    tenant = None if on_platform else tenant_a
    statuses = [admin_login(tenant, f"nobody{i}@example.test").status_code for i in range(32)]
    assert statuses == [200] * 30 + [429] * 2
    limited = admin_login(tenant, "someone@example.test")
    assert limited.status_code == 429
    assert limited["Content-Type"].startswith("text/html")
    assert b"Too many sign-in attempts" in limited.content
    assert int(limited["Retry-After"]) >= 1
    assert failures(tenant) == 30
    assert {channel for channel, _, _ in sign_ins(tenant, "login_failed") if channel} == {"admin"}
    other = tenant_b if on_platform else None  # the other trail knows nothing of it
    assert sign_ins(other, "login_failed") == []


def test_admin_sign_in_is_limited_per_email(settings, tenant_a, make_user):
    settings.SAAS_LOGIN_RATE_PER_EMAIL = "2/m"
    owner = make_user(tenant_a, Role.OWNER)
    for i in range(2):
        assert admin_login(tenant_a, owner.email, ip=f"192.0.2.{i}").status_code == 200
    assert admin_login(tenant_a, owner.email, PASSWORD, ip="192.0.2.9").status_code == 429


def test_admin_success_and_a_member_refused(tenant_a, make_user):
    owner = make_user(tenant_a, Role.OWNER)
    member = make_user(tenant_a, Role.MEMBER)
    assert admin_login(tenant_a, owner.email, PASSWORD).status_code == 302
    refused = admin_login(tenant_a, member.email, PASSWORD)
    assert refused.status_code == 200
    assert b"correct email and password" in refused.content
    assert [c for c, _, _ in sign_ins(tenant_a, "login")] == ["admin"]
    assert [c for c, _, _ in sign_ins(tenant_a, "login_failed")] == ["admin"]


def test_platform_admin_success_lands_in_the_platform_trail(platform_admin, tenant_a):
    assert admin_login(None, platform_admin.email, PASSWORD).status_code == 302
    (entry,) = [e for e in trail(None) if e.event == "login" and e.object_pk == str(platform_admin.pk)]
    assert entry.changes["channel"] == "admin"
    assert sign_ins(tenant_a, "login") == []
