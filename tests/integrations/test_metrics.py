"""`/metrics`: Prometheus text with the webhook counters and the backlog per service."""

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context

from integrations.models import WebhookEvent

from .conftest import event

pytestmark = pytest.mark.django_db


def scrape() -> str:
    response = Client(HTTP_HOST="localhost").get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def sample(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


def test_metrics_count_intake_outcomes_and_show_the_backlog(tenant_a, deliver):
    accepted = 'webhooks_received_total{outcome="accepted",service="user-service"}'
    refused = 'webhooks_received_total{outcome="invalid_signature",service="user-service"}'
    invalid = 'webhooks_received_total{outcome="invalid_payload",service="user-service"}'
    duplicate = 'webhooks_received_total{outcome="duplicate",service="user-service"}'
    before = scrape()

    doc = event()
    deliver(tenant_a, {"events": [doc, event()]})
    deliver(tenant_a, doc)
    deliver(tenant_a, event(), headers={"webhook-signature": "v1,bad"})
    deliver(tenant_a, b"{oops")
    cache.clear()  # the backlog is cached for 15 s between scrapes
    after = scrape()

    assert sample(after, accepted) - sample(before, accepted) == 2
    assert sample(after, duplicate) - sample(before, duplicate) == 1
    assert sample(after, refused) - sample(before, refused) == 1
    assert sample(after, invalid) - sample(before, invalid) == 1
    with schema_context(tenant_a.schema_name):
        waiting = WebhookEvent.objects.filter(status="received").count()
    assert waiting == 2
    assert sample(after, 'webhooks_backlog{service="user-service"}') >= waiting
    assert "webhooks_processing_seconds" in after
    assert "django_http_requests_total_by_method_total" in after  # django-prometheus' own


def test_metrics_are_served_on_the_platform_host_only(tenant_a):
    assert Client(HTTP_HOST=f"{tenant_a.slug}.localhost").get("/metrics").status_code == 404
