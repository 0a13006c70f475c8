from django.urls import path

from saas.urls_tenant import urlpatterns as tenant_urlpatterns

from .views import ping

urlpatterns = [path("bench/ping", ping), *tenant_urlpatterns]
