"""Logs and metrics: one JSON object per log line; Prometheus metrics at /metrics."""

from typing import Any

from .core import DJANGO_ENV, env

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One `audit` line per committed audit append (schema, seq, chain hash): the off-database copy of
# every chain head, for the log collector of web, worker and beat processes, whatever LOG_LEVEL.
# manage.py commands (other than runserver) default to false, so an operator's terminal and the
# progress bars of seed_demo, sync_users or create_tenant stay readable; set true to keep them.
AUDIT_LOG_LINES = env.bool("AUDIT_LOG_LINES", default=True)
LOGGING: dict[str, Any] = {
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

# Errors go to Sentry (or a server that speaks its protocol) only when SENTRY_DSN is set
# (saas/sentry.py: tenant and request id as tags, no personal data or secrets).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from saas.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=DJANGO_ENV),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
