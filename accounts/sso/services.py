"""SSO rules shared by both protocols: provider configuration, user matching, JIT and roles.

Users are matched by (protocol, issuer, subject) only. An email that already belongs to a local
account which is not linked to that identity is refused, never merged: another IdP (or a
password account) cannot take over an account by asserting the same address.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from accounts.roles import TENANT_ROLES, Role, role_rank
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
from saas.crypto import secret_encrypt
from saas.exceptions import ApplicationError
from saas.ratelimits import RateLimited
from saas.validators import is_hostname

from .models import CLIENT_SECRET_PURPOSE, OidcProvider, SamlProvider, SsoIdentity

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
# Provider configuration
# ---------------------------------------------------------------------------------------------
def _clean_common(*, actor: Any, role_map: Any, default_role: Any, allowed_domains: Any) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if not isinstance(role_map, dict) or not all(
        isinstance(k, str) and k and v in TENANT_ROLES for k, v in role_map.items()
    ):
        errors["role_map"] = ["Map group names to one of: owner, admin, member."]
        role_map = {}
    if default_role not in TENANT_ROLES:
        errors["default_role"] = ["Choose one of: owner, admin, member."]
    granted = [*role_map.values(), default_role] if default_role in TENANT_ROLES else [*role_map.values()]
    if any(role_rank(r) > role_rank(actor) for r in granted):
        errors.setdefault("role_map", []).append("Nobody can grant a role above their own.")
    domains: list[str] = []
    for raw in allowed_domains if isinstance(allowed_domains, list) else [None]:
        domain = str(raw).strip().lower().lstrip("@") if isinstance(raw, str) else ""
        if not is_hostname(domain):
            errors.setdefault("allowed_domains", []).append(f"{raw!r} is not a domain name.")
        elif domain not in domains:
            domains.append(domain)
    if errors:
        raise ValidationError(errors)
    return {"role_map": dict(role_map), "default_role": default_role, "allowed_domains": domains}


def oidc_provider_update(*, actor: Any, client_secret: str | None = None, **data: Any) -> OidcProvider:
    """Saves the tenant's OIDC provider; checks the issuer's discovery document when enabled; audited."""
    from .oidc import discovery_fetch, validate_issuer
    from .selectors import oidc_provider_get

    provider = oidc_provider_get()
    common = _clean_common(
        actor=actor,
        role_map=data.get("role_map", {}),
        default_role=data.get("default_role", Role.MEMBER),
        allowed_domains=data.get("allowed_domains", []),
    )
    issuer = str(data.get("issuer") or "").strip()
    scopes = [s for s in data.get("scopes") or ["openid", "email", "profile"] if s]
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    provider.enabled = bool(data.get("enabled", False))
    provider.issuer = issuer
    provider.client_id = str(data.get("client_id") or "").strip()
    provider.scopes = scopes
    provider.claim_email = data.get("claim_email") or "email"
    provider.claim_groups = data.get("claim_groups") or "groups"
    provider.jit = bool(data.get("jit", True))
    for key, value in common.items():
        setattr(provider, key, value)
    if client_secret is not None:
        provider.client_secret_encrypted = secret_encrypt(client_secret or "", purpose=CLIENT_SECRET_PURPOSE)

    errors: dict[str, list[str]] = {}
    if issuer:
        problem = validate_issuer(issuer)
        if problem:
            errors["issuer"] = [problem]
    if provider.enabled:
        if not issuer:
            errors["issuer"] = ["Required to enable OpenID Connect."]
        if not provider.client_id:
            errors["client_id"] = ["Required to enable OpenID Connect."]
        if not provider.client_secret_encrypted:
            errors["client_secret"] = ["Required to enable OpenID Connect."]
        if not errors:
            try:
                discovery_fetch(issuer=issuer, use_cache=False)
            except SSORefused as exc:
                errors["issuer"] = [f"Could not read the provider's discovery document ({exc.detail})."]
    if errors:
        raise ValidationError(errors)
    provider.save()  # audited by auditlog (the client secret masked)
    return provider


def saml_provider_update(*, actor: Any, **data: Any) -> SamlProvider:
    """Saves the tenant's SAML provider (metadata inline or fetched from a URL, checked); audited."""
    from .saml import metadata_fetch, metadata_idp_entity_id
    from .selectors import saml_provider_get

    provider = saml_provider_get()
    common = _clean_common(
        actor=actor,
        role_map=data.get("role_map", {}),
        default_role=data.get("default_role", Role.MEMBER),
        allowed_domains=data.get("allowed_domains", []),
    )
    xml = str(data.get("idp_metadata_xml") or "").strip()
    url = str(data.get("idp_metadata_url") or "").strip()
    errors: dict[str, list[str]] = {}
    if xml and url:
        errors["idp_metadata_xml"] = ["Give idp_metadata_xml or idp_metadata_url, not both."]
    elif url:
        try:
            xml = metadata_fetch(url)
        except SSORefused as exc:
            errors["idp_metadata_url"] = [f"Could not read the metadata ({exc.detail})."]
    entity_id = ""
    if xml and not errors:
        try:
            entity_id = metadata_idp_entity_id(xml)
        except SSORefused as exc:
            errors["idp_metadata_xml" if not url else "idp_metadata_url"] = [exc.detail]
    enabled = bool(data.get("enabled", False))
    if enabled and not xml and not errors:
        errors["idp_metadata_xml"] = ["Required to enable SAML (or idp_metadata_url)."]
    if errors:
        raise ValidationError(errors)
    provider.enabled = enabled
    provider.idp_metadata_xml = xml
    provider.idp_metadata_url = url
    provider.idp_entity_id = entity_id
    provider.attribute_email = data.get("attribute_email") or "email"
    provider.attribute_groups = data.get("attribute_groups") or "groups"
    provider.jit = bool(data.get("jit", True))
    provider.allow_idp_initiated = bool(data.get("allow_idp_initiated", False))
    for key, value in common.items():
        setattr(provider, key, value)
    provider.save()  # audited by auditlog
    return provider


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
        auth_sso_attempt_check(request=request, tenant=request.tenant)  # type: ignore[attr-defined]
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
