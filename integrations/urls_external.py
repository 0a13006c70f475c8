"""Tenant routes of issue 6, mounted under `api/v1/` (with and without the trailing slash)."""

from django.urls import re_path

from . import views_external

urlpatterns = [
    re_path(r"^webhooks/health/?$", views_external.HealthView.as_view(), name="webhooks-health"),
]
