"""`python manage.py sync_users --tenant SLUG`: reconcile a tenant's users with the user service."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from integrations.errors import CircuitOpenError, PermanentError, RetryableError
from integrations.sync import SyncNotConfigured, users_sync
from tenants.models import Tenant
from tenants.selectors import tenant_with_schema_get


class Command(BaseCommand):
    help = "Pages through the user service and creates, updates and deactivates the tenant's synced users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--page-size", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_with_schema_get(slug=options["tenant"])
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant {options['tenant']!r} (or it was purged).") from None
        columns = (
            TextColumn("[bold]sync users"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages, {task.fields[seen]} users"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=None, transient=False) as bar, schema_context(tenant.schema_name):
            task = bar.add_task("sync", total=None, seen=0)

            def progress(page: int, pages: int, seen: int) -> None:
                bar.update(task, completed=page, total=pages, seen=seen)

            try:
                run = users_sync(page_size=options["page_size"], progress=progress)
            except SyncNotConfigured as exc:
                raise CommandError(str(exc)) from exc
            except (RetryableError, CircuitOpenError, PermanentError) as exc:
                raise CommandError(
                    f"The user service failed ({exc}); nobody was deactivated. Run again to resume."
                ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Synced {tenant.slug}: {run.created} created, {run.updated} updated, "
                f"{run.deactivated} deactivated, {run.unchanged} unchanged."
            )
        )
