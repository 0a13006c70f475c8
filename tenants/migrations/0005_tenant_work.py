"""The public due-marker of each tenant's background work (tenants.due).

Every existing tenant starts due: its first sweep finds what is due in its schema and sets the
marker (or clears it), so nothing written before this migration is missed."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0004_database_roles'),
    ]

    operations = [
        migrations.CreateModel(
            name='TenantWork',
            fields=[
                ('schema_name', models.CharField(max_length=63, primary_key=True, serialize=False)),
                ('due_at', models.DateTimeField(blank=True, null=True)),
                ('active_at', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('due_at__isnull', False)), fields=['due_at'], name='tenantwork_due'), models.Index(fields=['active_at'], name='tenantwork_active')],
            },
        ),
        migrations.RunSQL(
            """
            INSERT INTO tenants_tenantwork (schema_name, due_at, active_at)
            SELECT schema_name, now(), now() FROM tenants_tenant
             WHERE schema_name <> 'public' AND purged_at IS NULL
            ON CONFLICT DO NOTHING
            """,
            migrations.RunSQL.noop,
        ),
    ]
