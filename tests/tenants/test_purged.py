"""A purged tenant (row kept, schema dropped) breaks nothing that iterates tenants."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_tenants.utils import schema_exists

from integrations.tasks import _active_schemas, purge_all_tenants, sweep_all_tenants
from tenants.models import Domain, Tenant
from tenants.selectors import tenant_with_schema_list
from tenants.services import tenant_delete
from tests.conftest import TenantClient, access_token


def _purge(tenant: Tenant) -> Tenant:
    tenant_delete(tenant=tenant, purge=True)
    tenant.refresh_from_db()
    assert not schema_exists(tenant.schema_name)
    return tenant


def test_migrate_schemas_runs_after_a_purge(committed_db, fresh_tenant):
    _purge(fresh_tenant)
    out = io.StringIO()
    call_command("migrate_schemas", interactive=False, verbosity=1, stdout=out)
    assert not schema_exists(fresh_tenant.schema_name)  # skipped, not re-created
    assert fresh_tenant.schema_name not in out.getvalue()


def test_migrate_schemas_tenant_only_also_skips_a_purged_tenant(committed_db, fresh_tenant):
    _purge(fresh_tenant)
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
    assert not schema_exists(fresh_tenant.schema_name)


def test_purge_records_when_and_the_api_shows_it(committed_db, fresh_tenant):
    assert fresh_tenant.purged_at is None
    tenant = _purge(fresh_tenant)
    assert tenant.status == "deleted"
    assert tenant.purged_at is not None


def test_selector_lists_only_tenants_with_a_schema(db, tenant_a, fresh_tenant):
    assert fresh_tenant in tenant_with_schema_list()
    _purge(fresh_tenant)
    tenants = list(tenant_with_schema_list())
    assert fresh_tenant not in tenants
    assert tenant_a in tenants
    assert Domain.objects.filter(
        tenant__in=tenant_with_schema_list(), tenant=tenant_a
    ).exists()  # as a subquery


def test_selector_skips_a_schema_dropped_by_hand(db, fresh_tenant):
    with connection.cursor() as cursor:  # the owner's drop, without the purge's bookkeeping
        cursor.execute("SELECT public.saas_tenant_schema_drop(%s)", [fresh_tenant.schema_name])
    assert fresh_tenant.purged_at is None
    assert fresh_tenant not in tenant_with_schema_list()


def test_beat_dispatch_skips_a_purged_tenant(db, tenant_a, fresh_tenant):
    _purge(fresh_tenant)
    assert fresh_tenant.schema_name not in _active_schemas()
    assert tenant_a.schema_name in _active_schemas()
    sweep_all_tenants.apply()
    purge_all_tenants.apply()


def test_platform_keeps_serving_after_a_purge(db, tenant_a, platform_admin, fresh_tenant):
    _purge(fresh_tenant)
    staff = TenantClient(None, token=access_token(platform_admin, None))
    assert staff.get("/health").status_code == 200
    listing = staff.get("/api/v1/tenants/", {"page_size": 100})
    assert listing.status_code == 200
    row = next(t for t in listing.json()["results"] if t["slug"] == fresh_tenant.slug)
    assert row["status"] == "deleted"
    assert row["purged_at"]
    assert staff.get(f"/api/v1/tenants/{fresh_tenant.slug}/").status_code == 200
    health = staff.get("/api/v1/integrations/health")
    assert health.status_code == 200
    assert fresh_tenant.slug not in {t["slug"] for t in health.json()["tenants"]}
    trail = staff.get("/api/v1/audit/events", {"tenant": fresh_tenant.slug})
    assert trail.status_code == 404
    assert trail.json()["error"]["code"] == "tenant_not_found"


def test_admin_pages_of_a_purged_tenant_are_404_not_500(db, platform_admin, fresh_tenant):
    _purge(fresh_tenant)
    browser = Client(raise_request_exception=False)
    browser.force_login(platform_admin)
    change = browser.get(reverse("platform_admin:tenants_tenant_change", args=[fresh_tenant.pk]))
    assert change.status_code == 200
    assert "purged" in change.content.decode().lower()
    assert browser.get("/admin/tenants/tenant/").status_code == 200
    trail = reverse("platform_admin:audit_auditentry_tenant", args=[fresh_tenant.slug])
    assert browser.get(trail).status_code == 404
    events = reverse("platform_admin:tenant-webhook-events", kwargs={"tenant_id": fresh_tenant.pk})
    assert browser.get(events).status_code == 404
    assert browser.post(events, {"replay_all": "dead"}).status_code == 404


def test_verify_audit_passes_over_a_purged_tenant(db, tenant_a, fresh_tenant):
    _purge(fresh_tenant)
    out = io.StringIO()
    call_command("verify_audit", stdout=out, stderr=out)
    assert tenant_a.schema_name in out.getvalue()
    assert fresh_tenant.schema_name not in out.getvalue()
    with pytest.raises(CommandError, match="purged"):
        call_command("verify_audit", "--tenant", fresh_tenant.slug, stdout=io.StringIO())


@pytest.mark.parametrize(
    "command", [["sync_users"], ["send_webhook", "--service", "user-service", "--type", "user.created"]]
)
def test_per_tenant_commands_refuse_a_purged_tenant_clearly(db, fresh_tenant, command):
    _purge(fresh_tenant)
    with pytest.raises(CommandError, match="purged"):
        call_command(*command, "--tenant", fresh_tenant.slug, stdout=io.StringIO())
