"""Shapes of the SSO provider API (contract section 6) and the token bridge (section 4)."""

from typing import Any

from rest_framework import serializers

from accounts.models import TENANT_ROLE_CHOICES

from .models import OidcProvider, SamlProvider


class ScopesField(serializers.ListField):
    """A list of scopes, or one space-separated string."""

    child = serializers.RegexField(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")
    max_length = 20

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            data = data.split()
        return super().to_internal_value(data)


class _ProviderIn(serializers.Serializer[Any]):
    enabled = serializers.BooleanField(default=False)
    role_map = serializers.DictField(child=serializers.ChoiceField(TENANT_ROLE_CHOICES), default=dict)
    default_role = serializers.ChoiceField(TENANT_ROLE_CHOICES, default="member")
    allowed_domains = serializers.ListField(
        child=serializers.CharField(max_length=253), default=list, max_length=100
    )
    jit = serializers.BooleanField(default=True)


class OidcProviderInSerializer(_ProviderIn):
    issuer = serializers.CharField(max_length=500, allow_blank=True, default="")
    client_id = serializers.CharField(max_length=255, allow_blank=True, default="")
    client_secret = serializers.CharField(
        max_length=2000, write_only=True, required=False, allow_blank=True, trim_whitespace=False
    )
    scopes = ScopesField(default=list)
    claim_email = serializers.CharField(max_length=100, default="email")
    claim_groups = serializers.CharField(max_length=100, default="groups")


class SamlProviderInSerializer(_ProviderIn):
    idp_metadata_xml = serializers.CharField(max_length=512 * 1024, allow_blank=True, default="")
    idp_metadata_url = serializers.URLField(max_length=500, allow_blank=True, default="")
    attribute_email = serializers.CharField(max_length=200, default="email")
    attribute_groups = serializers.CharField(max_length=200, default="groups")
    allow_idp_initiated = serializers.BooleanField(default=False)


class OidcProviderOutSerializer(serializers.ModelSerializer[OidcProvider]):
    client_secret_set = serializers.SerializerMethodField()
    # null until the first PUT: GET answers with the defaults of a provider not saved yet
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    redirect_uri = serializers.SerializerMethodField()

    class Meta:
        model = OidcProvider
        fields = [
            "enabled", "issuer", "client_id", "client_secret_set", "scopes", "claim_email",
            "claim_groups", "role_map", "default_role", "allowed_domains", "jit", "redirect_uri",
            "updated_at",
        ]  # fmt: skip

    def get_client_secret_set(self, provider: OidcProvider) -> bool:
        return bool(provider.client_secret_encrypted)

    def get_redirect_uri(self, provider: OidcProvider) -> str:
        return str(self.context["request"].build_absolute_uri("/sso/oidc/callback/"))


class SamlProviderOutSerializer(serializers.ModelSerializer[SamlProvider]):
    sp_entity_id = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)  # null until the first PUT
    sp_acs_url = serializers.SerializerMethodField()
    sp_metadata_url = serializers.SerializerMethodField()

    class Meta:
        model = SamlProvider
        fields = [
            "enabled", "idp_metadata_xml", "idp_metadata_url", "idp_entity_id", "attribute_email",
            "attribute_groups", "role_map", "default_role", "allowed_domains", "jit",
            "allow_idp_initiated", "sp_entity_id", "sp_acs_url", "sp_metadata_url", "updated_at",
        ]  # fmt: skip

    def get_sp_entity_id(self, provider: SamlProvider) -> str:
        return str(self.context["request"].build_absolute_uri("/sso/saml/metadata/"))

    get_sp_metadata_url = get_sp_entity_id

    def get_sp_acs_url(self, provider: SamlProvider) -> str:
        return str(self.context["request"].build_absolute_uri("/sso/saml/acs/"))


class SsoLoginSerializer(serializers.Serializer[Any]):
    protocol = serializers.ChoiceField(["oidc", "saml"])
    next = serializers.CharField(max_length=2000, default="/")


class SsoRedirectSerializer(serializers.Serializer[Any]):
    redirect_url = serializers.URLField()
