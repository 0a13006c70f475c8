"""Provider configuration of a tenant (its OIDC and SAML providers): checked, stored, audited by
auditlog. Above both protocols: it reads their discovery and metadata, so it imports them; they
import only `services` (matching and just-in-time users) and `common`, and imports run one way."""

from typing import Any

from django.core.exceptions import ValidationError

from accounts.roles import TENANT_ROLES, Role, role_rank
from saas.crypto import secret_encrypt
from saas.validators import is_hostname

from .models import CLIENT_SECRET_PURPOSE, OidcProvider, SamlProvider
from .oidc import discovery_fetch, validate_issuer
from .saml import metadata_fetch, metadata_idp_entity_id
from .selectors import oidc_provider_get, saml_provider_get
from .services import SSORefused


def _clean_common(*, actor: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The settings both protocols share (role map, default role, allowed domains), checked."""
    role_map = data.get("role_map", {})
    default_role = data.get("default_role", Role.MEMBER)
    allowed_domains = data.get("allowed_domains", [])
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
    provider = oidc_provider_get()
    common = _clean_common(actor=actor, data=data)
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
    provider = saml_provider_get()
    common = _clean_common(actor=actor, data=data)
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
