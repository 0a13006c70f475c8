"""`GET /metrics`: Prometheus text for django-prometheus' metrics, the apps' own and scrape-time collectors.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers, Celery workers on the same host),
counters and histograms of every process are read from that directory and added up; collectors that
compute their value when scraped (backlog, breaker state) are registered with `register_collector`.
"""

import os

import prometheus_client
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import multiprocess
from prometheus_client.registry import Collector

_scrape_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Adds a collector whose samples are computed at scrape time, in this process."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.CollectorRegistry()
        registry.register(_DefaultRegistry())
    for collector in _scrape_collectors:
        registry.register(collector)
    return HttpResponse(
        prometheus_client.generate_latest(registry), content_type=prometheus_client.CONTENT_TYPE_LATEST
    )


class _DefaultRegistry(Collector):
    """The process's default registry, as one collector."""

    def collect(self):  # type: ignore[no-untyped-def]
        yield from prometheus_client.REGISTRY.collect()
