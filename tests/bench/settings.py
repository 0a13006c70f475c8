"""Bench settings: the real settings plus bench-only views, never mounted outside the benchmarks."""

import os

os.environ.setdefault("SECRET_KEY", "bench-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_ENV", "development")

from saas.settings.base import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls_public"
PUBLIC_SCHEMA_URLCONF = "tests.bench.urls_public"
TENANT_URLCONF = "tests.bench.urls_tenant"
MIDDLEWARE = [
    "tests.bench.views.BareRouteMiddleware" if m == "tenants.middleware.TenantRoutingMiddleware" else m
    for m in MIDDLEWARE  # noqa: F405
]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
