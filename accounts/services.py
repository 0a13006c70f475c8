"""Writes for users (create, update, deactivate: the role rules) and sign-in (login, refresh, logout)."""

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name, schema_context
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from audit.context import actor_label
from audit.security import security_event_record
from audit.services import audit_record
from saas.exceptions import ApplicationError
from saas.permissions import role_rank
from saas.ratelimits import login_limits_check
from tenants.models import Tenant

from .models import TENANT_ROLES, RevokedAccessToken, Role, User
from .tokens import InvalidToken, check_token_tenant, token_pair


class LoginFailed(InvalidToken):
    default_detail = "Invalid email or password."
    default_code = "not_authenticated"
    error_code = "not_authenticated"


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def _actor_label(actor: User | None) -> str:
    return "system" if actor is None else actor_label(actor)


def _is_self(actor: User, user: User) -> bool:
    # A platform admin's row lives in the public schema: equal ids there mean nothing here.
    return not actor.is_platform_admin and actor.pk == user.pk


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, code="permission_denied", status_code=status.HTTP_403_FORBIDDEN)


def _check_role_choice(role: str) -> None:
    if role not in TENANT_ROLES:
        raise ValidationError({"role": [f"Must be one of {', '.join(TENANT_ROLES)}."]})


def _check_grant(*, actor: User, role: str) -> None:
    """Nobody grants a role above their own; so only owners (and platform admins) make owners."""
    if role_rank(role) > role_rank(actor):
        if role == Role.OWNER:
            raise _refuse("Only an owner can make owners.")
        raise _refuse("You cannot grant a role above your own.")


def role_grant_check(*, actor: Any, role: str) -> None:
    """`actor` may hand out `role` (to a user, an invitation or an API key): a tenant role, never
    above the actor's own (so only owners and platform admins grant owner). ValidationError, or
    ApplicationError 403."""
    _check_role_choice(role)
    _check_grant(actor=actor, role=role)


def _check_may_manage(*, actor: User, user: User) -> None:
    """Admins manage admins and members; only owners (and platform admins) manage owners."""
    if role_rank(user.role) > role_rank(actor):
        raise _refuse("You cannot change a user whose role is above your own.")


def _lock_active_owners() -> list[int]:
    """Locks every active owner row (in id order, so concurrent writers queue instead of deadlocking)."""
    return list(
        User.objects.select_for_update()
        .filter(role=Role.OWNER, is_active=True)
        .order_by("id")
        .values_list("id", flat=True)
    )


def _check_last_owner(*, owners: list[int], user: User, role: str, is_active: bool) -> None:
    leaves = user.role == Role.OWNER and user.is_active and (role != Role.OWNER or not is_active)
    if leaves and [pk for pk in owners if pk != user.pk] == []:
        raise ApplicationError(
            "The last active owner cannot be demoted, deactivated or removed.", code="conflict"
        )


def _check_email_free(email: str, *, exclude_pk: int | None = None) -> None:
    if User.objects.filter(email=email).exclude(pk=exclude_pk).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def user_password_check(*, password: str, email: str = "", role: str = Role.MEMBER) -> None:
    """The password validators for a would-be user, without writing (errors keyed `password`)."""
    _check_password(password, User(email=normalize_email(email), role=role))


def _save(user: User) -> None:
    """Saves in a savepoint; a concurrent insert of the same email still answers 400, not 500."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"email": ["A user with this email already exists."]}) from None


def user_create(
    *,
    email: str,
    password: str | None,
    role: str = Role.MEMBER,
    first_name: str = "",
    last_name: str = "",
    external_id: str | None = None,
    is_active: bool = True,
    actor: User | None = None,
    validate: bool = True,
) -> User:
    """Creates a user in the active schema; the email is unique regardless of case.

    With an `actor` (a person, through the API or admin) the role rules apply: nobody grants a
    role above their own. Without one (provisioning, sync) the caller is trusted.
    """
    email = normalize_email(email)
    if actor is not None:
        user_create_check(actor=actor, role=role)
    _check_email_free(email)
    user = User(
        email=email,
        role=role,
        first_name=first_name,
        last_name=last_name,
        external_id=external_id,
        is_active=is_active,
    )
    if password is not None and validate:
        _check_password(password, user)
    user.set_password(password)
    _save(user)
    return user


def user_create_check(
    *, actor: User, role: str, email: str | None = None, password: str | None = None
) -> None:
    """The rules for a new user (role, and the email and password when given), without writing: the
    admin form shows them as errors."""
    role_grant_check(actor=actor, role=role)
    if email is not None:
        _check_email_free(normalize_email(email))
    if password:
        user_password_check(password=password, email=email or "", role=role)


def user_change_check(
    *,
    actor: User,
    user: User,
    role: str,
    is_active: bool,
    owners: list[int] | None = None,
    email: str | None = None,
    password: str | None = None,
) -> None:
    """The rules for a change (role, and the email and password when given), without writing;
    `user_update` runs them again under lock."""
    _check_may_manage(actor=actor, user=user)
    if email is not None:
        _check_email_free(normalize_email(email), exclude_pk=user.pk)
    if password:
        _check_password(password, user)
    if role != user.role:
        _check_role_choice(role)
        if _is_self(actor, user):
            raise _refuse("You cannot change your own role.")
        _check_grant(actor=actor, role=role)
    if owners is None:
        owners = list(User.objects.filter(role=Role.OWNER, is_active=True).values_list("id", flat=True))
    _check_last_owner(owners=owners, user=user, role=role, is_active=is_active)


_UNSET: Any = object()


def user_update(
    *,
    actor: User,
    user: User,
    email: str = _UNSET,
    first_name: str = _UNSET,
    last_name: str = _UNSET,
    role: str = _UNSET,
    is_active: bool = _UNSET,
    password: str = _UNSET,
) -> User:
    """Changes the given fields under the role rules; a role change is audited.

    Refused (403): touching a user above your own role, granting a role above your own, changing
    your own role. Refused (409): leaving the tenant without an active owner.
    """
    with transaction.atomic():
        owners = _lock_active_owners()
        user = User.objects.select_for_update().get(pk=user.pk)
        new_role = user.role if role is _UNSET else role
        new_active = user.is_active if is_active is _UNSET else is_active
        user_change_check(actor=actor, user=user, role=new_role, is_active=new_active, owners=owners)

        old_role = user.role
        if email is not _UNSET:
            user.email = normalize_email(email)
            _check_email_free(user.email, exclude_pk=user.pk)
        if first_name is not _UNSET:
            user.first_name = first_name
        if last_name is not _UNSET:
            user.last_name = last_name
        user.role = new_role
        user.is_active = new_active
        if password is not _UNSET:
            _check_password(password, user)
            user.set_password(password)
        _save(user)
        if old_role != new_role:
            audit_record(
                action="update",
                object_type="user",
                object_id=user.pk,
                changes={"role": [old_role, new_role]},
                actor=_actor_label(actor),
            )
    return user


def user_deactivate(*, actor: User, user: User) -> User:
    """What DELETE does: the user can no longer sign in or use any token; the row stays.

    The last active owner cannot be deactivated (409). Reactivate with `is_active: true`.
    """
    return user_update(actor=actor, user=user, is_active=False)


SIGN_IN_CHANNELS = ("api", "browser", "admin", "sso")


def auth_authenticate(
    *, request: HttpRequest, email: str, password: str, tenant: Tenant | None, channel: str
) -> User:
    """Every password sign-in (API, browser form, both admin forms) goes through here.

    Counts the attempt per client IP and per (tenant, email) first (RateLimited, 429, before any
    password is hashed), then checks the credentials in the route's schema: a tenant role on a
    tenant route, platform staff on the platform's, and staff rights for the admin. Audits `login`
    or `login_failed` (object `accounts.user`, with the channel); a wrong password and an unknown
    email get the same LoginFailed.
    """
    email = normalize_email(email)
    login_limits_check(request, tenant=tenant, email=email)
    user = authenticate(request, username=email, password=password)
    allowed = isinstance(user, User) and (
        user.is_platform_admin if tenant is None else user.role in TENANT_ROLES
    )
    if allowed and channel == "admin":
        allowed = user.is_staff
    if not allowed:
        _audit_login_failed(email=email, channel=channel)
        raise LoginFailed()
    auth_login_record(user=user, channel=channel)
    return user


def auth_sso_attempt_check(*, request: HttpRequest, tenant: Tenant) -> None:
    """An SSO sign-in completing here counts per client IP like a password sign-in (RateLimited)."""
    login_limits_check(request, tenant=tenant, email=None)


def auth_login_record(*, user: User, channel: str, details: dict[str, Any] | None = None) -> None:
    """Audits a successful sign-in, the same way for every channel (api, browser, admin, sso)."""
    audit_record(
        action="login",
        object_type="accounts.user",
        object_id=user.pk,
        changes={"channel": channel, **(details or {})},
        actor=user,
    )


def auth_login(*, request: HttpRequest, email: str, password: str, tenant: Tenant | None) -> dict[str, Any]:
    """The API sign-in: `auth_authenticate`, then a token pair bound to the route's tenant."""
    user = auth_authenticate(request=request, email=email, password=password, tenant=tenant, channel="api")
    return token_pair(user=user, tenant=tenant)


def _audit_login_failed(*, email: str, channel: str) -> None:
    known = User.objects.filter(email=email).values_list("pk", flat=True).first()
    security_event_record(
        kind="login_failed",
        object_type="accounts.user",
        object_id=known,
        details={"email": email, "channel": channel},
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
