"""The one way to put a model under audit: call `track(...)` from your app's `AppConfig.ready()`.

    from audit.registry import track
    track(Endpoint, mask=["api_key", "secret"])          # secrets show as "********"
    track(WebhookEvent, exclude=["payload"])             # fields never recorded

Every create, update and delete of the model is then written to the trail of the schema the row
lives in, stamped with actor, client IP, user agent and request id. A `password` field (a hash)
and `updated_at` (noise) are never recorded, whatever the model.
"""

from collections.abc import Iterable

from auditlog.registry import auditlog
from django.db.models import Model

ALWAYS_EXCLUDED = ("password", "updated_at")


def track(model: type[Model], *, exclude: Iterable[str] = (), mask: Iterable[str] = ()) -> None:
    """Registers `model` with django-auditlog (idempotent)."""
    if auditlog.contains(model):
        return
    auditlog.register(model, exclude_fields=[*ALWAYS_EXCLUDED, *exclude], mask_fields=list(mask))
