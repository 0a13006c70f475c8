"""Which tables each schema holds: the SSO tables in tenant schemas only, django-auditlog's own
table nowhere (its LogEntry is swapped for audit.AuditEntry); a database migrated before these
rules loses the old copies on its next `migrate_schemas`."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.conftest import owner_cursor

SSO_TABLES = ("accounts_oidcprovider", "accounts_samlprovider", "accounts_ssoidentity")
RULES = (  # the migrations that made these rules, forgotten to stand for a database made before them
    ("audit", "0003_drop_auditlog_logentry"),
    ("accounts", "0004_sso_models_to_their_own_app"),
    ("sso", "0001_initial"),
)


def schemas_with(table: str) -> set[str]:
    with connection.cursor() as cursor:  # pg_class: visible whatever the role's privileges
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND c.relname = %s",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def tenant_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
        return {row[0] for row in cursor.fetchall()} | {settings.TENANT_BASE_SCHEMA}


@pytest.mark.django_db
def test_sso_tables_are_in_tenant_schemas_only_and_auditlogs_own_table_nowhere(tenant_a, tenant_b):
    for table in SSO_TABLES:
        assert schemas_with(table) == tenant_schemas(), table
        assert "public" not in schemas_with(table)
    assert schemas_with("auditlog_logentry") == set()


def test_migrate_schemas_drops_the_copies_a_database_migrated_before_still_has(committed_db, fresh_tenant):
    schema = fresh_tenant.schema_name
    forget = "DELETE FROM django_migrations WHERE app = %s AND name = %s"
    with owner_cursor(schema) as cursor:  # the tenant as it was: auditlog's table, rules not applied
        cursor.execute("CREATE TABLE auditlog_logentry (id bigserial PRIMARY KEY)")
        for rule in RULES:
            cursor.execute(forget, rule)
    with owner_cursor("public") as cursor:  # public as it was: empty SSO copies and auditlog's table
        for table in (*SSO_TABLES, "auditlog_logentry"):
            cursor.execute(f"CREATE TABLE public.{table} (LIKE {schema}.{table})")
        for rule in RULES:
            cursor.execute(forget, rule)
    try:
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        call_command("migrate_schemas", "--tenant", "--schema", schema, interactive=False, verbosity=0)
        assert schemas_with("auditlog_logentry") & {"public", schema} == set()
        for table in SSO_TABLES:
            assert "public" not in schemas_with(table)
            assert schema in schemas_with(table)  # the tenant's own rows stay where they were
    finally:
        with owner_cursor("public") as cursor:
            for table in (*SSO_TABLES, "auditlog_logentry"):
                cursor.execute(f"DROP TABLE IF EXISTS public.{table}")
