"""Tenant routing: path, `X-Tenant-ID` header or host name the tenant.

Every named source is checked against the slug rules before any lookup; lookups come from the
routing cache, so a routed request in steady state runs no SQL to find its tenant.
"""

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_tenants.utils import get_public_schema_name

from saas.errors import error_for
from saas.typing import connection, routed

from .models import Tenant
from .selectors import tenant_for_slug, tenant_slug_for_domain
from .slugs import is_valid_slug

TENANT_PATH_RE = re.compile(
    r"^/api/v1/tenants/(?P<slug>[^/]*)/(?P<rest>(?:auth|users|webhooks|integrations|sso|audit|api-keys|invitations)(?:/.*)?)$",
    re.DOTALL,
)


def _hostname(request: HttpRequest) -> str:
    host = request.get_host().lower()  # still validates the header's syntax (-> 400)
    if host.startswith("["):
        return host[: host.index("]") + 1]
    return host.rsplit(":", 1)[0].rstrip(".")


class UnknownHost(Exception):
    pass


def _slug_from_host(hostname: str) -> str | None:
    """`<slug>.<SAAS_BASE_DOMAIN>` names a slug directly; any other host must be a registered domain."""
    if hostname in settings.PLATFORM_HOSTS:
        return None
    base = settings.SAAS_BASE_DOMAIN
    if hostname.endswith("." + base):
        label = hostname[: -len(base) - 1]
        if "." not in label:
            return label
    slug = tenant_slug_for_domain(host=hostname)
    if slug is None:
        raise UnknownHost(hostname)
    return slug


def _activate(tenant: Tenant | None) -> None:
    """Points the connection at the tenant's schema (or public), re-issuing no SET when it already is.

    django-tenants forgets its `search_path` on every switch; a worker that serves the same
    tenant (or the platform) again keeps it, which saves a round trip per request.
    """
    target = tenant.schema_name if tenant is not None else get_public_schema_name()
    if connection.schema_name == target and connection.include_public_schema:
        if tenant is not None:
            connection.tenant = tenant
        return
    if tenant is None:
        connection.set_schema_to_public()
    else:
        connection.set_tenant(tenant)


class TenantRoutingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        routed(request).tenant = None

        named: dict[str, str] = {}
        match = TENANT_PATH_RE.match(request.path_info)
        if match:
            named["path"] = match["slug"]
        header = request.headers.get("X-Tenant-ID")
        if header:
            named["header"] = header.strip()
        try:
            host_slug = _slug_from_host(_hostname(request))
        except UnknownHost:
            message = "This host is not served here."
            return error_for(request, "bad_request", message, 400, page="unknown_host")
        if host_slug is not None:
            named["host"] = host_slug

        if not named:
            routed(request).urlconf = settings.PUBLIC_SCHEMA_URLCONF
            _activate(None)
            return self.get_response(request)

        if not all(is_valid_slug(slug) for slug in named.values()):
            return error_for(request, "tenant_not_found", "No such tenant.", 404)
        if len(set(named.values())) > 1:
            return error_for(
                request,
                "tenant_conflict",
                "The request names more than one tenant.",
                400,
                {source: [slug] for source, slug in named.items()},
            )
        tenant = tenant_for_slug(slug=next(iter(named.values())))
        if tenant is None:
            return error_for(request, "tenant_not_found", "No such tenant.", 404)
        if not tenant.is_active:
            return error_for(request, "tenant_inactive", "This tenant is not active.", 403)

        if match:
            # Resolved without the tenant's prefix; `request.path` keeps it, so links the API builds
            # from the request (a page's `next`, a redirect) lead back to the same tenant.
            request.path_info = "/api/v1/" + match["rest"]
        routed(request).tenant = tenant
        routed(request).urlconf = settings.TENANT_URLCONF
        _activate(tenant)
        return self.get_response(request)
