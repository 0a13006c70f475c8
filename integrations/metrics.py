"""Prometheus metrics of the webhook engine (served with django-prometheus' on `/metrics`).

Counters and histograms are recorded where things happen (web processes for intake, workers for
processing); with PROMETHEUS_MULTIPROC_DIR set, every process writes to that directory and the
`/metrics` view adds them up. The backlog gauge is computed at scrape time from the database.
"""

import contextlib
import logging
from collections.abc import Iterator

from django.core.cache import cache
from django_tenants.utils import schema_context
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from saas.metrics import register_collector
from saas.typing import connection
from tenants.models import TenantStatus
from tenants.selectors import tenant_with_schema_list

from .models import Service
from .selectors import backlog_by_service

logger = logging.getLogger(__name__)

RECEIVED = Counter(
    "webhooks_received_total",
    "Webhook events (or refused requests) by service and outcome.",
    ["service", "outcome"],  # accepted, duplicate, invalid_signature, invalid_payload, ...
)
PROCESSED = Counter(
    "webhooks_processed_total",
    "Processing outcomes by service: processed, failed (will retry), dead, ignored, deferred.",
    ["service", "outcome"],
)
PROCESSING_SECONDS = Histogram(
    "webhooks_processing_seconds",
    "Time spent in one event's handler.",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ENQUEUE_FAILURES = Counter(
    "webhooks_enqueue_failures_total", "Publishes to the broker that failed or were skipped."
)


class BacklogCollector(Collector):
    """`webhooks_backlog{service}`: events received, retrying or processing, summed over tenants.

    One indexed COUNT per tenant schema, cached for 15 s in Redis so scrapes stay cheap."""

    CACHE_KEY = "webhooks:backlog"

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "webhooks_backlog", "Webhook events waiting to be processed.", labels=["service"]
        )
        try:
            totals = self._totals()
        except Exception as exc:  # a scrape must never fail because the database is away
            logger.warning("backlog metric unavailable", extra={"error": type(exc).__name__})
            totals = {}
        for service, count in sorted(totals.items()):
            gauge.add_metric([service], count)
        yield gauge

    def _totals(self) -> dict[str, int]:
        try:
            cached = cache.get(self.CACHE_KEY)
        except Exception:
            cached = None
        if cached is not None:
            return dict(cached)
        totals = dict.fromkeys(Service.values, 0)
        previous = connection.schema_name
        tenants = tenant_with_schema_list().exclude(status=TenantStatus.DELETED)
        schemas = list(tenants.values_list("schema_name", flat=True))
        for schema in schemas:
            with schema_context(schema):
                for service, count in backlog_by_service().items():
                    totals[service] = totals.get(service, 0) + count
        if connection.schema_name != previous:
            connection.set_schema(previous)
        with contextlib.suppress(Exception):  # Redis down: just not cached
            cache.set(self.CACHE_KEY, totals, 15)
        return totals


register_collector(BacklogCollector())
