from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "accounts.apikeys"
    label = "apikeys"  # table and migration names keep the app's original label
    verbose_name = "API keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.registry import track

        from . import schema  # noqa: F401  (registers the OpenAPI description of the Api-Key header)
        from .models import ApiKey

        # Creation and revocation are row changes; the digest never reaches the trail, and the
        # last-use time is written with a plain UPDATE (no entry per use).
        track(ApiKey, exclude=["key_hash", "last_used_at"])
