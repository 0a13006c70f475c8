"""Tenant routes of integrations, mounted under `api/v1/` (each with and without its trailing slash)."""

from django.urls import re_path

from . import views, views_health
from .service_names import SERVICES

SERVICE = rf"(?P<service>{'|'.join(SERVICES)})"

urlpatterns = [
    re_path(r"^webhooks/events/?$", views.EventListView.as_view(), name="webhook-events"),
    re_path(r"^webhooks/events/replay/?$", views.EventBulkReplayView.as_view(), name="webhook-events-replay"),
    re_path(r"^webhooks/events/(?P<pk>\d+)/?$", views.EventDetailView.as_view(), name="webhook-event"),
    re_path(
        r"^webhooks/events/(?P<pk>\d+)/replay/?$",
        views.EventReplayView.as_view(),
        name="webhook-event-replay",
    ),
    re_path(r"^webhooks/health/?$", views_health.HealthView.as_view(), name="webhooks-health"),
    re_path(rf"^webhooks/{SERVICE}/?$", views.webhook_intake, name="webhook-intake"),
    re_path(rf"^integrations/{SERVICE}/?$", views.IntegrationSettingsView.as_view(), name="integration"),
    re_path(
        rf"^integrations/{SERVICE}/rotate-secret/?$",
        views.RotateSecretView.as_view(),
        name="integration-rotate",
    ),
]
