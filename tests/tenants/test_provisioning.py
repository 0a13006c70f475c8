"""Provisioning services: create, suspend, activate, delete, purge, and the template schema."""

import contextlib
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from saas.exceptions import ApplicationError
from tenants import services
from tenants.models import Domain, Tenant, TenantStatus
from tenants.services import (
    template_pending_migrations,
    tenant_activate,
    tenant_create,
    tenant_delete,
    tenant_suspend,
)
from tests.conftest import PASSWORD, owner_cursor

pytestmark = pytest.mark.django_db


def create(slug="gamma", **kwargs):
    return tenant_create(
        slug=slug, name="Gamma", owner_email="Owner@Gamma.test", owner_password=PASSWORD, **kwargs
    )


def test_create_makes_schema_domain_and_owner():
    tenant = create(domains=["gamma.example"])
    assert tenant.schema_name == "t_gamma"
    assert schema_exists("t_gamma")
    assert set(tenant.domains.values_list("domain", flat=True)) == {"gamma.localhost", "gamma.example"}
    with schema_context(tenant.schema_name):
        owner = User.objects.get()
    assert owner.email == "owner@gamma.test"
    assert owner.role == "owner"
    assert owner.check_password(PASSWORD)


def test_new_tenant_is_cloned_from_a_current_template():
    services._template_is_current.cache_clear()
    assert template_pending_migrations() == []
    tenant = create()
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        applied = cursor.fetchone()[0]
    with schema_context(settings.TENANT_BASE_SCHEMA), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        assert cursor.fetchone()[0] == applied


@contextlib.contextmanager
def template_migrations_changed(sql: str) -> Iterator[None]:
    """The template's migration records changed by the owner (the app role may only read them),
    committed so this test's connection sees them, and put back afterwards."""
    with owner_cursor(settings.TENANT_BASE_SCHEMA) as cursor:
        cursor.execute("SELECT id, app, name, applied FROM django_migrations")
        before = cursor.fetchall()
        cursor.execute(sql)
    try:
        yield
    finally:
        with owner_cursor(settings.TENANT_BASE_SCHEMA) as cursor:
            cursor.execute("DELETE FROM django_migrations")
            # The same ids: the snapshot's fingerprint is the records' count and highest id.
            insert = "INSERT INTO django_migrations (id, app, name, applied) VALUES (%s, %s, %s, %s)"
            cursor.executemany(insert, before)


def test_template_lag_is_detected():
    """Fails the day the template falls behind the migrations: `migrate_schemas` must keep it current."""
    assert template_pending_migrations() == []
    # Every accounts row: with a later migration still recorded, the plan would not revisit 0001.
    with template_migrations_changed("DELETE FROM django_migrations WHERE app = 'accounts'"):
        assert ("accounts", "0001_initial") in template_pending_migrations()
    assert template_pending_migrations() == []


def template_behind(monkeypatch) -> None:
    monkeypatch.setattr(services, "_template_is_current", lambda: False)
    services._template_is_current.cache_clear = lambda: None  # type: ignore[attr-defined]


def test_stale_template_tells_the_app_role_to_run_migrate_schemas(monkeypatch):
    """The fallback runs migrations, which the app role (the web process) may not: it says what to do."""
    template_behind(monkeypatch)
    with pytest.raises(ApplicationError, match="migrate_schemas") as refused:
        create(slug="delta")
    assert refused.value.status_code == 503
    assert not Tenant.objects.filter(slug="delta").exists()
    assert not schema_exists("t_delta")


def test_failed_creation_leaves_nothing_behind(monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("owner creation failed")

    monkeypatch.setattr(services, "user_create", explode)
    with pytest.raises(RuntimeError):
        create(slug="broken", domains=["broken.example"])
    assert not Tenant.objects.filter(slug="broken").exists()
    assert not Domain.objects.filter(domain__in=["broken.localhost", "broken.example"]).exists()
    assert not schema_exists("t_broken")


def test_weak_owner_password_is_refused_before_anything_is_made():
    with pytest.raises(ValidationError):
        tenant_create(slug="weak", name="Weak", owner_email="o@weak.test", owner_password="123")
    assert not Tenant.objects.filter(slug="weak").exists()
    assert not schema_exists("t_weak")


@pytest.mark.parametrize("slug", ["public", "admin", "Upper", "a", "x" * 32, "a_b", "1st", "a;b"])
def test_bad_slugs_are_refused(slug):
    with pytest.raises(ValidationError):
        create(slug=slug)


def test_slug_and_domains_are_unique(tenant_a):
    with pytest.raises(ValidationError):
        create(slug="alpha")
    with pytest.raises(ValidationError):
        create(domains=["alpha.localhost"])


def test_suspend_activate_delete_purge():
    tenant = create()
    assert tenant_suspend(tenant=tenant).status == TenantStatus.SUSPENDED
    assert tenant_activate(tenant=tenant).status == TenantStatus.ACTIVE
    tenant_delete(tenant=tenant)
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.DELETED
    assert schema_exists(tenant.schema_name)
    with pytest.raises(ValidationError):
        tenant_activate(tenant=tenant)
    tenant_delete(tenant=tenant, purge=True)
    assert not schema_exists(tenant.schema_name)
    assert not Domain.objects.filter(tenant=tenant).exists()
    with pytest.raises(ValidationError):  # slugs are never reused
        create()


def _structure(schema: str) -> dict[str, list]:
    """Columns, constraints, indexes and triggers of a schema, with the schema's own name taken out."""
    queries = {
        "columns": """SELECT table_name, column_name, data_type, is_nullable, column_default
                      FROM information_schema.columns WHERE table_schema = %s""",
        "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
                          FROM pg_constraint WHERE connamespace = %s::regnamespace""",
        # The WHERE of a partial index is compared by presence only: a dump re-parses it into an
        # equivalent but differently spelled expression (array casts move).
        "indexes": """SELECT tablename, indexname, split_part(indexdef, ' WHERE ', 1),
                             indexdef LIKE '%%WHERE%%'
                      FROM pg_indexes WHERE schemaname = %s""",
        "triggers": """SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid)
                       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                       WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal""",
    }
    result = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql, [schema])
            rows = [
                tuple(str(v).replace(f'"{schema}".', "").replace(f"{schema}.", "") for v in row)
                for row in cursor
            ]
            result[name] = sorted(rows)
    return result


def test_snapshot_schema_is_identical_to_the_template():
    from tenants.template import create_schema_from_snapshot

    assert create_schema_from_snapshot("t_snapshot_probe")
    assert _structure("t_snapshot_probe") == _structure(settings.TENANT_BASE_SCHEMA)
    with schema_context("t_snapshot_probe"), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        assert cursor.fetchone()[0] > 0


def test_stale_snapshot_is_not_used():
    from tenants.template import create_schema_from_snapshot

    # A migration recorded in the template after the snapshot was taken.
    record = "INSERT INTO django_migrations (app, name, applied) VALUES ('tenants', 'later', now())"
    with template_migrations_changed(record):
        assert not create_schema_from_snapshot("t_stale_probe")
    assert not schema_exists("t_stale_probe")


def test_a_domain_taken_during_creation_is_a_validation_error(monkeypatch, tenant_a):
    """A concurrent writer takes the sub-domain between the checks and the insert: 400, not 500."""
    checks = services.tenant_create_check

    def check_then_lose_the_race(**kwargs):
        cleaned = checks(**kwargs)
        if not Domain.objects.filter(domain="gamma.localhost").exists():
            Domain.objects.create(domain="gamma.localhost", tenant=tenant_a)
        return cleaned

    monkeypatch.setattr(services, "tenant_create_check", check_then_lose_the_race)
    with pytest.raises(ValidationError) as refused:
        create()
    assert refused.value.message_dict == {"slug": ["Its sub-domain gamma.localhost is already in use."]}
    assert not Tenant.objects.filter(slug="gamma").exists()
    assert not schema_exists("t_gamma")


def test_create_check_reports_every_field_and_writes_nothing():
    with pytest.raises(ValidationError) as refused:
        services.tenant_create_check(
            slug="Bad", plan="gold", owner_email="nope", owner_password="a", domains=["x.localhost"]
        )
    assert set(refused.value.message_dict) == {"slug", "plan", "owner_email", "owner_password", "domains"}
    assert not Tenant.objects.filter(slug="Bad").exists()
