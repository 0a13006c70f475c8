"""Identity providers of a tenant and the external identities linked to its users (tenant schemas).

The tables keep the names they had when these models belonged to the `accounts` app."""

from django.conf import settings
from django.db import models

CLIENT_SECRET_PURPOSE = "sso-secret"  # noqa: S105 - a key-derivation label, not a secret; the key derivation of saas.crypto: never change it


class Protocol(models.TextChoices):
    OIDC = "oidc"
    SAML = "saml"


class _ProviderBase(models.Model):
    """One row per tenant schema (pk=1): the tenant's own IdP and how its users are provisioned."""

    enabled = models.BooleanField(default=False)
    role_map = models.JSONField(default=dict, blank=True)  # {"<group>": "owner|admin|member"}
    default_role = models.CharField(max_length=20, default="member")
    allowed_domains = models.JSONField(default=list, blank=True)  # empty: any domain
    jit = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OidcProvider(_ProviderBase):
    issuer = models.CharField(max_length=500, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret_encrypted = models.TextField(blank=True)  # saas.crypto, never returned by the API
    scopes = models.JSONField(default=list, blank=True)
    claim_email = models.CharField(max_length=100, default="email")
    claim_groups = models.CharField(max_length=100, default="groups")

    class Meta:
        db_table = "accounts_oidcprovider"

    def __str__(self) -> str:
        return f"OIDC {self.issuer or '(unset)'}"


class SamlProvider(_ProviderBase):
    idp_metadata_xml = models.TextField(blank=True)
    idp_metadata_url = models.CharField(max_length=500, blank=True)
    idp_entity_id = models.CharField(max_length=500, blank=True)  # read from the metadata
    attribute_email = models.CharField(max_length=200, default="email")
    attribute_groups = models.CharField(max_length=200, default="groups")
    allow_idp_initiated = models.BooleanField(default=False)

    class Meta:
        db_table = "accounts_samlprovider"

    def __str__(self) -> str:
        return f"SAML {self.idp_entity_id or '(unset)'}"


class SsoIdentity(models.Model):
    """A user's account at an IdP: (protocol, issuer, subject) names exactly one local user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    protocol = models.CharField(max_length=10, choices=Protocol.choices)
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=500)
    email = models.CharField(max_length=254, blank=True)  # as last asserted, for the record
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_ssoidentity"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "issuer", "subject"], name="sso_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.protocol}:{self.issuer}#{self.subject}"
