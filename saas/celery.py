"""Celery application: tenant-aware, so every task runs in the schema it was sent from."""

import os
from typing import Any

from celery import signals
from django.db import close_old_connections
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

from saas.request_id import current_request_id

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


@signals.before_task_publish.connect(weak=False, dispatch_uid="saas_request_id_publish")
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A task queued by a request carries its X-Request-ID, so its errors and logs name that request."""
    if headers is not None and (request_id := current_request_id.get()):
        headers.setdefault("request_id", request_id)


@signals.task_prerun.connect(weak=False, dispatch_uid="saas_request_id_prerun")
def _take_request_id(task: Any = None, task_id: str = "", **kwargs: Any) -> None:
    """The task runs under its request's id (or, queued by no request, under its own task id)."""
    request = getattr(task, "request", None)
    if not getattr(request, "is_eager", False):  # eager: it runs inside the request, under its id
        current_request_id.set(getattr(request, "request_id", None) or task_id)


@signals.task_postrun.connect(weak=False, dispatch_uid="saas_request_id_postrun")
def _drop_request_id(task: Any = None, **kwargs: Any) -> None:
    if not getattr(getattr(task, "request", None), "is_eager", False):
        current_request_id.set("")
