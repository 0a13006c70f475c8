"""Celery application: tenant-aware, so every task runs in the schema it was sent from."""

import os
from typing import Any

from celery import signals
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")

app = TenantAwareCeleryApp("saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect(weak=False, dispatch_uid="saas_close_old_connections_prerun")
@signals.task_postrun.connect(weak=False, dispatch_uid="saas_close_old_connections_postrun")
def _close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """A task is a request: keep the connection across tasks unless it is broken or older than
    CONN_MAX_AGE (Celery's own fix-up would close it every time, CELERY_DB_REUSE_MAX)."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


def beat_slot_take(name: str, interval: float, *, now: float | None = None) -> bool:
    """True for the first caller in this `interval`'s slot (time // interval), False for the others.

    More than one beat (one per worker host) is harmless: each periodic dispatch runs once per
    interval whichever beat sent it (a Redis SET NX per schedule entry and slot). With Redis down
    the broker is down too; the dispatch then runs (what it sends is idempotent anyway)."""
    import time

    from django_redis import get_redis_connection

    slot = int((time.time() if now is None else now) // interval)
    try:
        client = get_redis_connection("default")
        return bool(client.set(f"saas:beat-slot:{name}:{slot}", "1", nx=True, ex=int(interval * 2) + 1))
    except Exception:
        return True
