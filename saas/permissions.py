"""Small DRF permission classes shared by every route.

Roles in a tenant: owner > admin > member. Platform admins (public-schema staff) are accepted on
tenant routes with the rights of an owner; each such use is audited by the authentication layer.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.roles import ROLE_RANK, Role, role_rank
from saas.typing import request_tenant


class IsPlatformAdmin(BasePermission):
    """Platform staff, on platform routes."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and getattr(user, "is_platform_admin", False)
            and request_tenant(request) is None
        )


class _TenantRole(BasePermission):
    minimum: str = Role.MEMBER

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            request_tenant(request) is not None
            and user
            and user.is_authenticated
            and role_rank(user) >= ROLE_RANK[self.minimum]
        )


class IsTenantMember(_TenantRole):
    """Any signed-in user of the route's tenant (and platform admins)."""

    minimum = Role.MEMBER


class IsTenantAdmin(_TenantRole):
    """Owners and admins of the route's tenant (and platform admins)."""

    minimum = Role.ADMIN


class IsTenantAdminOrReadOnly(BasePermission):
    """Reads for every member of the route's tenant; writes for owners and admins."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return IsTenantMember().has_permission(request, view)
        return IsTenantAdmin().has_permission(request, view)
