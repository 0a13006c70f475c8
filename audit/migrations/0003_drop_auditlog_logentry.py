"""django-auditlog's own `auditlog_logentry` table goes from every schema.

`AUDITLOG_LOGENTRY_MODEL` swaps its LogEntry for `audit.AuditEntry`, so the table was always empty;
auditlog's migrations are switched off (`MIGRATION_MODULES`), which also leaves their records in
`django_migrations` without meaning.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                "DROP TABLE IF EXISTS auditlog_logentry",
                "DELETE FROM django_migrations WHERE app = 'auditlog'",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
