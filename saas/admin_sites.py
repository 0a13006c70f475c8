"""Two Django admin sites: the platform's (public host) and each tenant's (tenant host).

Keeping them apart means a tenant's admins can never reach a platform model, and the platform
site only ever runs in the public schema.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from accounts.forms import AdminSignInForm
from accounts.roles import is_tenant_admin

from .ratelimits import counted_by
from .typing import request_tenant


class SignInAdminSite(AdminSite):
    """Both admin sites sign in through `auth_authenticate`: per-IP and per-email limits, audited."""

    login_form = AdminSignInForm

    @method_decorator(never_cache)
    @login_not_required
    @counted_by(None)  # the sign-in limits count it; a stranger's requests must not close it
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        limited = getattr(form, "rate_limited", None)
        if limited is not None:
            response.status_code = 429
            response["Retry-After"] = str(limited.wait)
        return response


class PlatformAdminSite(SignInAdminSite):
    site_header = "Platform administration"
    site_title = "Platform admin"
    index_title = "Tenants, staff and audit"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extra_views: list[tuple[str, Callable[..., HttpResponse], str]] = []
        # (label, url name): links shown on each tenant's admin page; the URL takes `tenant_id`.
        self.tenant_links: list[tuple[str, str]] = []

    def register_view(
        self, route: str, view: Callable[..., HttpResponse], name: str, tenant_link: str | None = None
    ) -> None:
        """Adds a staff-only page to the platform admin (apps' per-tenant views of their tenant data)."""
        self._extra_views.append((route, view, name))
        if tenant_link:
            self.tenant_links.append((tenant_link, name))

    def get_urls(self) -> list[URLResolver | URLPattern]:
        extra = [path(route, self.admin_view(view), name=name) for route, view, name in self._extra_views]
        return [*extra, *super().get_urls()]

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            request_tenant(request) is None and user.is_active and getattr(user, "is_platform_admin", False)
        )


class TenantAdminSite(SignInAdminSite):
    site_header = "Administration"
    site_title = "Admin"
    index_title = "Users, integrations, webhooks and audit"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(request_tenant(request) is not None and user.is_active and is_tenant_admin(user))

    def each_context(self, request: HttpRequest) -> dict[str, object]:
        context = super().each_context(request)
        tenant = request_tenant(request)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} administration"
        return context


platform_site = PlatformAdminSite(name="platform_admin")
tenant_site = TenantAdminSite(name="tenant_admin")
