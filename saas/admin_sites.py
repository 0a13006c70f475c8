"""Two Django admin sites: the platform's (public host) and each tenant's (tenant host).

Keeping them apart means a tenant's admins can never reach a platform model, and the platform
site only ever runs in the public schema.
"""

from django.contrib.admin import AdminSite
from django.http import HttpRequest


class PlatformAdminSite(AdminSite):
    site_header = "Platform administration"
    site_title = "Platform admin"
    index_title = "Tenants, staff and audit"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            getattr(request, "tenant", None) is None
            and user.is_active
            and getattr(user, "is_platform_admin", False)
        )


class TenantAdminSite(AdminSite):
    site_header = "Administration"
    site_title = "Admin"
    index_title = "Users, integrations, webhooks and audit"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            getattr(request, "tenant", None) is not None
            and user.is_active
            and getattr(user, "role", None) in ("owner", "admin")
        )

    def each_context(self, request: HttpRequest) -> dict[str, object]:
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} administration"
        return context


platform_site = PlatformAdminSite(name="platform_admin")
tenant_site = TenantAdminSite(name="tenant_admin")
