"""Integration health of the active tenant, cheap on a large events table.

One SQL statement for all services: per (service, status) a count over the last 24 h and the
newest `received_at` (both index range scans on `webhookevent_service_status`), plus the backlog
and its oldest event through the partial `webhookevent_due` index. The breaker state comes from
Redis. Nothing scans the table.
"""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from saas.metrics import register_collector
from saas.typing import connection
from tenants.models import TenantStatus
from tenants.selectors import tenant_with_schema_list

from .breaker import OPEN, breaker_for
from .models import EventStatus, Service, WebhookEvent

# A backlog older than this makes a service `degraded`.
LAG_DEGRADED_SECONDS = 300

_SQL = """
SELECT sv.service, st.status,
       (SELECT count(*) FROM {table} e
         WHERE e.service = sv.service AND e.status = st.status AND e.received_at >= %s) AS n24,
       (SELECT e.received_at FROM {table} e
         WHERE e.service = sv.service AND e.status = st.status
         ORDER BY e.received_at DESC LIMIT 1) AS last_received,
       (SELECT e.processed_at FROM {table} e
         WHERE e.service = sv.service AND e.status = st.status AND st.status = 'processed'
         ORDER BY e.received_at DESC LIMIT 1) AS last_processed
FROM unnest(%s::text[]) AS sv(service) CROSS JOIN unnest(%s::text[]) AS st(status)
"""

_BACKLOG_SQL = """
SELECT service, count(*), min(received_at) FROM {table}
 WHERE status IN ('received', 'retrying', 'processing') AND next_attempt_at IS NOT NULL
 GROUP BY service
"""


def _latest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def service_health() -> list[dict[str, Any]]:
    """`[{"service", "status", "circuit", "last_event_at", ..., "backlog", "lag_seconds"}]`."""
    now = timezone.now()
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    services = list(Service.values)
    rows: dict[str, dict[str, tuple[int, datetime | None, datetime | None]]] = {s: {} for s in services}
    with connection.cursor() as cursor:
        cursor.execute(
            _SQL.format(table=table), [now - timedelta(hours=24), services, list(EventStatus.values)]
        )
        for service, status, n24, last_received, last_processed in cursor.fetchall():
            rows[service][status] = (n24, last_received, last_processed)
        cursor.execute(_BACKLOG_SQL.format(table=table))
        backlog = {service: (n, oldest) for service, n, oldest in cursor.fetchall()}

    result = []
    for service in services:
        by_status = rows[service]
        count = {s: by_status.get(s, (0, None, None))[0] for s in EventStatus.values}
        last = {s: by_status.get(s, (0, None, None))[1] for s in EventStatus.values}
        circuit = breaker_for(schema=connection.schema_name, service=service).snapshot()
        waiting, oldest = backlog.get(service, (0, None))
        lag = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        failed_24h = count[EventStatus.RETRYING]
        if circuit["state"] == OPEN:
            status = "down"
        elif (
            circuit["state"] != "closed"
            or failed_24h
            or count[EventStatus.DEAD]
            or lag > LAG_DEGRADED_SECONDS
        ):
            status = "degraded"
        else:
            status = "healthy"
        result.append(
            {
                "service": service,
                "status": status,
                "circuit": {
                    "state": circuit["state"],
                    "failures": circuit["failures"],
                    "opened_at": circuit["opened_at"],
                },
                "last_event_at": _latest(*last.values()),
                "last_success_at": by_status.get(EventStatus.PROCESSED, (0, None, None))[2],
                "last_failure_at": _latest(
                    last[EventStatus.RETRYING], last[EventStatus.DEAD], circuit["last_failure_at"]
                ),
                "counts_24h": {
                    "received": sum(count.values()),
                    "processed": count[EventStatus.PROCESSED],
                    "failed": failed_24h,
                    "dead": count[EventStatus.DEAD],
                },
                "backlog": waiting,
                "lag_seconds": round(lag, 3),
            }
        )
    return result


class BreakerCollector:
    """`integration_circuit_state{tenant, service}` (0 closed, 1 half-open, 2 open) and
    `integration_circuit_failures{tenant, service}`, read from Redis at scrape time."""

    STATES = {"closed": 0, "half_open": 1, "open": 2}

    def collect(self) -> Any:
        state = GaugeMetricFamily(
            "integration_circuit_state",
            "Circuit breaker per tenant and service: 0 closed, 1 half-open, 2 open.",
            labels=["tenant", "service"],
        )
        failures = GaugeMetricFamily(
            "integration_circuit_failures",
            "Consecutive failures counted by the breaker.",
            labels=["tenant", "service"],
        )
        try:
            tenants = list(
                tenant_with_schema_list(status=TenantStatus.ACTIVE).values_list("slug", "schema_name")
            )
            for slug, schema in tenants:
                for service in Service.values:
                    snap = breaker_for(schema=schema, service=service).snapshot()
                    state.add_metric([slug, service], self.STATES.get(snap["state"], 0))
                    failures.add_metric([slug, service], snap["failures"])
        except Exception:  # a scrape never fails because the database or Redis is away  # noqa: S110
            pass
        yield state
        yield failures


def _register() -> None:
    register_collector(BreakerCollector())


_register()
