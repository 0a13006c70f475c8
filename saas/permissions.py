"""Small DRF permission classes shared by every route."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class IsPlatformAdmin(BasePermission):
    """Platform staff, on platform routes."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and getattr(user, "is_platform_admin", False)
            and request.tenant is None
        )
