"""`migrate_schemas`, which also keeps the tenant template schema (the source of new tenants) current.

It connects as the owner role (MIGRATION_DATABASE_URL) whatever DATABASE_URL says, and leaves every
schema it migrated with the app role's privileges (tenants.roles).
"""

from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name, get_tenant_model, quote_schema_name, schema_exists

from tenants.roles import connected_as_owner, schema_grant_app


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        with connected_as_owner():
            super().handle(*args, **options)
            if self.sync_tenant and not options.get("schema_name"):
                self._migrate_template()
            for schema_name in self._migrated_schemas(options.get("schema_name")):
                schema_grant_app(schema_name=schema_name)

    def _migrate_template(self) -> None:
        template = settings.TENANT_BASE_SCHEMA
        connection.set_schema_to_public()
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {quote_schema_name(template)}")
        get_executor(codename="standard")(self.args, self.options).run_migrations(tenants=[template])
        connection.set_schema_to_public()
        from tenants.template import snapshot_template

        snapshot_template()  # new tenants are copies of the template as migrated now

    def _migrated_schemas(self, schema_name: str | None) -> list[str]:
        public = get_public_schema_name()
        if schema_name:
            return [schema_name]
        schemas = [public] if self.sync_public else []
        if self.sync_tenant:
            tenants = get_tenant_model().objects.exclude(schema_name=public)
            schemas += [*tenants.values_list("schema_name", flat=True), settings.TENANT_BASE_SCHEMA]
        return schemas
