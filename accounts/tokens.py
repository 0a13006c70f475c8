"""JWTs bound to a tenant: every token names its tenant's slug (or null for platform staff)."""

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework_simplejwt.tokens import RefreshToken

from audit.security import security_event_record
from tenants.models import Tenant

from .models import User


class TokenTenantMismatch(exceptions.AuthenticationFailed):
    default_detail = "This token belongs to another tenant."
    default_code = "token_tenant_mismatch"
    error_code = "token_tenant_mismatch"


class InvalidToken(exceptions.AuthenticationFailed):
    default_detail = "Token is invalid or expired."
    default_code = "invalid_token"
    error_code = "invalid_token"


def token_pair(*, user: User, tenant: Tenant | None) -> dict[str, Any]:
    """A fresh refresh/access pair carrying `tenant` and `role`, in the contract's response shape."""
    refresh = RefreshToken.for_user(user)
    refresh["tenant"] = tenant.slug if tenant is not None else None
    refresh["role"] = user.role
    access = refresh.access_token
    return {
        "access": str(access),
        "refresh": str(refresh),
        "token_type": "Bearer",
        "expires_in": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    }


def check_token_tenant(*, token_tenant: str | None, tenant: Tenant | None, role: str | None) -> None:
    """A token works only where it was issued; platform staff tokens also work on tenant routes.

    A refusal is a security event in the route's trail (aggregated under a flood).
    """
    current = tenant.slug if tenant is not None else None
    if token_tenant == current:
        return
    if token_tenant is None and current is not None and role == "platform_admin":
        return
    # Recorded in the trail of the route's schema: that is where someone tried the foreign token.
    security_event_record(kind="token_tenant_mismatch", details={"token_tenant": token_tenant, "role": role})
    raise TokenTenantMismatch()
