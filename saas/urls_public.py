"""Platform routes (no tenant named): platform API, admin, health, docs."""

from django.urls import include, path, re_path

from integrations.views_health import PlatformHealthView
from tenants.views import TenantViewSet

from .admin_sites import platform_site
from .metrics import metrics_view
from .routers import OptionalSlashRouter
from .urls_common import common_urlpatterns
from .views import platform_home

router = OptionalSlashRouter()
router.register("tenants", TenantViewSet, basename="tenant")

urlpatterns = [
    path("api/v1/auth/", include("accounts.urls")),
    path("api/v1/audit/", include("audit.urls")),
    path("api/v1/", include(router.urls)),
    re_path(
        r"^api/v1/integrations/health/?$", PlatformHealthView.as_view(), name="platform-integrations-health"
    ),
    path("admin/", platform_site.urls),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    *common_urlpatterns("saas.urls_public"),
    path("", platform_home, name="platform-home"),
]

handler400 = "saas.exceptions.bad_request"
handler403 = "saas.exceptions.permission_denied"
handler404 = "saas.exceptions.page_not_found"
handler500 = "saas.exceptions.server_error"
