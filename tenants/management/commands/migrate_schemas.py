"""`migrate_schemas`, which migrates only tenants that have a schema and also keeps the tenant
template schema (the source of new tenants) current.

It connects as the owner role (MIGRATION_DATABASE_URL) whatever DATABASE_URL says, and leaves every
schema it migrated with the app role's privileges (tenants.roles).
"""

from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import GET_EXECUTOR_FUNCTION, MigrateSchemasCommand
from django_tenants.utils import get_public_schema_name, quote_schema_name, schema_exists

from tenants.roles import connected_as_owner, schema_grant_app
from tenants.selectors import tenant_with_schema_list
from tenants.template import snapshot_template


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        with connected_as_owner():
            for schema_name in self._migrate(args, options):
                schema_grant_app(schema_name=schema_name)

    def _migrate(self, args: tuple[Any, ...], options: dict[str, Any]) -> list[str]:
        """Migrates what the options ask for; returns the schemas it migrated."""
        if options.get("schema_name"):
            super().handle(*args, **options)  # one named schema: django-tenants' own checks
            return [options["schema_name"]]
        migrated = []
        tenant, shared = options.get("tenant"), options.get("shared")
        if shared or not tenant:
            super().handle(*args, **{**options, "shared": True, "tenant": False})
            migrated.append(get_public_schema_name())
        if tenant or not shared:
            # django-tenants migrates every Tenant row; a purged tenant keeps its row but has no
            # schema, and migrating it would die on MigrationSchemaMissing.

            schemas = list(tenant_with_schema_list().values_list("schema_name", flat=True))
            executor = GET_EXECUTOR_FUNCTION(codename=options.get("executor"))(args, options)
            executor.run_migrations(tenants=list(schemas))
            self._migrate_template(args, options)
            migrated += [*schemas, settings.TENANT_BASE_SCHEMA]
        return migrated

    def _migrate_template(self, args: tuple[Any, ...], options: dict[str, Any]) -> None:
        template = settings.TENANT_BASE_SCHEMA
        connection.set_schema_to_public()
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {quote_schema_name(template)}")
        GET_EXECUTOR_FUNCTION(codename="standard")(args, options).run_migrations(tenants=[template])
        connection.set_schema_to_public()

        snapshot_template()  # new tenants are copies of the template as migrated now
