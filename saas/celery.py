"""Celery application: tenant-aware, so every task runs in the schema it was sent from."""

import os

from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")

app = TenantAwareCeleryApp("saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
