"""Webhook bench settings: the bench settings plus a bare INSERT + Redis push view and a no-op task."""

from tests.bench.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.webhook_urls"
PUBLIC_SCHEMA_URLCONF = "tests.bench.webhook_urls"
MIDDLEWARE = [
    "tests.bench.webhook_views.WebhookBareRouteMiddleware"
    if m == "tests.bench.views.BareRouteMiddleware"
    else m
    for m in MIDDLEWARE  # noqa: F405
]
