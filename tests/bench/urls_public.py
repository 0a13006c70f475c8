"""The platform routes plus the bare baseline view (benchmark server only)."""

from django.urls import re_path

from saas.urls_public import *  # noqa: F403
from saas.urls_public import urlpatterns as _platform

from .views import BarePlainUsersView

urlpatterns = [re_path(r"^bench/plain-users/?$", BarePlainUsersView.as_view()), *_platform]
