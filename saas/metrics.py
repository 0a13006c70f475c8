"""`GET /metrics`: Prometheus text for django-prometheus' metrics, the apps' own and scrape-time collectors.

With PROMETHEUS_MULTIPROC_DIR set (gunicorn with several workers, Celery workers on the same host),
counters and histograms of every process are read from that directory and added up; collectors that
compute their value when scraped (backlog, breaker state) are registered with `register_collector`.

The page names every tenant, so it is served only to a scraper that `metrics_refusal` lets through
(METRICS_TOKEN and/or METRICS_ALLOWED_NETWORKS; see docs/operations.md).
"""

import hmac
import ipaddress
import os
from collections.abc import Iterator
from functools import lru_cache

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from .exceptions import error_response
from .net import client_ip

_scrape_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Adds a collector whose samples are computed at scrape time, in this process."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


@lru_cache(maxsize=4)
def parse_networks(
    networks: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CIDRs (or single addresses) to networks; raises ValueError on a malformed one."""
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _in_networks(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in parse_networks(networks))


def metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """Who may scrape: every configured restriction must pass (token compared in constant time).

    Nothing configured is open in development and test, and refused in production, where
    `check --deploy` reports it (saas.E001): a forgotten setting must not publish the customer list.
    """
    token: str = settings.METRICS_TOKEN
    networks = tuple(settings.METRICS_ALLOWED_NETWORKS)
    if not token and not networks:
        if settings.IS_PRODUCTION:
            return error_response(
                "metrics_not_configured",
                "Set METRICS_TOKEN or METRICS_ALLOWED_NETWORKS to serve metrics.",
                403,
            )
        return None
    if networks and not _in_networks(client_ip(request), networks):
        return error_response("permission_denied", "Metrics are not served to this network.", 403)
    if token and not hmac.compare_digest(_bearer(request).encode(), token.encode()):
        return error_response(
            "not_authenticated",
            "A valid bearer token is required.",
            401,
            WWW_Authenticate='Bearer realm="metrics"',
        )
    return None


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
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

    def collect(self) -> Iterator[Metric]:
        yield from prometheus_client.REGISTRY.collect()
