"""The SSO models move to their own tenant-only app (`accounts.sso`, label `sso`), keeping their
tables in tenant schemas; the empty copies that `accounts` had made in the public schema go."""

from django.db import migrations
from django_tenants.utils import get_public_schema_name

TABLES = ("accounts_ssoidentity", "accounts_oidcprovider", "accounts_samlprovider")


def drop_public_copies(apps, schema_editor):
    if schema_editor.connection.schema_name != get_public_schema_name():
        return  # a tenant's tables stay: they are the `sso` app's now
    for table in TABLES:
        schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(table)}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_invitations_token_generation"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SsoIdentity"),
                migrations.DeleteModel(name="OidcProvider"),
                migrations.DeleteModel(name="SamlProvider"),
            ],
            # Not reversible into public: the copies there were never used.
            database_operations=[migrations.RunPython(drop_public_copies, migrations.RunPython.noop)],
        ),
    ]
