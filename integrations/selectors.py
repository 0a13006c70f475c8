"""Reads for integrations: settings, signing secrets and webhook events of the active tenant."""

from datetime import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from .models import ACTIVE_STATUSES, Endpoint, WebhookEvent


def endpoint_get(*, service: str) -> Endpoint | None:
    """The tenant's settings for `service`, or None when none exist yet."""
    return Endpoint.objects.filter(service=service).first()


def signing_secrets(*, service: str) -> list[str]:
    """Secrets that verify `service`'s webhooks now: the current one and a rotated one still in its grace."""
    endpoint = endpoint_get(service=service)
    if endpoint is None:
        return []
    secrets = [endpoint.signing_secret]
    if (
        endpoint.previous_signing_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > timezone.now()
    ):
        secrets.append(endpoint.previous_signing_secret)
    return secrets


def event_list(
    *,
    service: str | None = None,
    status: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
) -> QuerySet[WebhookEvent]:
    events = WebhookEvent.objects.all()
    if service:
        events = events.filter(service=service)
    if status:
        events = events.filter(status=status)
    if type:
        events = events.filter(type=type)
    if since:
        events = events.filter(received_at__gte=since)
    return events


def event_get(*, pk: int) -> WebhookEvent | None:
    return WebhookEvent.objects.filter(pk=pk).first()


def backlog_by_service() -> dict[str, int]:
    """Events waiting or in flight per service (uses the partial `webhookevent_due` index)."""
    rows = (
        WebhookEvent.objects.filter(status__in=ACTIVE_STATUSES, next_attempt_at__isnull=False)
        .values("service")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["service"]: row["n"] for row in rows}
