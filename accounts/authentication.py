"""DRF authentication: simplejwt access tokens, checked against the route's tenant on every request.

The user row is read on every request (with the token's revocation in the same query), so a
deactivation, a demotion or a logout takes effect on the very next request.
"""

from typing import Any

from django.db.models import Exists
from django_tenants.utils import get_public_schema_name, schema_context
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from audit.events import AuditEvent
from audit.services import audit_record

from .models import RevokedAccessToken, User
from .tokens import InvalidToken, check_token_tenant


def load_token_user(*, user_id: Any, jti: str, from_public: bool, generation: int = 0) -> User | None:
    """The active user behind a token, or None if gone, inactive, or the token was revoked (by
    logout, or by a password reset or change, which raises the user's `token_generation`)."""
    query = User.objects.filter(pk=user_id, is_active=True, token_generation=generation).annotate(
        revoked=Exists(RevokedAccessToken.objects.filter(jti=jti))
    )
    if from_public:
        with schema_context(get_public_schema_name()):
            user = query.first()
    else:
        user = query.first()
    if user is None or user.revoked:
        return None
    return user


class TenantJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:  # type: ignore[override]
        header = self.get_header(request)
        if header is None:
            return None
        raw = self.get_raw_token(header)
        if raw is None:
            return None
        try:
            token = AccessToken(raw)
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc

        tenant = getattr(request, "tenant", None)
        token_tenant = token.get("tenant")
        check_token_tenant(token_tenant=token_tenant, tenant=tenant, role=token.get("role"))
        user = load_token_user(
            user_id=token.get("sub"),
            jti=token["jti"],
            from_public=token_tenant is None and tenant is not None,
            generation=token.get("gen", 0),
        )
        if user is None:
            raise InvalidToken("User is inactive, unknown, or the token was revoked.")
        if token_tenant is None and not user.is_platform_admin:
            raise InvalidToken()
        if token_tenant is None and tenant is not None:  # platform staff inside a tenant: audited
            audit_record(
                event=AuditEvent.PLATFORM_ACCESS,
                target=tenant,
                actor=user,
                details={"method": request.method, "path": request.path},
            )
        request.auth_token_tenant = token_tenant  # type: ignore[attr-defined]
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
