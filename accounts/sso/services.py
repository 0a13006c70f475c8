"""SSO rules shared by both protocols: provider configuration, user matching, JIT and roles.

Users are matched by (protocol, issuer, subject) only. An email that already belongs to a local
account which is not linked to that identity is refused, never merged: another IdP (or a
password account) cannot take over an account by asserting the same address.
"""

import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.roles import TENANT_ROLES, role_rank
from accounts.services import (
    auth_login_record,
    auth_sso_attempt_check,
    normalize_email,
    sso_actor,
    user_create,
    user_update,
)
from audit import services as audit
from audit.events import AuditEvent
from audit.security import security_event_record
from saas.errors import ApplicationError
from saas.ratelimits import RateLimited
from saas.typing import routed_tenant

from .models import OidcProvider, SamlProvider, SsoIdentity

logger = logging.getLogger(__name__)

REFUSAL_MESSAGES = {
    "not_configured": "Single sign-on is not set up for this organisation.",
    "state_mismatch": "The sign-in attempt expired or did not start here. Please try again.",
    "nonce_mismatch": "The identity provider's answer did not match this sign-in attempt.",
    "invalid_token": "The identity provider's answer could not be verified.",
    "algorithm_not_allowed": "The identity provider signed its answer with an algorithm we do not accept.",
    "wrong_issuer": "The answer came from an identity provider this organisation does not use.",
    "wrong_audience": "The identity provider's answer was meant for another application.",
    "token_expired": "The identity provider's answer has expired. Please try again.",
    "email_missing": "The identity provider did not send an email address.",
    "email_not_verified": "Your email address is not verified at the identity provider.",
    "domain_not_allowed": "Your email domain is not allowed to sign in here.",
    "identity_conflict": "An account with this email already exists and is not linked to this "
    "identity provider. Ask an administrator.",
    "jit_disabled": "You do not have an account here yet. Ask an administrator to invite you.",
    "user_inactive": "Your account is deactivated.",
    "idp_error": "The identity provider refused or could not complete the sign-in.",
    "idp_unreachable": "The identity provider could not be reached. Please try again later.",
    "signature_missing": "The identity provider's answer was not signed.",
    "signature_invalid": "The identity provider's answer could not be verified.",
    "unsolicited": "This sign-in did not start here, and this organisation does not accept "
    "sign-ins started at the identity provider.",
    "replayed": "This sign-in answer was already used.",
    "destination_mismatch": "The identity provider's answer was addressed to another place.",
    "binding_mismatch": "This sign-in was started in another browser. Please try again.",
    "subject_missing": "The identity provider did not identify the user in a stable way.",
    "invalid_response": "The identity provider's answer could not be read.",
    "rate_limited": "Too many sign-in attempts from your address. Please wait a minute and try again.",
}


class SSORefused(Exception):
    """A sign-in refused for `reason` (a key of REFUSAL_MESSAGES); no session may result."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason if reason in REFUSAL_MESSAGES else "invalid_response"
        self.detail = detail

    @property
    def message(self) -> str:
        return REFUSAL_MESSAGES[self.reason]


@dataclass(frozen=True)
class ExternalIdentity:
    """What an IdP asserted about a user, after the protocol layer verified it."""

    protocol: str
    issuer: str
    subject: str
    email: str
    email_verified: bool
    groups: list[str] = field(default_factory=list)
    first_name: str = ""
    last_name: str = ""


# ---------------------------------------------------------------------------------------------
# Sign-in: matching, just-in-time creation, role mapping
# ---------------------------------------------------------------------------------------------
def sso_refusal_record(*, protocol: str, reason: str, detail: str = "", issuer: str = "") -> None:
    """Audits a refused SSO sign-in with its reason (no personal data beyond what the IdP sent)."""
    logger.info("sso refused", extra={"protocol": protocol, "reason": reason, "detail": detail[:300]})
    security_event_record(  # anyone can send a forged answer: bounded under a flood
        kind=AuditEvent.SSO_REFUSED,
        object_type="sso_login",
        details={"protocol": protocol, "reason": reason, "detail": detail[:300]},
        actor=f"sso:{protocol}:{issuer}" if issuer else f"sso:{protocol}",
    )


def sso_attempt_check(*, request: HttpRequest) -> None:
    """An IdP's answer arriving here is a sign-in attempt: counted per client IP (SSORefused over it)."""
    try:
        auth_sso_attempt_check(request=request, tenant=routed_tenant(request))
    except RateLimited as exc:
        raise SSORefused("rate_limited", f"retry after {exc.wait} s") from exc


def role_for_groups(*, groups: list[str], role_map: dict[str, str], default_role: str) -> str:
    """The highest role any of the user's groups maps to, else the provider's default role."""
    mapped = [role_map[g] for g in groups if g in role_map and role_map[g] in TENANT_ROLES]
    if not mapped:
        return default_role
    return max(mapped, key=role_rank)


def _email_domain_ok(email: str, allowed: list[str]) -> bool:
    return not allowed or email.rsplit("@", 1)[-1] in allowed


def _apply_role(*, user: User, role: str, identity: ExternalIdentity) -> User:
    """Re-applies the IdP's role through `user_update` (the last owner stays one: the sign-in goes
    on with the current role, and the refusal is audited)."""
    if user.role == role:
        return user
    actor = sso_actor(protocol=identity.protocol, issuer=identity.issuer)
    try:
        return user_update(actor=actor, user=user, role=role)
    except ApplicationError as exc:
        if exc.code != "conflict":
            raise
        audit.audit_record(
            event=AuditEvent.SSO_ROLE_CHANGE_REFUSED,
            target=user,
            actor=actor,
            details={"role": [user.role, role], "reason": "last_owner"},
        )
        return user


def sso_user_resolve(*, provider: OidcProvider | SamlProvider, identity: ExternalIdentity) -> User:
    """The local user for a verified IdP identity: found by (issuer, subject) or created just in time.

    Enforces a verified email in an allowed domain, refuses to merge with an unlinked account of the
    same email, re-applies the IdP's role, and audits the login, creation and role change.
    """
    if not identity.subject:
        raise SSORefused("subject_missing")
    email = normalize_email(identity.email or "")
    if not email or "@" not in email:
        raise SSORefused("email_missing")
    if not identity.email_verified:
        raise SSORefused("email_not_verified", email)
    if not _email_domain_ok(email, provider.allowed_domains):
        raise SSORefused("domain_not_allowed", email.rsplit("@", 1)[-1])
    role = role_for_groups(
        groups=identity.groups, role_map=provider.role_map, default_role=provider.default_role
    )
    actor = sso_actor(protocol=identity.protocol, issuer=identity.issuer)
    try:
        with transaction.atomic():
            link = (
                SsoIdentity.objects.select_for_update()
                .select_related("user")
                .filter(protocol=identity.protocol, issuer=identity.issuer, subject=identity.subject)
                .first()
            )
            if link is None:
                if User.objects.filter(email=email).exists():
                    raise SSORefused("identity_conflict", email)
                if not provider.jit:
                    raise SSORefused("jit_disabled", email)
                user = user_create(
                    email=email,
                    password=None,
                    role=role,
                    first_name=identity.first_name[:150],
                    last_name=identity.last_name[:150],
                    validate=False,
                    actor=actor,
                )
                link = SsoIdentity.objects.create(
                    user=user,
                    protocol=identity.protocol,
                    issuer=identity.issuer,
                    subject=identity.subject,
                    email=email,
                )
            else:
                user = link.user
                if not user.is_active:
                    raise SSORefused("user_inactive", user.email)
                user = _apply_role(user=user, role=role, identity=identity)
            link.email = email
            link.last_login_at = timezone.now()
            link.save(update_fields=["email", "last_login_at"])
    except IntegrityError as exc:  # two first sign-ins of the same person at once
        raise SSORefused("invalid_response", "concurrent first sign-in") from exc
    auth_login_record(
        user=user, channel="sso", details={"protocol": identity.protocol, "issuer": identity.issuer}
    )
    return user
