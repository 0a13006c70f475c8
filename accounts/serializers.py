"""Request and response shapes for sign-in and users."""

from typing import Any

from rest_framework import serializers

from .models import User


class LoginSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


class MeSerializer(serializers.ModelSerializer):
    tenant = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "tenant"]

    def get_tenant(self, user: User) -> dict[str, Any] | None:
        tenant = self.context["request"].tenant
        if tenant is None:
            return None
        return {"slug": tenant.slug, "name": tenant.name, "plan": tenant.plan}
