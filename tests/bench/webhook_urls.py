from django.urls import path

from .urls_public import urlpatterns as bench_urlpatterns
from .webhook_views import bare_insert

urlpatterns = [path("bench/bare/insert", bare_insert), *bench_urlpatterns]
