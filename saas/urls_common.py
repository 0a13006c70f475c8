"""Routes served on every host: health, OpenAPI schema, its documentation pages and the favicon."""

from django.urls import URLPattern, URLResolver, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import health
from .docs import RedocView, redoc_bundle_view
from .views import favicon


def common_urlpatterns(urlconf: str) -> list[URLPattern | URLResolver]:
    return [
        re_path(r"^health/?$", health.health, name="health"),
        re_path(r"^health/ready/?$", health.ready, name="health-ready"),
        path("api/schema/", SpectacularAPIView.as_view(urlconf=urlconf), name="schema"),
        # The split view serves its init script as a file, so the CSP can forbid inline scripts.
        path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
        path("redoc", RedocView.as_view(url_name="schema"), name="redoc"),
        path("redoc/redoc.standalone.js", redoc_bundle_view, name="redoc-bundle"),
        path("favicon.ico", favicon, name="favicon"),
    ]
