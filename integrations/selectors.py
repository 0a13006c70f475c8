"""Reads for integrations: settings, signing secrets and webhook events of the active tenant."""

import time
from datetime import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from saas.typing import connection

from .models import ACTIVE_STATUSES, Endpoint, WebhookEvent

SECRETS_CACHE_SECONDS = 5.0  # how long another process may still accept a secret dropped by rotation
_secrets_cache: dict[tuple[str, str], tuple[float, tuple[str, str, datetime | None] | None]] = {}


def endpoint_get(*, service: str) -> Endpoint | None:
    """The tenant's settings for `service`, or None when none exist yet."""
    return Endpoint.objects.filter(service=service).first()


def signing_secrets(*, service: str, cached: bool = False) -> list[str]:
    """Secrets that verify `service`'s webhooks now: the current one and a rotated one still in its grace.

    `cached=True` (intake's first try) may answer from a per-process copy at most
    SECRETS_CACHE_SECONDS old; intake asks again uncached before refusing a signature, so a rotation
    is honoured at once. The grace of a previous secret is checked on every call."""
    key = (connection.schema_name, service)
    now = time.monotonic()
    entry = _secrets_cache.get(key) if cached else None
    if entry is None or entry[0] < now:
        endpoint = endpoint_get(service=service)
        row = (
            (endpoint.signing_secret, endpoint.previous_signing_secret, endpoint.previous_secret_expires_at)
            if endpoint
            else None
        )
        entry = (now + SECRETS_CACHE_SECONDS, row)
        _secrets_cache[key] = entry
    row = entry[1]
    if row is None:
        return []
    current, previous, expires_at = row
    secrets = [current]
    if previous and expires_at and expires_at > timezone.now():
        secrets.append(previous)
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


def schemas_with_service(*, service: str, schemas: list[str], batch: int = 500) -> list[str]:
    """The schemas among `schemas` whose `service` is enabled with a base URL: one query per `batch`
    schemas (a UNION of index lookups), so a periodic job for configured tenants enters no other."""
    table = connection.ops.quote_name(Endpoint._meta.db_table)
    found: list[str] = []
    for start in range(0, len(schemas), batch):
        part = schemas[start : start + batch]
        sql = " UNION ALL ".join(
            f"SELECT %s FROM {connection.ops.quote_name(schema)}.{table}"  # noqa: S608  (quoted names)
            " WHERE service = %s AND enabled AND base_url <> ''"
            for schema in part
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for schema in part for value in (schema, service)])
            found += [row[0] for row in cursor.fetchall()]
    return found
