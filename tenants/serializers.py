from typing import Any

from rest_framework import serializers

from saas.fields import StrictCharField, StrictChoiceField, StrictEmailField, StrictIntegerField

from .models import Plan, Tenant


class OwnerSerializer(serializers.Serializer[Any]):
    email = StrictEmailField(max_length=254)
    password = StrictCharField(max_length=1024, trim_whitespace=False, write_only=True)


class TenantCreateSerializer(serializers.Serializer[Any]):
    slug = StrictCharField(max_length=31)
    name = StrictCharField(max_length=200)
    plan = StrictChoiceField(choices=Plan.choices, default=Plan.FREE)
    domains = serializers.ListField(child=StrictCharField(max_length=253), max_length=20, default=list)
    owner = OwnerSerializer()
    rate_limit_per_minute = StrictIntegerField(min_value=1, max_value=10_000_000, required=False)


class TenantUpdateSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=200)
    plan = StrictChoiceField(choices=Plan.choices)
    domains = serializers.ListField(child=StrictCharField(max_length=253), max_length=20, required=False)
    rate_limit_per_minute = StrictIntegerField(
        min_value=1, max_value=10_000_000, required=False, allow_null=True
    )


class TenantSerializer(serializers.ModelSerializer[Tenant]):
    domains = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "slug",
            "name",
            "plan",
            "status",
            "rate_limit_per_minute",
            "domains",
            "purged_at",
            "created_at",
            "updated_at",
        ]

    def get_domains(self, tenant: Tenant) -> list[str]:
        return sorted(d.domain for d in tenant.domains.all())
