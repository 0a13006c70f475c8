"""`Endpoint` is the integration's settings: renamed `IntegrationSettings`. The table keeps its name
(`integrations_endpoint`), so nothing in the database moves."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0004_syncrun_refused"),
    ]

    operations = [
        # First pin the table name, so the rename that follows finds nothing to rename in the database.
        migrations.AlterModelTable(name="endpoint", table="integrations_endpoint"),
        migrations.RenameModel(old_name="Endpoint", new_name="IntegrationSettings"),
        migrations.AlterModelOptions(
            name="integrationsettings",
            options={
                "ordering": ["service"],
                "verbose_name": "integration settings",
                "verbose_name_plural": "integration settings",
            },
        ),
    ]
