"""Reads of the current tenant's SSO configuration (the active schema scopes every query)."""

from .models import OidcProvider, SamlProvider


def oidc_provider_get() -> OidcProvider:
    """The tenant's OIDC provider row, or an unsaved disabled default."""
    return OidcProvider.objects.filter(pk=1).first() or OidcProvider(pk=1)


def saml_provider_get() -> SamlProvider:
    return SamlProvider.objects.filter(pk=1).first() or SamlProvider(pk=1)


def enabled_protocols() -> list[str]:
    """The protocols a sign-in page offers, in a stable order."""
    found = []
    if OidcProvider.objects.filter(pk=1, enabled=True).exists():
        found.append("oidc")
    if SamlProvider.objects.filter(pk=1, enabled=True).exists():
        found.append("saml")
    return found
