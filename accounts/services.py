"""Writes for users (create, update, deactivate: the role rules), sign-in (login, refresh, logout),
passwords (reset by mail, change) and invitations.

Every write of a User goes through `user_create` / `user_update` here, whoever asks: the API, both
admin sites, an invitation, an SSO just-in-time sign-in, the user service's webhooks and its sync.
The rules live here once: nobody grants a role above their own or touches a user above it, nobody
changes their own role, and the last active owner is never demoted or deactivated (checked with
the active owners' rows locked, so two concurrent demotions cannot both pass).
"""

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.mail.services import email_queue
from audit.context import acting_as, actor_label
from audit.events import AuditEvent
from audit.security import security_event_record
from audit.services import audit_record, object_type_of
from saas.errors import ApplicationError
from saas.ratelimits import login_limits_check
from tenants.models import Tenant

from .models import Invitation, InvitationStatus, RevokedAccessToken, User
from .roles import TENANT_ROLES, Role, role_rank
from .tokens import (
    InvalidToken,
    check_token_tenant,
    invitation_token_check,
    invitation_token_id,
    password_reset_token_check,
    password_reset_token_user_id,
    token_pair,
)


class LoginFailed(InvalidToken):
    default_detail = "Invalid email or password."
    default_code = "not_authenticated"
    error_code = "not_authenticated"


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


@dataclass(frozen=True)
class ServiceActor:
    """A writer of users that is not a person: it has the rights of `role` in the tenant and is
    audited as `label` (`system:user-service`, `sso:<protocol>:<issuer>`)."""

    label: str
    role: str
    pk: None = None
    is_platform_admin: bool = False
    is_authenticated: bool = True

    @property
    def audit_label(self) -> str:
        return self.label


# The user service's webhooks and sync write only what an admin could: never an owner, never a
# role above admin (whoever holds its signing secret may sign events).
USER_SERVICE_ACTOR = ServiceActor(label="system:user-service", role=Role.ADMIN)

Actor = User | ServiceActor


def sso_actor(*, protocol: str, issuer: str) -> ServiceActor:
    """An IdP applying its role map: as an owner (the map was checked against the rights of whoever
    configured it), so it may change owners, but never the last one."""
    return ServiceActor(label=f"sso:{protocol}:{issuer}", role=Role.OWNER)


def _actor_label(actor: Actor | None) -> str:
    return "system" if actor is None else actor_label(actor)


def _row_changes_by(actor: Actor | None) -> AbstractContextManager[None]:
    """auditlog's entries of the write name a ServiceActor (the request's user is nobody during an
    SSO callback, and a worker has none); a person is named by the request already."""
    return acting_as(actor.label) if isinstance(actor, ServiceActor) else nullcontext()


def _is_self(actor: Actor, user: User) -> bool:
    # A platform admin's row lives in the public schema: equal ids there mean nothing here.
    return not actor.is_platform_admin and actor.pk == user.pk


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, code="permission_denied", status_code=status.HTTP_403_FORBIDDEN)


def _check_role_choice(role: str) -> None:
    if role not in TENANT_ROLES:
        raise ValidationError({"role": [f"Must be one of {', '.join(TENANT_ROLES)}."]})


def _check_grant(*, actor: Actor, role: str) -> None:
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


def _check_may_manage(*, actor: Actor, user: User) -> None:
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


def _lock_for_change(user: User) -> tuple[list[int], User]:
    """Locks the user's row, and first the active owners' rows when the user is an owner (only an
    owner's change can leave the tenant without one), as the caller's copy says. Writes to other
    users never wait on the owners, so the user service's events do not queue behind each other.
    A user promoted to owner since the caller read it gets the owners locked after its row (rare;
    should that deadlock with a concurrent demotion, PostgreSQL refuses one of the two)."""
    guessed_owner = user.role == Role.OWNER
    owners = _lock_active_owners() if guessed_owner else []
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.role == Role.OWNER and not guessed_owner:
        owners = _lock_active_owners()
    return owners, locked


def _check_last_owner(*, owners: list[int], user: User, role: str, is_active: bool) -> None:
    leaves = user.role == Role.OWNER and user.is_active and (role != Role.OWNER or not is_active)
    if leaves and [pk for pk in owners if pk != user.pk] == []:
        raise ApplicationError(
            "The last active owner cannot be demoted, deactivated or removed.", code="conflict"
        )


def _check_email_free(email: str, *, exclude_pk: int | None = None) -> None:
    # exclude(pk=None) excludes nothing (the stubs refuse None in a lookup Django accepts)
    if User.objects.filter(email=email).exclude(pk=exclude_pk).exists():  # type: ignore[misc]
        raise ValidationError({"email": ["A user with this email already exists."]})


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def user_password_check(*, password: str, email: str = "", role: str = Role.MEMBER) -> None:
    """The password validators for a would-be user, without writing (errors keyed `password`)."""
    _check_password(password, User(email=normalize_email(email), role=role))


def _save(user: User, *, savepoint: bool = True) -> None:
    """Saves in a savepoint; a concurrent insert of the same email still answers 400, not 500."""
    try:
        with transaction.atomic(savepoint=savepoint):
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
    actor: Actor | None = None,
    validate: bool = True,
    savepoint: bool = True,
    email_checked: bool = False,
) -> User:
    """Creates a user in the active schema; the email is unique regardless of case. A `password`
    of None makes an unusable one (SSO and synced users sign in through their IdP or a reset).

    With an `actor` (a person through the API or admin, or a ServiceActor) the role rules apply:
    nobody grants a role above their own. Without one (tenant provisioning, an accepted invitation
    whose role was checked when it was sent) the caller is trusted. `savepoint=False` is for a
    caller that undoes a failed write itself: the webhook engine runs a batch without savepoints
    and runs it again, a savepoint per event, when one fails. `email_checked=True` is for a caller
    that has just read the (normalised) email's holder in the same transaction and found none (the
    user service's upsert): the check is not made twice. Either way, an email taken meanwhile is
    refused by the unique index (ValidationError, as the check would).
    """
    email = normalize_email(email)
    if actor is not None:
        user_create_check(actor=actor, role=role)
    if not email_checked:
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
    with _row_changes_by(actor):
        _save(user, savepoint=savepoint)
    return user


def user_create_check(
    *, actor: Actor, role: str, email: str | None = None, password: str | None = None
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
    actor: Actor,
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
    actor: Actor,
    user: User,
    email: str = _UNSET,
    first_name: str = _UNSET,
    last_name: str = _UNSET,
    role: str = _UNSET,
    is_active: bool = _UNSET,
    password: str = _UNSET,
    savepoint: bool = True,
) -> User:
    """Changes the given fields under the role rules (`savepoint` as for `user_create`); auditlog
    records the change.

    Refused (403): touching a user above your own role, granting a role above your own, changing
    your own role. Refused (409): leaving the tenant without an active owner.
    """
    with transaction.atomic(savepoint=savepoint), _row_changes_by(actor):
        owners, user = _lock_for_change(user)
        new_role = user.role if role is _UNSET else role
        new_active = user.is_active if is_active is _UNSET else is_active
        user_change_check(actor=actor, user=user, role=new_role, is_active=new_active, owners=owners)

        if email is not _UNSET:
            new_email = normalize_email(email)
            # An unchanged email needs no check: the locked row holds it, the unique index keeps it.
            if new_email != user.email:
                _check_email_free(new_email, exclude_pk=user.pk)
            user.email = new_email
        if first_name is not _UNSET:
            user.first_name = first_name
        if last_name is not _UNSET:
            user.last_name = last_name
        user.role = new_role
        user.is_active = new_active
        if password is not _UNSET:
            _check_password(password, user)
            user.set_password(password)
        _save(user, savepoint=savepoint)
    return user


def user_deactivate(*, actor: Actor, user: User, savepoint: bool = True) -> User:
    """What DELETE does: the user can no longer sign in or use any token; the row stays.

    The last active owner cannot be deactivated (409). Reactivate with `is_active: true`.
    """
    return user_update(actor=actor, user=user, is_active=False, savepoint=savepoint)


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
        allowed = isinstance(user, User) and user.is_staff
    if not isinstance(user, User) or not allowed:
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
        event=AuditEvent.LOGIN, target=user, actor=user, details={"channel": channel, **(details or {})}
    )


def auth_login(*, request: HttpRequest, email: str, password: str, tenant: Tenant | None) -> dict[str, Any]:
    """The API sign-in: `auth_authenticate`, then a token pair bound to the route's tenant."""
    user = auth_authenticate(request=request, email=email, password=password, tenant=tenant, channel="api")
    return token_pair(user=user, tenant=tenant)


def _audit_login_failed(*, email: str, channel: str) -> None:
    known = User.objects.filter(email=email).values_list("pk", flat=True).first()
    security_event_record(
        kind=AuditEvent.LOGIN_FAILED,
        object_type="accounts.user",
        object_id=known,
        details={"email": email, "channel": channel},
    )


def _token_user(*, token: RefreshToken | AccessToken, tenant: Tenant | None) -> User:
    check_token_tenant(token_tenant=token.get("tenant"), tenant=tenant, role=token.get("role"))
    if token.get("tenant") != (tenant.slug if tenant else None):
        raise InvalidToken("Refresh tokens are used on the route that issued them.")
    user = User.objects.filter(
        pk=token.get("sub"), is_active=True, token_generation=token.get("gen", 0)
    ).first()
    if user is None:
        raise InvalidToken()
    return user


def auth_refresh(*, refresh: str, tenant: Tenant | None) -> dict[str, Any]:
    """Rotates a refresh token: the old one is blacklisted, and a reused one is refused (401)."""
    try:
        token = RefreshToken(refresh, verify=False)  # type: ignore[arg-type]  # simplejwt annotates the raw token as a Token
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
        if outstanding is not None and not reused:
            BlacklistedToken.objects.create(token=outstanding)
            return token_pair(user=user, tenant=tenant)
    _audit_refresh_reuse(refresh=refresh)  # outside the transaction: the refusal can't undo it
    raise InvalidToken("Token is blacklisted.")


def _audit_refresh_reuse(*, refresh: str) -> None:
    """Audits a genuine, unexpired refresh token presented again after rotation or logout."""
    try:
        token = RefreshToken(refresh, verify=False)  # type: ignore[arg-type]  # simplejwt annotates the raw token as a Token
        claims = token.get_token_backend().decode(refresh, verify=True)  # type: ignore[arg-type]
    except Exception:
        return
    if not BlacklistedToken.objects.filter(token__jti=claims.get("jti")).exists():
        return
    user = User.objects.filter(pk=claims.get("sub")).first()  # type: ignore[misc]  # None: no user
    audit_record(
        event=AuditEvent.REFRESH_REUSE,
        target=user or (object_type_of(User), None),
        actor=user or "anonymous",
        details={"jti": claims.get("jti")},
    )


def auth_logout(*, access: AccessToken, refresh: str, user: User, tenant: Tenant | None) -> None:
    """Ends a session: its refresh token is blacklisted and its access token revoked at once."""
    try:
        token = RefreshToken(refresh, verify=False)  # type: ignore[arg-type]  # simplejwt annotates the raw token as a Token
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
        audit_record(event=AuditEvent.LOGOUT, target=user, actor=user)


# ---------------------------------------------------------------------------------------------
# Passwords (issue 13): reset by mail, change; either ends every session of the user
# ---------------------------------------------------------------------------------------------


class InvalidLink(ApplicationError):
    """A reset or invitation token that is malformed, of another tenant, used, revoked or expired."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid_token", status_code=status.HTTP_400_BAD_REQUEST)


RESET_LINK_INVALID = "This password reset link is invalid, expired or already used. Ask for a new one."
INVITATION_LINK_INVALID = "This invitation is invalid, expired, revoked or already accepted."


def user_tokens_revoke(*, user: User) -> None:
    """Ends every session of `user` at once, in the active schema: raises its token generation (each
    access and refresh token issued before is refused from the next request on) and blacklists its
    outstanding refresh tokens. Browser sessions end with the password change that calls this
    (Django's session hash). Call it in the transaction of that change."""
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    outstanding = OutstandingToken.objects.filter(
        user_id=user.pk, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


def _set_password(user: User, password: str, *, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])


def password_reset_request(*, request: HttpRequest, tenant: Tenant, email: str) -> None:
    """Anyone may ask for a reset mail; the answer and the work done here are the same whether or not
    the email has an account (the worker finds the user when it renders the mail, and sends nothing
    for an unknown one). Counted like a sign-in (per IP and per email, RateLimited) and recorded as a
    security event (bounded under a flood) in the tenant's trail."""
    email = normalize_email(email)
    login_limits_check(request, tenant=tenant, email=email)
    known = User.objects.filter(email=email).values_list("pk", flat=True).first()
    security_event_record(
        kind=AuditEvent.PASSWORD_RESET_REQUEST,
        object_type="accounts.user",
        object_id=known,
        details={"email": email},
    )
    email_queue(kind="password_reset", to=email)


def password_reset_user(*, token: str, lock: bool = False) -> User | None:
    """The active user a reset token is current for, in this schema; None for any bad token."""
    user_id = password_reset_token_user_id(token)
    if user_id is None:
        return None
    users = User.objects.select_for_update() if lock else User.objects.all()
    user = users.filter(pk=user_id, is_active=True, role__in=TENANT_ROLES).first()
    if user is None or not password_reset_token_check(user=user, token=token):
        return None
    return user


def password_reset_confirm(*, request: HttpRequest, tenant: Tenant, token: str, password: str) -> User:
    """Sets a new password from a reset link: once (the token is spent by the change it makes), within
    PASSWORD_RESET_TIMEOUT, in the tenant that sent it. Ends every session of the user and audits
    `password_reset`. A bad token is InvalidLink (400 `invalid_token`, a security event); a weak
    password a ValidationError on `password`. Counted like a sign-in (per IP)."""
    login_limits_check(request, tenant=tenant, email=None)
    try:
        with transaction.atomic():
            user = password_reset_user(token=token, lock=True)  # concurrent uses queue on the row
            if user is None:
                raise InvalidLink(RESET_LINK_INVALID)
            _set_password(user, password)
            user_tokens_revoke(user=user)
            audit_record(event=AuditEvent.PASSWORD_RESET, target=user, actor=user)
    except InvalidLink:
        security_event_record(kind=AuditEvent.PASSWORD_RESET_INVALID_TOKEN, object_type="accounts.user")
        raise
    return user


def password_change(*, request: HttpRequest, user: User, current_password: str, new_password: str) -> None:
    """A signed-in user (any role, platform staff too) sets a new password, giving the current one.

    Checking the current password is a sign-in attempt: counted per IP and per email (RateLimited),
    a wrong one is a security event and a ValidationError on `current_password`. Every session of the
    user ends, this one included (the client signs in again with the new password); audited
    `password_change`."""
    if not isinstance(user, User):  # a machine credential (an API key) has no password to change
        raise _refuse("Only a signed-in person can change their password.")
    tenant: Tenant | None = getattr(request, "tenant", None)
    home = None if user.is_platform_admin else tenant  # the schema the user's row lives in
    login_limits_check(request, tenant=home, email=user.email)
    public = home is None and tenant is not None
    with schema_context(get_public_schema_name()) if public else nullcontext():
        if not user.check_password(current_password):
            security_event_record(
                kind=AuditEvent.PASSWORD_CHANGE_FAILED, object_type="accounts.user", object_id=user.pk
            )
            raise ValidationError({"current_password": ["The current password is not correct."]})
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)
            _set_password(user, new_password, field="new_password")
            user_tokens_revoke(user=user)
            audit_record(event=AuditEvent.PASSWORD_CHANGE, target=user, actor=user)


# ---------------------------------------------------------------------------------------------
# Invitations (issue 13): an owner or admin invites an email with a role; accepting creates the user
# ---------------------------------------------------------------------------------------------

EMAIL_HAS_ACCOUNT = (
    "This email already has an account here: that person can sign in (or reset their password)."
)
INVITATION_PENDING = "An invitation to this email is already pending; revoke it to send a new one."


def _check_no_account(email: str) -> None:
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": [EMAIL_HAS_ACCOUNT]})


def invitation_create_check(*, actor: User, email: str, role: str) -> None:
    """The rules for a new invitation, without writing: the users API's role rules (nobody invites
    above their own role), no account with that email yet, no other pending invitation to it."""
    _check_role_choice(role)
    _check_grant(actor=actor, role=role)
    email = normalize_email(email)
    _check_no_account(email)
    if Invitation.objects.filter(
        email=email, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
    ).exists():
        raise ValidationError({"email": [INVITATION_PENDING]})


def invitation_create(
    *, actor: User, email: str, role: str = Role.MEMBER, first_name: str = "", last_name: str = ""
) -> Invitation:
    """Invites `email` to join with `role` (see `invitation_create_check`) for INVITATION_TTL_DAYS,
    audits `invitation_send` and mails the link after the commit."""
    email = normalize_email(email)
    now = timezone.now()
    with transaction.atomic():
        invitation_create_check(actor=actor, email=email, role=role)
        for stale in Invitation.objects.select_for_update().filter(
            email=email, status=InvitationStatus.PENDING, expires_at__lte=now
        ):
            stale.status = InvitationStatus.EXPIRED  # frees the one-pending-per-email slot
            stale.save(update_fields=["status"])
        invitation = Invitation(
            email=email,
            role=role,
            first_name=first_name,
            last_name=last_name,
            invited_by=_actor_label(actor),
            expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
        )
        try:
            with transaction.atomic():
                invitation.save()
        except IntegrityError:  # a concurrent invitation to the same email won
            raise ValidationError({"email": [INVITATION_PENDING]}) from None
        audit_record(
            event=AuditEvent.INVITATION_SEND,
            target=invitation,
            actor=actor,
            details={"email": email, "role": role},
        )
        email_queue(kind="invitation", to=email, params={"invitation_id": invitation.pk})
    return invitation


def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    """Revokes an invitation (its link stops working), audited `invitation_revoke`. Nobody revokes an
    invitation to a role above their own (403); an accepted one is 409; revoking twice is a no-op."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if role_rank(invitation.role) > role_rank(actor):
            raise _refuse("You cannot revoke an invitation to a role above your own.")
        if invitation.status == InvitationStatus.ACCEPTED:
            raise ApplicationError("This invitation was already accepted.", code="conflict")
        if invitation.status == InvitationStatus.REVOKED:
            return invitation
        invitation.status, invitation.revoked_at = InvitationStatus.REVOKED, timezone.now()
        invitation.save(update_fields=["status", "revoked_at"])
        audit_record(
            event=AuditEvent.INVITATION_REVOKE,
            target=invitation,
            actor=actor,
            details={"email": invitation.email, "role": invitation.role},
        )
    return invitation


def invitation_for_token(*, token: str, lock: bool = False) -> Invitation | None:
    """The pending, unexpired invitation of this schema a token is for; None for any bad token."""
    invitation_id = invitation_token_id(token)
    if invitation_id is None:
        return None
    invitations = Invitation.objects.select_for_update() if lock else Invitation.objects.all()
    invitation = invitations.filter(
        pk=invitation_id, status=InvitationStatus.PENDING, expires_at__gt=timezone.now()
    ).first()
    if invitation is None or not invitation_token_check(invitation=invitation, token=token):
        return None
    return invitation


def invitation_accept(
    *,
    request: HttpRequest,
    tenant: Tenant,
    token: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    channel: str = "api",
) -> User:
    """Accepts an invitation: creates the user with the invited email and role (`user_create`, the
    password validators apply), once, before it expires, in the tenant that sent it; audits
    `invitation_accept` and the sign-in. Counted like a sign-in (per IP). A bad token is InvalidLink
    (400 `invalid_token`, a security event); an email that got an account meanwhile a ValidationError."""
    login_limits_check(request, tenant=tenant, email=None)
    try:
        with transaction.atomic():
            invitation = invitation_for_token(token=token, lock=True)  # concurrent accepts queue here
            if invitation is None:
                raise InvalidLink(INVITATION_LINK_INVALID)
            _check_no_account(invitation.email)
            user = user_create(
                email=invitation.email,
                password=password,
                role=invitation.role,
                first_name=first_name or invitation.first_name,
                last_name=last_name or invitation.last_name,
            )
            invitation.status, invitation.accepted_at, invitation.user = (
                InvitationStatus.ACCEPTED,
                timezone.now(),
                user,
            )
            invitation.save(update_fields=["status", "accepted_at", "user"])
            audit_record(
                event=AuditEvent.INVITATION_ACCEPT,
                target=invitation,
                actor=user,
                details={"email": invitation.email, "role": invitation.role, "user_id": user.pk},
            )
            auth_login_record(user=user, channel=channel, details={"via": "invitation"})
    except InvalidLink:
        security_event_record(kind=AuditEvent.INVITATION_INVALID_TOKEN, object_type="accounts.invitation")
        raise
    return user
