"""Expired credentials are pruned on a schedule, per schema: revoked access tokens, outstanding and
blacklisted refresh tokens, and sessions past their expiry go; live ones and other schemas stay."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import tasks
from accounts.credentials import credentials_schemas, prune_expired_credentials
from accounts.models import RevokedAccessToken, User
from tenants.models import Tenant, TenantWork

pytestmark = pytest.mark.django_db


def credentials(tenant: Tenant | None, user: User, *, expires_in: timedelta) -> str:
    """One of each kind, in the user's schema, expiring `expires_in` from now; returns their id."""
    ident = uuid.uuid4().hex
    expires_at = timezone.now() + expires_in
    with schema_context(tenant.schema_name if tenant else "public"):
        RevokedAccessToken.objects.create(jti=ident, expires_at=expires_at)
        outstanding = OutstandingToken.objects.create(
            user=user, jti=ident, token=f"token-{ident}", expires_at=expires_at
        )
        BlacklistedToken.objects.create(token=outstanding)
        Session.objects.create(session_key=ident, session_data="", expire_date=expires_at)
    return ident


def left(tenant: Tenant | None) -> dict[str, set[str]]:
    with schema_context(tenant.schema_name if tenant else "public"):
        return {
            "revoked": set(RevokedAccessToken.objects.values_list("jti", flat=True)),
            "outstanding": set(OutstandingToken.objects.values_list("jti", flat=True)),
            "blacklisted": set(BlacklistedToken.objects.values_list("token__jti", flat=True)),
            "sessions": set(Session.objects.values_list("session_key", flat=True)),
        }


def test_expired_credentials_go_and_live_ones_stay(tenant_a: Tenant, make_user: Any) -> None:
    user = make_user(tenant_a)
    expired = credentials(tenant_a, user, expires_in=timedelta(seconds=-1))
    live = credentials(tenant_a, user, expires_in=timedelta(days=1))
    pruned = prune_expired_credentials(tenant_a.schema_name)
    assert pruned == {"revoked_access_tokens": 1, "outstanding_tokens": 1, "sessions": 1}
    for kind, idents in left(tenant_a).items():
        assert live in idents, kind
        assert expired not in idents, kind


def test_pruning_one_schema_leaves_another_tenants_and_the_platforms(
    tenant_a: Tenant, tenant_b: Tenant, make_user: Any, platform_admin: User
) -> None:
    in_b = credentials(tenant_b, make_user(tenant_b), expires_in=timedelta(seconds=-1))
    in_public = credentials(None, platform_admin, expires_in=timedelta(seconds=-1))
    prune_expired_credentials(tenant_a.schema_name)
    assert all(in_b in idents for idents in left(tenant_b).values())
    assert all(in_public in idents for idents in left(None).values())
    prune_expired_credentials("public")  # the platform staff's own
    assert not any(in_public in idents for idents in left(None).values())


def test_beat_prunes_public_and_the_tenants_that_wrote_credentials_and_no_idle_one(
    tenant_a: Tenant, tenant_b: Tenant, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["credentials-retention"]
    assert entry["task"] == tasks.credentials_prune_all_task.name
    TenantWork.objects.all().delete()
    credentials(tenant_a, make_user(tenant_a), expires_in=timedelta(days=1))  # a sign-in in tenant A
    sent: list[str] = []
    monkeypatch.setattr("accounts.tasks.beat_slot_take", lambda name, interval: True)
    monkeypatch.setattr(
        tasks.credentials_prune_task, "apply_async", lambda args, headers: sent.append(args[0])
    )
    assert tasks.credentials_prune_all_task() == len(sent)
    assert sent == ["public", tenant_a.schema_name]  # tenant B is idle: no task
    later = timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(days=30)
    assert credentials_schemas(now=later) == []  # long idle since: nothing left to prune


def test_a_second_beat_in_the_same_interval_prunes_nothing(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(
        tasks.credentials_prune_task, "apply_async", lambda args, headers: sent.append(args[0])
    )
    first = tasks.credentials_prune_all_task()
    assert first >= 1
    assert tasks.credentials_prune_all_task() == 0
    assert len(sent) == first
