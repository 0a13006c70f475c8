"""Celery (read by saas/celery.py through the CELERY_ namespace): broker, task semantics and the
beat schedule of every periodic task."""

from .cache import REDIS_URL
from .core import env
from .integrations import INTEGRATIONS_SYNC_INTERVAL_SECONDS, WEBHOOK_SWEEP_INTERVAL_SECONDS

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# kombu's Redis transport, except that a task finishing after a broker outage cannot stop the
# worker by acknowledging on the lost connection (saas/broker.py).
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT = "saas.broker:Transport"
# Publishing from a web request must fail fast when Redis is down, never hang the request.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1.0,
    "socket_timeout": 5.0,
}
# The database row, not the broker, is the source of truth: no results, acknowledged after the task.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
# Celery's Django fix-up closes every database connection before and after each task: a new
# PostgreSQL connection (and authentication) per task, most of a short task's time. The workers
# drop connections the way Django's request cycle does instead (`close_old_connections` around each
# task, saas/celery.py: CONN_MAX_AGE and broken connections), so the fix-up's own close is only
# left to run every CELERY_DB_REUSE_MAX tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# tenant-schemas-celery looks the tenant of every task up by its schema name (one query per task)
# unless cached; the worker only needs its schema (handlers read the tenant's current row themselves).
CELERY_TASK_TENANT_CACHE_SECONDS = env.int("CELERY_TASK_TENANT_CACHE_SECONDS", default=30)

CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "audit-security-events-flush": {"task": "audit.tasks.flush_security_events", "schedule": 60.0},
    "webhooks-sweep": {
        "task": "integrations.tasks.sweep_all_tenants",
        "schedule": WEBHOOK_SWEEP_INTERVAL_SECONDS,
    },
    "webhooks-retention": {"task": "integrations.tasks.purge_all_tenants", "schedule": 3600.0},
    "users-sync": {
        "task": "integrations.tasks.sync_users_all_tenants",
        "schedule": INTEGRATIONS_SYNC_INTERVAL_SECONDS,
    },
    # The mail outbox is swept and purged with each tenant's other outboxes (tenants.due).
    # Expired revoked and outstanding tokens and sessions, in public and every active tenant.
    "credentials-retention": {"task": "accounts.tasks.credentials_prune_all_task", "schedule": 3600.0},
}

# Scale (issue 15): beat's sweep reads the tenants' due-markers (tenants.TenantWork) in one query
# and sends a sweep only to tenants with work due; a dispatched tenant is not sent another for this
# long unless new work comes (its sweep sets the marker). Several beats are harmless: each dispatch
# takes a Redis slot per interval (saas.celery.beat_slot_take).
TENANT_DUE_LEASE_SECONDS = env.float("TENANT_DUE_LEASE_SECONDS", default=60.0)
