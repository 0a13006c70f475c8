"""Rows of the integrations app for tests that start from stored events rather than deliveries."""

from typing import Any

from django.utils import timezone

from integrations.models import EventStatus, WebhookEvent

from .conftest import event


def stored_event(
    *,
    service: str = "user-service",
    type_: str = "user.updated",
    status: str = EventStatus.RECEIVED,
    **fields: Any,
) -> WebhookEvent:
    """A webhook event row in the current schema, as if received now (`event(type_)` as payload)."""
    document = event(type_)
    now = timezone.now()
    values: dict[str, Any] = {
        "event_id": document["id"],
        "occurred_at": now,
        "payload": document,
        "received_at": now,
        **fields,
    }
    return WebhookEvent.objects.create(service=service, type=type_, status=status, **values)
