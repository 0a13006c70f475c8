"""`python manage.py run_sandbox --port 8100`: the three external services, in memory, for the demo."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django_tenants.utils import schema_context

from integrations.sandbox import Account, Sandbox
from integrations.selectors import integration_settings_get, signing_secrets
from integrations.service_names import SERVICES
from tenants.selectors import tenant_with_schema_list


class TenantAccounts:
    """Finds where the communication service posts `message.*` webhooks, from the platform's DB.

    A real provider is configured with a webhook URL and secret per account; here the sandbox
    reads them from the listed tenants' communication-service settings (the API key picks the
    tenant; the newest signing secret signs), so rotating a secret needs no restart.
    """

    def __init__(self, slugs: list[str], platform_url: str) -> None:
        self.slugs, self.platform_url = slugs, platform_url.rstrip("/")
        self.cache: dict[str, tuple[float, Account | None]] = {}

    def __call__(self, api_key: str) -> Account | None:
        hit = self.cache.get(api_key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        close_old_connections()
        account = self._lookup(api_key)
        self.cache[api_key] = (time.monotonic() + 5, account)
        return account

    def _lookup(self, api_key: str) -> Account | None:
        for tenant in tenant_with_schema_list().filter(slug__in=self.slugs):
            with schema_context(tenant.schema_name):
                endpoint = integration_settings_get(service="communication-service")
                if endpoint is None:
                    continue
                key = endpoint.api_key_value() or ""
                secrets = signing_secrets(service="communication-service")
                if secrets and (key == api_key or len(self.slugs) == 1):
                    return Account(
                        webhook_url=(
                            f"{self.platform_url}/api/v1/tenants/{tenant.slug}"
                            "/webhooks/communication-service/"
                        ),
                        secret=secrets[0],
                    )
        return None


class Command(BaseCommand):
    help = "Runs the user, payment and communication services as one in-memory HTTP server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--users", type=int, default=25, help="users seeded in the user service")
        parser.add_argument(
            "--tenant",
            action="append",
            dest="tenants",
            help="tenant whose message webhooks this sandbox delivers (repeatable; default: the demo)",
        )
        parser.add_argument("--platform-url", default="http://127.0.0.1:8000")
        parser.add_argument("--delivery-delay", type=float, default=1.0, help="seconds between steps")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = options["tenants"] or [settings.DEMO_TENANT_SLUG]
        sandbox = Sandbox(
            host=options["host"],
            port=options["port"],
            seed_users=options["users"],
            delivery_delay=options["delivery_delay"],
            account_resolver=TenantAccounts(tenants, options["platform_url"]),
        )
        self.stdout.write(
            f"Sandbox on {sandbox.url}: {', '.join('/' + s for s in SERVICES)} "
            f"(faults: POST {sandbox.url}/_faults, state: GET {sandbox.url}/_state); "
            f"message webhooks -> {options['platform_url']} for {', '.join(tenants)}"
        )
        try:
            sandbox.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop()
