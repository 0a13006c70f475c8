"""Celery application: tenant-aware, so every task runs in the schema it was sent from."""

import os
from typing import Any

from celery import signals
from django.db import close_old_connections
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


@signals.before_task_publish.connect(weak=False, dispatch_uid="saas_request_id_publish")
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A task queued by a request carries its X-Request-ID, so its errors and logs name that request."""
    from saas.middleware import current_request_id

    if headers is not None and (request_id := current_request_id.get()):
        headers.setdefault("request_id", request_id)


@signals.task_prerun.connect(weak=False, dispatch_uid="saas_request_id_prerun")
def _take_request_id(task: Any = None, task_id: str = "", **kwargs: Any) -> None:
    """The task runs under its request's id (or, queued by no request, under its own task id)."""
    from saas.middleware import current_request_id

    request = getattr(task, "request", None)
    if not getattr(request, "is_eager", False):  # eager: it runs inside the request, under its id
        current_request_id.set(getattr(request, "request_id", None) or task_id)


@signals.task_postrun.connect(weak=False, dispatch_uid="saas_request_id_postrun")
def _drop_request_id(task: Any = None, **kwargs: Any) -> None:
    from saas.middleware import current_request_id

    if not getattr(getattr(task, "request", None), "is_eager", False):
        current_request_id.set("")
