"""The app role (DATABASE_URL) cannot rewrite the audit trail; the owner role migrates (tenants/roles.py).

The whole suite runs as the app role (tests/conftest.py `django_db_setup`); these tests check that
the statements that used to empty the trail are refused to it, in the public schema and in a
tenant's, and that what the app role must still do (create and purge tenants) works.
"""

import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django_tenants.signals import schema_migrated
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from audit.models import AuditEntry
from tenants.models import Tenant
from tenants.roles import connected_as_owner
from tenants.services import tenant_delete
from tests.conftest import owner_cursor
from tests.factories import make_tenant
from tests.tenants.test_provisioning import _structure, template_behind

INSUFFICIENT_PRIVILEGE = "42501"

# Each of these emptied or could empty the trail while the application connected as a superuser.
REFUSED = [
    "SET session_replication_role = replica",
    "SET LOCAL session_replication_role = replica",
    "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only",
    "ALTER TABLE audit_auditentry DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_entry_append_only ON audit_auditentry",
    "DROP TRIGGER audit_entry_no_truncate ON audit_auditentry",
    "DELETE FROM audit_auditentry",
    "UPDATE audit_auditentry SET actor = 'someone-else'",
    "TRUNCATE audit_auditentry",
    "DELETE FROM audit_chainhead",
    "TRUNCATE audit_chainhead",
    "DROP TABLE audit_auditentry",
    "ALTER TABLE audit_auditentry OWNER TO CURRENT_USER",
    "ALTER TABLE accounts_user OWNER TO CURRENT_USER",
    "CREATE TABLE intruder (id int)",
    "CREATE SCHEMA t_intruder",
    "CREATE FUNCTION intruder() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
    "UPDATE public.tenants_templatesnapshot SET sql = 'SELECT 1'",
    "INSERT INTO django_migrations (app, name, applied) VALUES ('audit', '9999_skipped', now())",
    "INSERT INTO tenant_template.accounts_user DEFAULT VALUES",  # every new tenant would copy it
    "SELECT public.saas_grant_app('public', current_user)",
]


def _schema(which: str, tenant: Tenant) -> str:
    return "public" if which == "public" else tenant.schema_name


def _trail(schema: str) -> tuple[int, int]:
    with schema_context(schema):
        return AuditEntry.objects.count(), AuditEntry.objects.order_by("-seq").values_list("seq", flat=True)[
            0
        ]


def _refused(*statements: str) -> DatabaseError:
    """Runs the statements in a savepoint; returns the database's refusal."""

    def run() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    with pytest.raises(DatabaseError) as refused:
        run()
    return refused.value


def _enabled_triggers(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = %s::regnamespace AND t.tgname LIKE 'audit_%%' AND t.tgenabled = 'O'",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_the_suite_runs_as_an_app_role_that_owns_nothing():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = current_user"
        )
        user, superuser, createrole, createdb = cursor.fetchone()
        cursor.execute(
            "WITH me AS (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            " SELECT (SELECT count(*) FROM pg_namespace, me WHERE nspowner = me.oid)"
            " + (SELECT count(*) FROM pg_class, me WHERE relowner = me.oid)"
            " + (SELECT count(*) FROM pg_proc, me WHERE proowner = me.oid)"
        )
        owned = cursor.fetchone()[0]
        cursor.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        database_owner = cursor.fetchone()[0]
    assert user == settings.DATABASE_APP_ROLE != settings.MIGRATION_DATABASE["USER"]
    assert (superuser, createrole, createdb) == (False, False, False)
    assert owned == 0
    assert database_owner == settings.MIGRATION_DATABASE["USER"]


@pytest.mark.django_db
@pytest.mark.parametrize("sql", REFUSED)
@pytest.mark.parametrize("which", ["public", "tenant"])
def test_the_app_role_cannot_touch_the_trail(tenant_a, make_user, sql, which):
    make_user(tenant_a)  # the tenant's trail has entries of its own
    schema = _schema(which, tenant_a)
    before, triggers = _trail(schema), _enabled_triggers(schema)
    with schema_context(schema):
        refused = _refused(sql, "DELETE FROM audit_auditentry")  # what each of them was for
    assert isinstance(refused.__cause__, psycopg.Error)
    assert refused.__cause__.sqlstate == INSUFFICIENT_PRIVILEGE, refused
    assert _trail(schema) == before
    assert (
        _enabled_triggers(schema)
        == triggers
        == {
            "audit_entry_append_only",
            "audit_entry_no_truncate",
            "audit_head_keep",
            "audit_head_no_truncate",
        }
    )


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["public", "tenant"])
def test_the_app_role_keeps_what_it_needs(tenant_a, make_user, which):
    """Appending to the trail (and moving the chain head) is all the app role does with it."""
    schema = _schema(which, tenant_a)
    count, seq = _trail(schema)
    make_user(tenant_a if which == "tenant" else None)
    assert _trail(schema) == (count + 1, seq + 1)
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege('audit_auditentry', 'INSERT'),"
            " has_table_privilege('audit_chainhead', 'UPDATE'),"
            " has_table_privilege('accounts_user', 'DELETE'),"
            " has_table_privilege('accounts_user', 'TRUNCATE'),"
            " has_schema_privilege(%s, 'CREATE')",
            [schema],
        )
        assert cursor.fetchone() == (True, True, True, False, False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "call",
    [
        "saas_tenant_schema_create('public')",
        "saas_tenant_schema_create('tenant_template')",
        "saas_tenant_schema_create('t_x; DROP SCHEMA public CASCADE')",
        "saas_tenant_schema_create('pg_catalog')",
        "saas_tenant_schema_drop('public')",
        "saas_tenant_schema_drop('tenant_template')",
        "saas_tenant_schema_drop('audit')",
    ],
)
def test_the_schema_functions_only_take_tenant_schemas(call):
    assert "not a tenant schema name" in str(_refused(f"SELECT public.{call}"))
    assert schema_exists("public")
    assert schema_exists(settings.TENANT_BASE_SCHEMA)


@pytest.mark.django_db
def test_tenant_create_and_purge_work_as_the_app_role(tenant_a):
    """The new schema is the owner's, like alpha's, with the same privileges for the app role."""
    tenant = make_tenant("gamma")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace"
            " WHERE nspname IN (%s, %s)",
            [tenant.schema_name, tenant_a.schema_name],
        )
        schemas = {name: (owner, acl) for name, owner, acl in cursor.fetchall()}
        cursor.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = %s::regnamespace",
            [tenant.schema_name],
        )
        table_owners = {row[0] for row in cursor.fetchall()}
    assert schemas[tenant.schema_name] == schemas[tenant_a.schema_name]
    assert schemas[tenant.schema_name][0] == settings.MIGRATION_DATABASE["USER"]
    assert table_owners == {settings.MIGRATION_DATABASE["USER"]}
    with schema_context(tenant.schema_name):
        assert User.objects.get().email == "owner@gamma.test"
        assert AuditEntry.objects.count() >= 1
        assert _refused("DELETE FROM audit_auditentry").__cause__.sqlstate == INSUFFICIENT_PRIVILEGE
    tenant_delete(tenant=tenant, purge=True)
    assert not schema_exists(tenant.schema_name)
    assert schema_exists(tenant_a.schema_name)


@pytest.mark.django_db
def test_the_owner_role_still_meets_the_triggers(tenant_a):
    """The triggers stay as a second line: even the owner's DELETE on the trail is refused."""
    with owner_cursor(tenant_a.schema_name) as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditentry")
        assert cursor.fetchone()[0] >= 1
        with pytest.raises(psycopg.Error, match="append-only"):
            cursor.execute("DELETE FROM audit_auditentry")
        cursor.connection.rollback()


def test_migrate_schemas_connects_as_the_owner_and_hands_back_the_app_role(committed_db, tenant_a):
    """`migrate_schemas` in the app role's process migrates as the owner, then grants the app role."""
    seen: list[str] = []

    def record(**kwargs) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            seen.append(cursor.fetchone()[0])

    schema_migrated.connect(record)
    try:
        call_command("migrate_schemas", "--tenant", "--schema", tenant_a.schema_name, verbosity=0)
    finally:
        schema_migrated.disconnect(record)
    assert seen == [settings.MIGRATION_DATABASE["USER"]]
    with schema_context(tenant_a.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, has_table_privilege('accounts_user', 'SELECT')")
        assert cursor.fetchone() == (settings.DATABASE_APP_ROLE, True)


def test_stale_template_falls_back_to_migrations_as_the_owner(monkeypatch, committed_db):
    """Connected as the owner (a management command), creation runs the migrations instead."""
    template_behind(monkeypatch)
    with connected_as_owner():
        tenant = make_tenant(f"delta{uuid.uuid4().hex[:8]}")
        try:
            with schema_context(tenant.schema_name):
                assert User.objects.count() == 1
            assert _structure(tenant.schema_name) == _structure(settings.TENANT_BASE_SCHEMA)
        except BaseException:
            tenant_delete(tenant=tenant, purge=True)
            Tenant.objects.filter(pk=tenant.pk).delete()
            raise
    # Made by migrations as the owner, the schema still gives the app role its privileges.
    with schema_context(tenant.schema_name):
        assert User.objects.get().email.startswith("owner@delta")
    tenant_delete(tenant=tenant, purge=True)
    Tenant.objects.filter(pk=tenant.pk).delete()
