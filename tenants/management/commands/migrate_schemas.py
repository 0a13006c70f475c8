"""`migrate_schemas`, which migrates only the schemas that are behind (tenants.migrating), skips
tenants without a schema (purged) and also keeps the tenant template schema (the source of new
tenants) current.

A deploy with nothing to apply costs a few queries, whatever the number of tenants. Schemas that
are behind are migrated in parallel (`--processes`, TENANT_MIGRATION_PROCESSES), reported as
"[n/N] schema: migrated | FAILED"; a failed schema does not stop the others, the failures are
named at the end and the command then exits non-zero; a rerun migrates what is still behind.
A target (`app_label migration_name`), `--fake`, `--plan`, `--check`, `--prune` or
`--every-schema` runs in every schema, as django-tenants does.

It connects as the owner role (MIGRATION_DATABASE_URL) whatever DATABASE_URL says, and leaves every
schema it migrated with the app role's privileges (tenants.roles).
"""

import time
from typing import Any

from django.conf import settings
from django.core.management import CommandError
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import get_public_schema_name, quote_schema_name, schema_exists

from saas.typing import connection
from tenants.migrating import Outcome, migration_processes, schemas_behind, schemas_migrate
from tenants.roles import connected_as_owner, schema_grant_app
from tenants.selectors import tenant_with_schema_list
from tenants.template import snapshot_is_current, snapshot_template

# Options that ask for something else than "bring every schema to the code's migrations".
_EVERY_SCHEMA_OPTIONS = (
    "app_label",
    "fake",
    "fake_initial",
    "plan",
    "check_unapplied",
    "prune",
    "run_syncdb",
)


class Command(MigrateSchemasCommand):
    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Schemas migrated at once (default TENANT_MIGRATION_PROCESSES: PostgreSQL's cores).",
        )
        parser.add_argument(
            "--every-schema",
            action="store_true",
            help="Run migrate in every schema, also those whose applied migrations are current.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with connected_as_owner():
            if options.get("schema_name"):
                super().handle(*args, **options)  # one named schema: django-tenants' own checks
                schema_grant_app(schema_name=options["schema_name"])
                return
            self._migrate(args, options)

    def _migrate(self, args: tuple[Any, ...], options: dict[str, Any]) -> None:
        started = time.monotonic()
        every = options.get("every_schema") or any(options.get(key) for key in _EVERY_SCHEMA_OPTIONS)
        tenant, shared = options.get("tenant"), options.get("shared")
        public = get_public_schema_name()
        if (shared or not tenant) and (every or schemas_behind([public])):
            super().handle(*args, **{**options, "shared": True, "tenant": False})
            schema_grant_app(schema_name=public)
        if shared and not tenant:
            return
        # django-tenants migrates every Tenant row; a purged tenant keeps its row but has no
        # schema, and migrating it would die on MigrationSchemaMissing.

        template = settings.TENANT_BASE_SCHEMA
        self._ensure_schema(template)
        schemas = [*tenant_with_schema_list().values_list("schema_name", flat=True), template]
        behind = list(schemas) if every else schemas_behind(schemas)
        processes = options.get("processes") or migration_processes()
        verbose = int(options.get("verbosity", 1)) >= 1
        if verbose:
            self.stdout.write(
                f"{len(behind)} of {len(schemas)} schemas to migrate"
                + (f", {min(processes, len(behind))} at a time" if behind else "")
            )
        failures = schemas_migrate(
            behind, args=args, options=options, processes=processes, report=self._reporter(verbose)
        )
        connection.set_schema_to_public()

        failed = {outcome.schema for outcome in failures}
        if template not in failed and (template in behind or not snapshot_is_current()):
            snapshot_template()  # new tenants are copies of the template as migrated now
        if verbose:
            self.stdout.write(f"done in {time.monotonic() - started:.1f} s")
        if failures:
            names = "\n".join(f"  {outcome.schema}: {outcome.error}" for outcome in failures)
            raise CommandError(
                f"{len(failures)} of {len(behind)} schemas failed (the others are migrated; "
                f"run migrate_schemas again once fixed):\n{names}"
            )

    def _reporter(self, verbose: bool) -> Any:
        def report(n: int, count: int, outcome: Outcome) -> None:
            if outcome.error:
                self.stderr.write(f"[{n}/{count}] {outcome.schema}: FAILED {outcome.error}")
            elif verbose:
                self.stdout.write(f"[{n}/{count}] {outcome.schema}: migrated")

        return report

    @staticmethod
    def _ensure_schema(schema: str) -> None:
        connection.set_schema_to_public()
        if not schema_exists(schema):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {quote_schema_name(schema)}")
