"""Security events (refusals anyone can provoke) land in the trail of the schema they concern, and a
flood of them adds a bounded number of entries whose counts add up to every event."""

import base64
import json
import time

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from audit.events import AuditEvent
from audit.security import security_event_record, security_events_flush
from tests.audit.helpers import trail
from tests.conftest import TenantClient, access_token, free_port
from tests.integrations.conftest import as_meta, signed_headers

pytestmark = pytest.mark.django_db

IP = "203.0.113.50"


@pytest.fixture(autouse=True)
def _one_minute(monkeypatch):
    """Every event of a test falls in the same minute, whatever the clock does meanwhile."""
    import audit.security

    minute = audit.security._minute()
    monkeypatch.setattr(audit.security, "_minute", lambda: minute)


def events(tenant, kind):
    """Entries of `kind`, or of the test's own object type (the tests' floods use a real kind)."""
    return [e for e in trail(tenant) if kind in (e.event, e.object_type)]


def total(tenant, kind):
    return sum(e.changes["count"] for e in events(tenant, kind))


def close_the_minute():
    return security_events_flush(now=time.time() + 180)


def forged_webhook(tenant, service="user-service", ip=IP):
    body = json.dumps({"id": "evt_x", "type": "user.updated", "data": {}}).encode()
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    return TenantClient(tenant).post(
        f"/api/v1/webhooks/{service}/",
        body,
        content_type="application/json",
        REMOTE_ADDR=ip,
        **as_meta(signed_headers(secret, body)),
    )


def test_a_token_of_another_tenant_is_recorded_where_it_was_tried(tenant_a, tenant_b, make_user):
    token_b = access_token(make_user(tenant_b, Role.OWNER), tenant_b)
    response = TenantClient(tenant_a, token=token_b).get("/api/v1/users/", REMOTE_ADDR=IP)
    assert response.json()["error"]["code"] == "token_tenant_mismatch"
    (entry,) = events(tenant_a, "token_tenant_mismatch")
    assert (entry.object_type, entry.actor, entry.remote_addr) == ("security_event", "anonymous", IP)
    assert entry.changes | {"minute": ""} == {
        "event": "token_tenant_mismatch",
        "token_tenant": tenant_b.slug,
        "role": "owner",
        "source": IP,
        "count": 1,
        "minute": "",
        "aggregated": True,
    }
    assert events(tenant_b, "token_tenant_mismatch") == []


def test_a_member_creating_an_owner_is_recorded(tenant_a, tenant_b, make_user, client_for):
    member = make_user(tenant_a, Role.MEMBER)
    response = client_for(tenant_a, member).post(
        "/api/v1/users/", {"email": "new-owner@example.test", "role": "owner", "password": "x" * 20}
    )
    assert response.status_code == 403
    (entry,) = events(tenant_a, "permission_denied")
    assert (entry.actor, entry.changes["source"], entry.changes["code"]) == (
        member.email,
        member.email,
        "permission_denied",
    )
    assert (entry.changes["method"], entry.changes["path"]) == ("POST", "/api/v1/users/")
    assert events(tenant_b, "permission_denied") == []


def test_a_permission_class_refusal_is_recorded(tenant_a, make_user, client_for):
    member = make_user(tenant_a, Role.MEMBER)
    assert client_for(tenant_a, member).get("/api/v1/integrations/user-service/").status_code == 403
    (entry,) = events(tenant_a, "permission_denied")
    assert entry.changes["path"] == "/api/v1/integrations/user-service/"


def test_a_forged_webhook_is_recorded_in_its_tenant(tenant_a, tenant_b):
    assert forged_webhook(tenant_a).status_code == 401
    (entry,) = events(tenant_a, "webhook_bad_signature")
    assert (entry.changes["service"], entry.changes["source"], entry.remote_addr) == ("user-service", IP, IP)
    assert events(tenant_b, "webhook_bad_signature") == []


def test_a_failed_browser_sign_in_is_recorded(tenant_a, make_user):
    user = make_user(tenant_a)
    response = TenantClient(tenant_a).client.post(
        "/login/", {"email": user.email, "password": "nope"}, HTTP_HOST=f"{tenant_a.slug}.localhost"
    )
    assert response.status_code == 401
    (entry,) = events(tenant_a, "login_failed")
    assert (entry.object_type, entry.object_pk, entry.changes["channel"]) == (
        "accounts.user",
        str(user.pk),
        "browser",
    )


def test_a_flood_adds_bounded_entries_that_count_every_event(settings, tenant_a, tenant_b):
    settings.SAAS_WEBHOOK_RATE_PER_SERVICE = "1000/m"
    for _ in range(40):
        assert forged_webhook(tenant_a).status_code == 401
    assert len(events(tenant_a, "webhook_bad_signature")) == settings.AUDIT_SECURITY_BURST  # 5, not 40
    assert security_events_flush() == 0  # the minute is still open
    assert close_the_minute() == 1
    entries = events(tenant_a, "webhook_bad_signature")
    assert len(entries) == settings.AUDIT_SECURITY_BURST + 1
    assert entries[-1].changes["count"] == 40 - settings.AUDIT_SECURITY_BURST
    assert entries[-1].changes["aggregated"] is True
    assert total(tenant_a, "webhook_bad_signature") == 40
    assert close_the_minute() == 0  # written once
    assert events(tenant_b, "webhook_bad_signature") == []


def test_many_sources_are_capped_per_minute(settings, tenant_a):
    settings.AUDIT_SECURITY_BURST = 2
    settings.AUDIT_SECURITY_SOURCES_PER_MINUTE = 5
    with schema_context(tenant_a.schema_name):
        for i in range(60):  # 30 sources, two events each
            security_event_record(
                kind=AuditEvent.PERMISSION_DENIED, object_type="test_flood", source=f"10.0.0.{i % 30}"
            )
    close_the_minute()
    entries = events(tenant_a, "test_flood")
    assert len(entries) <= (5 + 1) * (2 + 1)
    assert {e.changes["source"] for e in entries} == {f"10.0.0.{i}" for i in range(5)} | {"*"}
    assert total(tenant_a, "test_flood") == 60


def test_a_flush_of_a_purged_schema_drops_nothing_else(settings, tenant_a):
    settings.AUDIT_SECURITY_BURST = 1
    with schema_context("t_gone_for_good"):
        for _ in range(3):
            security_event_record(
                kind=AuditEvent.PERMISSION_DENIED, object_type="test_gone", source="10.0.0.1"
            )
    with schema_context(tenant_a.schema_name):
        for _ in range(3):
            security_event_record(
                kind=AuditEvent.PERMISSION_DENIED, object_type="test_kept", source="10.0.0.1"
            )
    assert close_the_minute() == 1
    assert total(tenant_a, "test_kept") == 3


def test_redis_down_writes_each_event(settings, tenant_a):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    import audit.security

    audit.security._skip_until = 0.0
    with schema_context(tenant_a.schema_name):
        for _ in range(settings.AUDIT_SECURITY_BURST + 2):
            security_event_record(
                kind=AuditEvent.PERMISSION_DENIED, object_type="test_no_redis", source="10.0.0.1"
            )
    entries = events(tenant_a, "test_no_redis")
    assert len(entries) == settings.AUDIT_SECURITY_BURST + 2
    assert {e.changes["aggregated"] for e in entries} == {False}
    assert audit.security._skip_until > 0  # the next few seconds don't wait on the dead Redis
    audit.security._skip_until = 0.0


def test_the_flush_runs_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-security-events-flush"]
    assert (entry["task"], entry["schedule"]) == ("audit.tasks.flush_security_events", 60.0)
