"""Types for what django-tenants and the platform's middleware add to objects at run time.

django-tenants' database backend gives the connection `schema_name`, `tenant` and the `set_*`
methods; the routing middleware gives each request `tenant` (None on platform routes) and
`urlconf`, the request-log middleware `request_id`. Neither is in Django's stubs, so code reads them
through this module: `from saas.typing import connection` is `django.db.connection`, typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from django.db import connection as _connection
from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated

if TYPE_CHECKING:
    from django.db.backends.postgresql.base import DatabaseWrapper
    from rest_framework.request import Request

    from accounts.models import User
    from tenants.models import Tenant


class SchemaTenant(Protocol):
    """A Tenant row, or django-tenants' FakeTenant when a schema was set by name."""

    schema_name: str


if TYPE_CHECKING:

    class TenantDatabaseWrapper(DatabaseWrapper):
        """django_tenants.postgresql_backend.DatabaseWrapper: the connection knows its schema."""

        schema_name: str
        tenant: SchemaTenant | None
        include_public_schema: bool

        def set_tenant(self, tenant: Tenant, include_public: bool = True) -> None: ...
        def set_schema(
            self, schema_name: str, include_public: bool = True, tenant_type: str | None = None
        ) -> None: ...
        def set_schema_to_public(self) -> None: ...

    class RoutedRequest(HttpRequest):
        """An HttpRequest after the routing and request-log middleware."""

        tenant: Tenant | None
        urlconf: str
        request_id: str


connection = cast("TenantDatabaseWrapper", _connection)


def routed(request: HttpRequest) -> RoutedRequest:
    """The request with the attributes the middleware sets (for the middleware that sets them)."""
    return cast("RoutedRequest", request)


def request_tenant(request: HttpRequest | Request) -> Tenant | None:
    """The tenant the request was routed to; None on platform routes (or before routing)."""
    tenant: Tenant | None = getattr(request, "tenant", None)
    return tenant


def request_id(request: HttpRequest | Request) -> str:
    """The request id RequestLogMiddleware gave the request ("" before it ran)."""
    value: str = getattr(request, "request_id", "")
    return value


def routed_tenant(request: HttpRequest | Request) -> Tenant:
    """The tenant of a request on a tenant route, for code that only runs on one."""
    tenant = request_tenant(request)
    if tenant is None:
        raise LookupError("This request was not routed to a tenant.")
    return tenant


def request_user(request: Request) -> User:
    """`request.user` on a route that requires authentication (DRF types it User | AnonymousUser).

    With an API key it is the key's principal (accounts.apikeys), which stands in for a User: it has
    what the permission classes and services read (role, pk, email, is_platform_admin).
    """
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated()
    return user
