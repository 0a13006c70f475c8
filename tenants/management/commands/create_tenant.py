"""`create_tenant --slug acme --name Acme --owner-email ...`, through the provisioning service."""

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Plan
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Creates a tenant: schema, <slug>.<SAAS_BASE_DOMAIN> domain and owner, all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--plan", choices=Plan.values, default=Plan.FREE)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", help="Prompted for when left out.")
        parser.add_argument("--domain", action="append", default=[], help="Extra domain (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["owner_password"] or getpass.getpass("Owner password: ")
        try:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                plan=options["plan"],
                owner_email=options["owner_email"],
                owner_password=password,
                domains=options["domain"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} (schema {tenant.schema_name})"))
