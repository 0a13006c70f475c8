from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import celery_hooks  # noqa: F401  (Celery signals: system actor and request id in tasks)
