"""Logs and metrics: one JSON object per log line; Prometheus metrics at /metrics."""

from .core import env

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One `audit` line per committed audit append (schema, seq, chain hash): the off-database copy of
# every chain head, for the log collector of web, worker and beat processes, whatever LOG_LEVEL.
# manage.py commands (other than runserver) default to false, so an operator's terminal and the
# progress bars of seed_demo, sync_users or create_tenant stay readable; set true to keep them.
AUDIT_LOG_LINES = env.bool("AUDIT_LOG_LINES", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "saas.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "audit": {"level": "INFO" if AUDIT_LOG_LINES else "WARNING"},
    },
}

# With PROMETHEUS_MULTIPROC_DIR set (make run sets it), every gunicorn worker and Celery process
# writes its samples there and /metrics adds them up. Who may read /metrics: security.py.
PROMETHEUS_EXPORT_MIGRATIONS = False
