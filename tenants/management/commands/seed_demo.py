"""Creates the demo tenant `acme` (its owner and sandbox services) and the platform admin when
missing; safe to run again."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.models import Role, User
from accounts.services import user_create
from integrations.service_names import SERVICES
from integrations.services import integration_settings_ensure, integration_settings_update
from tenants.models import Plan, Tenant
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Creates the demo tenant, its owner and the platform admin if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        with schema_context(get_public_schema_name()):
            if not User.objects.filter(email=settings.DEMO_ADMIN_EMAIL).exists():
                user_create(
                    email=settings.DEMO_ADMIN_EMAIL,
                    password=settings.DEMO_ADMIN_PASSWORD,
                    role=Role.PLATFORM_ADMIN,
                    first_name="Platform",
                    last_name="Admin",
                )
                self.stdout.write("Created platform admin.")
        if not Tenant.objects.filter(slug=settings.DEMO_TENANT_SLUG).exists():
            tenant_create(
                slug=settings.DEMO_TENANT_SLUG,
                name="Acme Inc.",
                plan=Plan.PRO,
                owner_email=settings.DEMO_OWNER_EMAIL,
                owner_password=settings.DEMO_OWNER_PASSWORD,
            )
            self.stdout.write("Created demo tenant acme.")
        self._point_integrations_at_sandbox()
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))

    def _point_integrations_at_sandbox(self) -> None:
        """The demo tenant's three services are the sandbox (`run_sandbox`), unless set otherwise."""

        tenant = Tenant.objects.get(slug=settings.DEMO_TENANT_SLUG)
        with schema_context(tenant.schema_name):
            for service in SERVICES:
                if integration_settings_ensure(service=service).base_url:
                    continue
                integration_settings_update(
                    service=service,
                    enabled=True,
                    base_url=f"{settings.SANDBOX_URL.rstrip('/')}/{service}",
                    api_key=f"demo-{service}-key",
                )
                self.stdout.write(f"Pointed acme's {service} at the sandbox.")
