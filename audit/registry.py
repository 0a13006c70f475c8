"""The one way to put a model under audit: call `track(...)` from your app's `AppConfig.ready()`.

    from audit.registry import track
    track(IntegrationSettings, mask=["api_key", "secret"])          # secrets show as "********"
    track(WebhookEvent, exclude=["payload"])             # fields never recorded

Every create, update and delete of the model is then written to the trail of the schema the row
lives in, stamped with actor, client IP, user agent and request id. Whatever the model, a
`password` field (a hash) is masked (the trail shows it changed, never its value) and `updated_at`
(noise) is left out.
"""

from collections.abc import Iterable

from auditlog.registry import auditlog
from django.db.models import Model

ALWAYS_EXCLUDED = ("updated_at",)
ALWAYS_MASKED = ("password",)


def track(model: type[Model], *, exclude: Iterable[str] = (), mask: Iterable[str] = ()) -> None:
    """Registers `model` with django-auditlog (idempotent)."""
    if auditlog.contains(model):
        return
    auditlog.register(model, exclude_fields=[*ALWAYS_EXCLUDED, *exclude], mask_fields=[*ALWAYS_MASKED, *mask])
