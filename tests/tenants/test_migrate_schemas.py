"""`migrate_schemas` migrates only the schemas that are behind; a failure stops no other (issue 15, 2)."""

import io
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import get_public_schema_name

from tenants.migrating import migrations_on_disk, schemas_behind
from tenants.models import Tenant
from tests.conftest import ROOT, owner_cursor, subprocess_env

# The newest accounts migration: unapplied properly (behind) or only forgotten (re-applying fails).
LATEST, BEFORE = "0003_invitations_token_generation", "0002_sso_providers"
# LATEST and what depends on it (state moves only, which re-apply cleanly): forgotten together.
FORGOTTEN = [("accounts", LATEST), ("accounts", "0004_sso_models_to_their_own_app"), ("sso", "0001_initial")]


def _migrate(**options: object) -> str:
    out = io.StringIO()
    call_command("migrate_schemas", interactive=False, verbosity=1, stdout=out, stderr=out, **options)
    return out.getvalue()


def _unapply(tenant: Tenant) -> None:
    """Takes the tenant's schema back one accounts migration, as a deploy of older code would."""
    call_command(
        "migrate_schemas", "accounts", BEFORE, schema_name=tenant.schema_name, interactive=False, verbosity=0
    )
    connection.set_schema_to_public()


def _forget(tenant: Tenant) -> None:
    """Deletes the record of the latest migration but keeps its tables: applying it again fails."""
    with owner_cursor(tenant.schema_name) as cursor:
        for app, name in FORGOTTEN:
            cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", [app, name])


def _remember(tenant: Tenant) -> None:
    with owner_cursor(tenant.schema_name) as cursor:
        for app, name in FORGOTTEN:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())", [app, name]
            )


@pytest.fixture
def second_tenant(fresh_tenant: Tenant, django_db_blocker: object) -> Iterator[Tenant]:
    from tests.factories import make_tenant

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        other = make_tenant(f"{fresh_tenant.slug}x")
    yield other
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        from tenants.services import tenant_delete

        connection.set_schema_to_public()
        tenant_delete(tenant=other, purge=True)
        Tenant.objects.filter(pk=other.pk).delete()


def test_an_up_to_date_deploy_migrates_no_schema(committed_db, tenant_a, fresh_tenant):
    out = _migrate(processes=1)
    assert "0 of " in out
    assert "migrated" not in out
    assert schemas_behind([get_public_schema_name(), tenant_a.schema_name, settings.TENANT_BASE_SCHEMA]) == []


def test_only_the_schema_that_is_behind_is_migrated(committed_db, tenant_a, fresh_tenant):
    _unapply(fresh_tenant)
    assert schemas_behind([tenant_a.schema_name, fresh_tenant.schema_name]) == [fresh_tenant.schema_name]

    out = _migrate(processes=1)

    assert "1 of " in out
    assert f"[1/1] {fresh_tenant.schema_name}: migrated" in out
    assert tenant_a.schema_name not in out  # up to date: not run at all
    assert schemas_behind([fresh_tenant.schema_name]) == []
    with owner_cursor(fresh_tenant.schema_name) as cursor:  # the migration really ran
        cursor.execute("SELECT to_regclass('accounts_invitation') IS NOT NULL")
        assert cursor.fetchone()[0]


def test_a_failing_schema_is_named_and_stops_no_other(committed_db, tenant_a, fresh_tenant, second_tenant):
    _forget(fresh_tenant)  # will fail: its tables exist
    _unapply(second_tenant)  # will succeed

    with pytest.raises(CommandError) as failed:
        _migrate(processes=1)

    assert f"{fresh_tenant.schema_name}: ProgrammingError" in str(failed.value)
    assert "1 of 2 schemas failed" in str(failed.value)
    assert schemas_behind([fresh_tenant.schema_name, second_tenant.schema_name, tenant_a.schema_name]) == [
        fresh_tenant.schema_name
    ]

    _remember(fresh_tenant)  # the operator fixes it; the rerun finishes the rest
    assert "0 of " in _migrate(processes=1)


def test_the_parallel_run_reports_progress_and_fails_at_the_end(committed_db, fresh_tenant, second_tenant):
    """The real command in its own process, two schemas at a time: exit code 1, failure named."""
    _forget(fresh_tenant)
    _unapply(second_tenant)
    command = [sys.executable, "manage.py", "migrate_schemas", "--noinput", "--processes", "2"]
    done = subprocess.run(
        command, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 of " in done.stdout
    assert "2 at a time" in done.stdout
    assert f"{second_tenant.schema_name}: migrated" in done.stdout
    assert f"{fresh_tenant.schema_name}: FAILED" in done.stderr
    assert "1 of 2 schemas failed" in done.stderr
    assert schemas_behind([second_tenant.schema_name]) == []
    _remember(fresh_tenant)


def test_a_schema_without_a_migration_table_is_behind(committed_db):
    with owner_cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS t_empty_h15")
    try:
        assert schemas_behind(["t_empty_h15"]) == ["t_empty_h15"]
    finally:
        with owner_cursor() as cursor:
            cursor.execute("DROP SCHEMA t_empty_h15")


def test_every_schema_still_runs_with_a_target(committed_db, tenant_a, fresh_tenant):
    out = _migrate(processes=1, every_schema=True)
    assert f"{tenant_a.schema_name}: migrated" in out
    assert f"{fresh_tenant.schema_name}: migrated" in out


def test_the_expected_set_is_every_migration_on_disk():
    assert ("accounts", LATEST) in migrations_on_disk()
    assert ("tenants", "0001_initial") in migrations_on_disk()


@pytest.mark.parametrize("schema", ["public", "tenant"])
def test_the_table_list_of_one_schema_is_djangos(db, tenant_a, schema):
    """saas.db reads one schema's relations through pg_depend; the answer is django-tenants' own."""
    from django_tenants.postgresql_backend.introspection import DatabaseSchemaIntrospection

    connection.set_schema(tenant_a.schema_name) if schema == "tenant" else connection.set_schema_to_public()
    with connection.cursor() as cursor:
        ours = sorted(connection.introspection.get_table_list(cursor))
        theirs = sorted(DatabaseSchemaIntrospection(connection).get_table_list(cursor))
    assert ours == theirs
    assert ("django_migrations", "t", None) in [(t.name, t.type, t.comment) for t in ours]
