"""Tenant routes: the tenant API, sign-in pages and the tenant's admin."""

from django.urls import include, path

from .admin_sites import tenant_site
from .urls_common import common_urlpatterns

urlpatterns = [
    path("api/v1/", include("integrations.urls")),
    path("api/v1/auth/", include("accounts.urls")),
    path("api/v1/auth/", include("accounts.urls_tenant")),
    path("api/v1/", include("accounts.urls_users")),
    path("api/v1/", include("accounts.apikeys.urls")),
    path("api/v1/audit/", include("audit.urls")),
    path("api/v1/sso/", include("accounts.sso.api_urls")),
    path("sso/", include("accounts.sso.urls")),
    path("admin/", tenant_site.urls),
    path("", include("accounts.web_urls")),
    *common_urlpatterns("saas.urls_tenant"),
]

handler400 = "saas.exceptions.bad_request"
handler403 = "saas.exceptions.permission_denied"
handler404 = "saas.exceptions.page_not_found"
handler500 = "saas.exceptions.server_error"
