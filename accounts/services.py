"""Writes for users and sign-in: login, refresh with rotation, logout."""

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name, schema_context
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from audit.services import audit_record
from tenants.models import Tenant

from .models import TENANT_ROLES, RevokedAccessToken, Role, User
from .tokens import InvalidToken, check_token_tenant, token_pair


class LoginFailed(InvalidToken):
    default_detail = "Invalid email or password."
    default_code = "not_authenticated"
    error_code = "not_authenticated"


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def user_create(
    *,
    email: str,
    password: str | None,
    role: str = Role.MEMBER,
    first_name: str = "",
    last_name: str = "",
    external_id: str | None = None,
    validate: bool = True,
) -> User:
    """Creates a user in the active schema; the email is unique regardless of case."""
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})
    user = User(email=email, role=role, first_name=first_name, last_name=last_name, external_id=external_id)
    if password is not None and validate:
        validate_password(password, user)
    user.set_password(password)
    user.save()
    return user


def auth_login(*, request: HttpRequest, email: str, password: str, tenant: Tenant | None) -> dict[str, Any]:
    """Checks credentials in the route's schema; one answer for a wrong password or an unknown email."""
    user = authenticate(request, username=normalize_email(email), password=password)
    allowed = isinstance(user, User) and (
        user.is_platform_admin if tenant is None else user.role in TENANT_ROLES
    )
    if not allowed:
        _audit_login_failed(email=normalize_email(email))
        raise LoginFailed()
    audit_record(action="login", object_type="accounts.user", object_id=user.pk, actor=user)
    return token_pair(user=user, tenant=tenant)


def _audit_login_failed(*, email: str) -> None:
    known = User.objects.filter(email=email).values_list("pk", flat=True).first()
    audit_record(
        action="login_failed",
        object_type="accounts.user",
        object_id=known,
        changes={"email": email},
        actor="anonymous",
    )


def _token_user(*, token: RefreshToken | AccessToken, tenant: Tenant | None) -> User:
    check_token_tenant(token_tenant=token.get("tenant"), tenant=tenant, role=token.get("role"))
    if token.get("tenant") != (tenant.slug if tenant else None):
        raise InvalidToken("Refresh tokens are used on the route that issued them.")
    user = User.objects.filter(pk=token.get("sub"), is_active=True).first()
    if user is None:
        raise InvalidToken()
    return user


def auth_refresh(*, refresh: str, tenant: Tenant | None) -> dict[str, Any]:
    """Rotates a refresh token: the old one is blacklisted, and a reused one is refused (401)."""
    try:
        token = RefreshToken(refresh, verify=False)
        token.verify()  # signature and expiry, without the blacklist look-up (done under lock below)
    except TokenError as exc:
        _audit_refresh_reuse(refresh=refresh)
        raise InvalidToken(str(exc)) from exc
    user = _token_user(token=token, tenant=tenant)
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update(of=("self",))
            .order_by()
            .filter(jti=token["jti"])
            .first()
        )
        reused = outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists()
        if not reused:
            BlacklistedToken.objects.create(token=outstanding)
            return token_pair(user=user, tenant=tenant)
    _audit_refresh_reuse(refresh=refresh)  # outside the transaction: the refusal can't undo it
    raise InvalidToken("Token is blacklisted.")


def _audit_refresh_reuse(*, refresh: str) -> None:
    """Audits a genuine, unexpired refresh token presented again after rotation or logout."""
    try:
        claims = RefreshToken(refresh, verify=False).get_token_backend().decode(refresh, verify=True)
    except Exception:
        return
    if not BlacklistedToken.objects.filter(token__jti=claims.get("jti")).exists():
        return
    user = User.objects.filter(pk=claims.get("sub")).first()
    audit_record(
        action="refresh_reuse",
        object_type="accounts.user",
        object_id=user.pk if user else None,
        changes={"jti": claims.get("jti")},
        actor=user or "anonymous",
    )


def auth_logout(*, access: AccessToken, refresh: str, user: User, tenant: Tenant | None) -> None:
    """Ends a session: its refresh token is blacklisted and its access token revoked at once."""
    try:
        token = RefreshToken(refresh, verify=False)
        token.verify()
    except TokenError as exc:
        raise InvalidToken(str(exc)) from exc
    if str(token.get("sub")) != str(user.pk) or token.get("tenant") != access.get("tenant"):
        raise InvalidToken("The refresh token does not belong to this session.")
    expires_at = datetime.fromtimestamp(access["exp"], tz=UTC)
    public = access.get("tenant") is None and tenant is not None
    with schema_context(get_public_schema_name()) if public else nullcontext(), transaction.atomic():
        token.blacklist()
        RevokedAccessToken.objects.get_or_create(jti=access["jti"], defaults={"expires_at": expires_at})
        audit_record(action="logout", object_type="accounts.user", object_id=user.pk, actor=user)
