from django.urls import path

from saas.urls_public import urlpatterns as platform_urlpatterns

from .views import ping

urlpatterns = [
    path("bench/bare/ping", ping),
    path("bench/ping", ping),
    *platform_urlpatterns,
]
