"""The platform routes plus the bench-only baselines (benchmark server only)."""

from django.urls import path

from saas.urls_public import *  # noqa: F403
from saas.urls_public import urlpatterns as platform_urlpatterns

from .views import ping

urlpatterns = [
    path("bench/bare/ping", ping),
    path("bench/ping", ping),
    *platform_urlpatterns,
]
