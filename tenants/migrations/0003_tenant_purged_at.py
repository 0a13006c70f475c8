from django.db import migrations, models

# Tenants purged before `purged_at` existed: deleted rows whose schema is gone.
MARK_PURGED = """
UPDATE tenants_tenant SET purged_at = updated_at
WHERE status = 'deleted'
  AND NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = tenants_tenant.schema_name)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_template_snapshot"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="purged_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(MARK_PURGED, migrations.RunSQL.noop),
    ]
