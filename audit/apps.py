from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Body imports: Django requires models (and what imports them) to load after the registry.
        import auditlog.receivers

        from . import celery_hooks  # noqa: F401  (Celery signals: system actor and request id in tasks)
        from .diff import model_instance_diff
        from .models import AuditEntryManager
        from .services import entry_append

        AuditEntryManager.writer = staticmethod(entry_append)
        # auditlog's receivers diff through this name: a create's diff without auditlog's per-field
        # exceptions (audit/diff.py)
        auditlog.receivers.model_instance_diff = model_instance_diff
