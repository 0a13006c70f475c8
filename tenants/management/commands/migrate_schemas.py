"""`migrate_schemas`, which also keeps the tenant template schema (the source of new tenants) current."""

from typing import Any

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import quote_schema_name, schema_exists


class Command(MigrateSchemasCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if self.sync_tenant and not options.get("schema_name"):
            self._migrate_template()

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
