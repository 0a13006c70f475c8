"""Tokens: JWTs bound to a tenant (every token names its tenant's slug, or null for platform staff),
and the one-time tokens of password reset and invitation links, bound to the tenant's schema."""

import re
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36
from rest_framework import exceptions
from rest_framework_simplejwt.tokens import RefreshToken

from audit.events import AuditEvent
from audit.security import security_event_record
from saas.typing import connection
from tenants.models import Tenant

from .models import Invitation, User


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
    refresh["gen"] = user.token_generation  # raised by a password reset or change: older tokens end
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
    security_event_record(
        kind=AuditEvent.TOKEN_TENANT_MISMATCH, details={"token_tenant": token_tenant, "role": role}
    )
    raise TokenTenantMismatch()


# ---- One-time link tokens: `<id in base 36>-<rest>`, valid only in the schema that made them ----

_LINK_TOKEN_RE = re.compile(r"^([0-9a-z]{1,13})-([0-9a-z-]{1,100})$")


def _split(token: str) -> tuple[int, str] | None:
    match = _LINK_TOKEN_RE.match(token or "")
    if match is None:
        return None
    try:
        return base36_to_int(match[1]), match[2]
    except ValueError:
        return None


class _PasswordResetTokens(PasswordResetTokenGenerator):
    """Django's reset tokens (expire after PASSWORD_RESET_TIMEOUT, HMAC with SECRET_KEY and its
    fallbacks), also bound to the schema and the user's token generation: a token made in one tenant
    means nothing in another, and any password change or reset, or a sign-in in the browser (which
    moves `last_login`), spends every outstanding one."""

    key_salt = "saas.accounts.password_reset"
    algorithm = "sha256"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        login = "" if user.last_login is None else user.last_login.replace(microsecond=0, tzinfo=None)
        return (
            f"{connection.schema_name}:{user.pk}:{user.password}:{login}:{timestamp}:"
            f"{user.email}:{user.is_active}:{user.token_generation}"
        )


_reset_tokens = _PasswordResetTokens()


def password_reset_token(*, user: User) -> str:
    """A reset token for `user`, good for one use within PASSWORD_RESET_TIMEOUT."""
    return f"{int_to_base36(user.pk)}-{_reset_tokens.make_token(user)}"


def password_reset_token_user_id(token: str) -> int | None:
    """The user id a reset token names (unchecked), or None when it is malformed."""
    parts = _split(token)
    return parts[0] if parts else None


def password_reset_token_check(*, user: User, token: str) -> bool:
    """Whether `token` is a current reset token of `user` in this schema."""
    parts = _split(token)
    return parts is not None and parts[0] == user.pk and _reset_tokens.check_token(user, parts[1])


def _invitation_digest(invitation: Invitation, secret: str) -> str:
    value = f"{connection.schema_name}:{invitation.pk}:{invitation.email}:{invitation.created_at.isoformat()}"
    return salted_hmac("saas.accounts.invitation", value, secret=secret, algorithm="sha256").hexdigest()[:48]


def invitation_token(*, invitation: Invitation) -> str:
    """The invitation's link token: an HMAC of the row and the schema (nothing to store or leak)."""
    return f"{int_to_base36(invitation.pk)}-{_invitation_digest(invitation, settings.SECRET_KEY)}"


def invitation_token_id(token: str) -> int | None:
    """The invitation id a token names (unchecked), or None when it is malformed."""
    parts = _split(token)
    return parts[0] if parts else None


def invitation_token_check(*, invitation: Invitation, token: str) -> bool:
    """Whether `token` is this invitation's, in this schema (SECRET_KEY_FALLBACKS still count)."""
    parts = _split(token)
    if parts is None or parts[0] != invitation.pk:
        return False
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(parts[1], _invitation_digest(invitation, s)) for s in secrets)
