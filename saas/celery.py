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
