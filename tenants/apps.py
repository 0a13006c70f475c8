from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.registry import track

        from . import signals  # noqa: F401  (routing-cache invalidation)
        from .models import Domain, Tenant

        track(Tenant)
        track(Domain)
