"""Reconciliation with the user service's `GET /users?page=` (sandbox as a real server)."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from accounts.models import Role, User
from integrations import http
from integrations.errors import RetryableError
from integrations.models import SyncRun
from integrations.sandbox import fake_user
from integrations.services import integration_settings_update
from integrations.sync import SyncNotConfigured, users_sync
from tenants.models import Tenant

from .conftest import SandboxControl

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "sleep", lambda _s: None)


@pytest.fixture
def in_a(tenant_a: Tenant, sandbox: SandboxControl) -> Any:
    sandbox.reset(users=50)  # 5 pages of 10
    with schema_context(tenant_a.schema_name):
        integration_settings_update(
            service="user-service", enabled=True, base_url=sandbox.base_url("user-service")
        )
        yield tenant_a


def synced() -> dict[str, User]:
    return {u.external_id: u for u in User.objects.filter(external_id__isnull=False)}


def test_sync_creates_updates_and_deactivates(in_a: Tenant, make_user: Any, sandbox: SandboxControl) -> None:
    stale_name = make_user(in_a, external_id="usr_0002", first_name="Old", email="x2@example.test")
    gone = make_user(in_a, external_id="usr_gone")
    local = make_user(in_a)  # never synced: not the service's business
    run = users_sync(page_size=10)
    users = synced()
    assert run.status == "completed"
    assert (run.created, run.updated, run.deactivated) == (49, 1, 1)
    assert len([u for u in users.values() if u.is_active]) == 50
    stale_name.refresh_from_db()
    assert stale_name.first_name == fake_user(2)["first_name"]
    gone.refresh_from_db()
    local.refresh_from_db()
    assert gone.is_active is False
    assert local.is_active is True
    # a second run changes nothing
    again = users_sync(page_size=10)
    assert (again.created, again.updated, again.deactivated, again.unchanged) == (0, 0, 0, 50)


def test_a_failure_on_page_3_of_5_deactivates_nobody_and_the_next_run_resumes(
    in_a: Tenant, make_user: Any, sandbox: SandboxControl
) -> None:
    gone = make_user(in_a, external_id="usr_gone")
    sandbox.fault("user-service", error_rate=1.0, status=503, match="page=3")
    with pytest.raises(RetryableError):
        users_sync(page_size=10)
    run = SyncRun.objects.get()
    assert (run.status, run.next_page, run.created) == ("failed", 3, 20)
    gone.refresh_from_db()
    assert gone.is_active is True
    assert len(synced()) == 21
    sandbox.clear_faults()
    before = sandbox.state()["log"]
    resumed = users_sync(page_size=10)
    pages_read = [e["path"] for e in sandbox.state()["log"][len(before) :]]
    assert resumed.pk == run.pk
    assert all("page=1&" not in p and "page=2&" not in p for p in pages_read)  # resumed at page 3
    assert (resumed.status, resumed.created, resumed.deactivated) == ("completed", 50, 1)
    gone.refresh_from_db()
    assert gone.is_active is False


def test_sync_never_deactivates_an_owner(in_a: Tenant, make_user: Any) -> None:
    owner = make_user(in_a, Role.OWNER, external_id="usr_owner")
    users_sync(page_size=10)
    owner.refresh_from_db()
    assert owner.is_active is True


def test_sync_never_takes_over_an_account_by_email_nor_changes_an_owner(
    in_a: Tenant, make_user: Any, sandbox: SandboxControl
) -> None:
    """The service's records only write the users it created (the owner's email in the
    service's list, or a synced user made owner, leave those accounts as they are)."""
    owner = User.objects.get(email=f"owner@{in_a.slug}.test")
    local_admin = make_user(in_a, Role.ADMIN, email="local-admin@example.test", first_name="Local")
    promoted = make_user(in_a, Role.OWNER, external_id="usr_0003", first_name="Kept")
    sandbox.set_users(
        [
            {"id": "usr_0001", "email": owner.email, "first_name": "Mallory", "last_name": "X"},
            {"id": "usr_0002", "email": "LOCAL-ADMIN@example.test", "first_name": "Mallory"},
        ]
    )
    run = users_sync(page_size=10)
    assert (run.status, run.refused, run.created) == ("completed", 3, 47)
    for user, name in ((owner, ""), (local_admin, "Local"), (promoted, "Kept")):
        user.refresh_from_db()
        assert (user.first_name, user.is_active) == (name, True)
    assert (owner.external_id, local_admin.external_id, promoted.role) == (None, None, Role.OWNER)
    assert not User.objects.filter(external_id__in=["usr_0001", "usr_0002"]).exists()
    from audit.models import AuditEntry

    summary = AuditEntry.objects.filter(event="sync").latest("seq")
    assert summary.changes["refused"] == 3


def test_sync_needs_a_configured_service(tenant_a: Tenant) -> None:
    with schema_context(tenant_a.schema_name), pytest.raises(SyncNotConfigured):
        users_sync()


def test_sync_users_command(in_a: Tenant) -> None:
    out = StringIO()
    call_command("sync_users", "--tenant", in_a.slug, "--page-size", "10", stdout=out)
    assert "50 created" in out.getvalue()


def test_sync_users_command_reports_a_failure(in_a: Tenant, sandbox: SandboxControl) -> None:
    sandbox.fault("user-service", error_rate=1.0, status=500, match="page=2")
    with pytest.raises(CommandError, match="nobody was deactivated"):
        call_command("sync_users", "--tenant", in_a.slug, "--page-size", "10", stdout=StringIO())


def test_sync_of_one_tenant_leaves_the_other_alone(in_a: Tenant, tenant_b: Tenant, make_user: Any) -> None:
    b_user = make_user(tenant_b, external_id="usr_b_only")
    users_sync(page_size=10)
    with schema_context(tenant_b.schema_name):
        assert not User.objects.filter(external_id="usr_0001").exists()
        b_user.refresh_from_db()
        assert b_user.is_active is True
