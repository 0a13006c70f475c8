"""`verify_audit [--tenant SLUG]`: checks the hash chain of the platform's and every tenant's trail
(or one tenant's), names the first broken entry, and exits non-zero when any chain is broken."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, schema_context

from audit.selectors import ChainReport, chain_verify
from tenants.models import Tenant
from tenants.selectors import tenant_with_schema_get, tenant_with_schema_list


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chains (public schema and tenants)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant's trail (its slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options.get("tenant")
        if slug:
            try:
                schemas = [tenant_with_schema_get(slug=slug).schema_name]
            except Tenant.DoesNotExist:
                purged = Tenant.objects.filter(slug=slug, purged_at__isnull=False).first()
                if purged is not None:
                    when = f"{purged.purged_at:%Y-%m-%d}"
                    raise CommandError(f"{slug!r} was purged on {when}: its trail is gone.") from None
                raise CommandError(f"No tenant schema for {slug!r}.") from None
        else:
            tenants = tenant_with_schema_list().values_list("schema_name", flat=True)
            schemas = [get_public_schema_name(), *tenants]

        broken: list[ChainReport] = []
        for schema in schemas:
            with schema_context(schema):
                report = chain_verify()
            if report.ok:
                self.stdout.write(
                    f"{schema}: OK, {report.checked} entries, head seq {report.head_seq} "
                    f"{report.head_hash[:16]}"
                )
            else:
                broken.append(report)
                self.stderr.write(f"{schema}: BROKEN after {report.checked} good entries: {report.problem}")
        if broken:
            raise CommandError(f"audit chain broken in {', '.join(r.schema for r in broken)}")
