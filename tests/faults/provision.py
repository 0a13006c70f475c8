"""Sets up one tenant for a fault test, run as a subprocess on the test's private servers.

`python -m tests.faults.provision SLUG [--base-url URL]` (DJANGO_SETTINGS_MODULE, DATABASE_URL and
MIGRATION_DATABASE_URL from the environment) creates the tenant through the provisioning service with
an unlimited request budget, rotates a signing secret for every service (the only way a secret is
shown), points the services at `URL/<service>` when given, creates the `test_side_effects` table the
`test.count` handler appends to (as the owner role: the app role may not create tables), and prints
`PROVISIONED {"slug", "schema", "secrets": {service: secret}}` (JSON) as its last line.
"""

import argparse
import json

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("slug")
    parser.add_argument("--base-url", default="")
    args = parser.parse_args()
    django.setup()

    from django.db import connection
    from django_tenants.utils import schema_context

    from integrations.models import Service
    from integrations.services import integration_settings_update, secret_rotate
    from tenants.roles import connected_as_owner, schema_grant_app
    from tenants.services import tenant_create

    tenant = tenant_create(
        slug=args.slug,
        name=args.slug.title(),
        owner_email=f"owner@{args.slug}.test",
        owner_password="correct-horse-battery-staple",
        rate_limit_per_minute=10_000_000,  # the faults, not the budget, are under test
    )
    secrets = {}
    with schema_context(tenant.schema_name):
        for service in Service.values:
            secrets[service] = secret_rotate(service=service)
            if args.base_url:
                integration_settings_update(
                    service=service, enabled=True, base_url=f"{args.base_url}/{service}"
                )
        with connected_as_owner():
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TABLE test_side_effects (id bigserial PRIMARY KEY, event_id text NOT NULL,"
                    " attempt int NOT NULL, pid int NOT NULL, at timestamptz NOT NULL DEFAULT now())"
                )
            schema_grant_app(schema_name=tenant.schema_name)
    print(
        "PROVISIONED " + json.dumps({"slug": tenant.slug, "schema": tenant.schema_name, "secrets": secrets})
    )


if __name__ == "__main__":
    main()
