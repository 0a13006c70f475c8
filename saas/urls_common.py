"""Routes served on every host: health, OpenAPI schema and its documentation pages."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from . import health


def common_urlpatterns(urlconf: str) -> list:  # type: ignore[type-arg]
    return [
        re_path(r"^health/?$", health.health, name="health"),
        re_path(r"^health/ready/?$", health.ready, name="health-ready"),
        path("api/schema/", SpectacularAPIView.as_view(urlconf=urlconf), name="schema"),
        # The split view serves its init script as a file, so the CSP can forbid inline scripts.
        path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
        path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    ]
