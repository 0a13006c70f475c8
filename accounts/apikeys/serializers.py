"""Request and response shapes of `/api/v1/api-keys/`."""

from typing import Any

from rest_framework import serializers

from accounts.models import TENANT_ROLE_CHOICES
from saas.fields import StrictCharField, StrictChoiceField

from .models import ApiKey


class ApiKeyCreateSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=100, help_text="Unique among live keys; audited as `apikey:<name>`.")
    role = StrictChoiceField(
        choices=TENANT_ROLE_CHOICES,
        default="member",
        help_text="What the key may do; at most your own role.",
    )


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_at", "last_used_at", "created_by"]
        read_only_fields = fields


class ApiKeyCreatedSerializer(serializers.ModelSerializer[ApiKey]):
    key = serializers.CharField(help_text="The key itself: shown in this answer only, never again.")

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "key"]
        read_only_fields = fields
