from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import metrics  # noqa: F401  (registers the backlog collector)

        try:
            from audit.registry import track
        except ImportError:  # the audit trail (issue 4) is not in this checkout yet
            return
        from .models import Endpoint

        # Settings changes are audited as row changes; the secrets never reach the trail (a rotation
        # is recorded by secret_rotate), the API key only as "changed". Events are not tracked row by
        # row (every processing step would be an entry); replays are audited explicitly.
        track(Endpoint, exclude=["signing_secret", "previous_signing_secret"], mask=["api_key_encrypted"])
