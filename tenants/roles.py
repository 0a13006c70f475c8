"""The two database roles: the owner migrates, the app role serves requests and runs tasks.

The owner role (MIGRATION_DATABASE_URL) owns every schema, table, sequence and function. The app
role (DATABASE_URL) owns nothing: it reads and writes rows as `public.saas_grant_app` allows it
(tenants migration 0004), which `migrate_schemas` applies to every schema it migrates. Not being an
owner or a superuser, the app role cannot disable, drop or bypass the audit trail's triggers, and
it holds no UPDATE, DELETE or TRUNCATE on the trail at all. It creates and drops tenant schemas
only through the owner's SECURITY DEFINER functions `saas_tenant_schema_create/_drop`.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

_CONNECTION_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT")


def uses_two_roles() -> bool:
    """True when the app role and the owner role differ (False: one role does everything, as before)."""
    app, owner = settings.DATABASE_APP_ROLE, settings.MIGRATION_DATABASE["USER"]
    return bool(app) and app != owner


@contextmanager
def connected_as_owner() -> Iterator[None]:
    """Runs the block on the default connection as the owner role, then reconnects as before.

    Nothing changes when the connection already is the owner's. Switching closes the connection,
    so it cannot happen inside a transaction.
    """
    owner = settings.MIGRATION_DATABASE
    if connection.settings_dict.get("USER") == owner["USER"]:
        yield
        return
    if connection.in_atomic_block:
        raise RuntimeError(
            "cannot connect as the owner role (MIGRATION_DATABASE_URL) inside a transaction: "
            "run migrate_schemas outside one (in tests: `committed_db`, or a subprocess)"
        )
    before = {key: connection.settings_dict.get(key) for key in _CONNECTION_KEYS}
    connection.close()
    connection.settings_dict.update({key: owner[key] for key in _CONNECTION_KEYS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(before)


def schema_grant_app(*, schema_name: str) -> None:
    """Applies the app role's privileges to one schema (a schema that does not exist is skipped)."""
    if not uses_two_roles():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.saas_grant_app(%s, %s)", [schema_name, settings.DATABASE_APP_ROLE])


def can_create_schemas() -> bool:
    """True when the connected role may create schemas (the owner, a superuser), False for the app role."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_database_privilege(current_database(), 'CREATE')")
        return bool(cursor.fetchone()[0])
