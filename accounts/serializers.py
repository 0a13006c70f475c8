"""Request and response shapes for sign-in, users, passwords and invitations."""

from typing import Any

from rest_framework import serializers

from saas.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictEmailField

from .models import TENANT_ROLE_CHOICES, Invitation, InvitationStatus, User


class LoginSerializer(serializers.Serializer[Any]):
    email = StrictCharField(max_length=254)
    password = StrictCharField(max_length=1024, trim_whitespace=False)


class RefreshSerializer(serializers.Serializer[Any]):
    refresh = StrictCharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


class MeSerializer(serializers.ModelSerializer[User]):
    tenant = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "tenant"]

    def get_tenant(self, user: User) -> dict[str, Any] | None:
        tenant = self.context["request"].tenant
        if tenant is None:
            return None
        return {"slug": tenant.slug, "name": tenant.name, "plan": tenant.plan}

    def to_representation(self, user: User) -> dict[str, Any]:
        # Written out: building the model fields (DRF does it per serializer) cost more than the
        # rest of `GET /auth/me`. The same output as the declared fields (a test compares them).
        return {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": user.role,
            "tenant": self.get_tenant(user),
        }


class UserSerializer(serializers.ModelSerializer[User]):
    """The user as the API shows it (output only; `password` is never shown)."""

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_active",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


_ROLE_CHOICES = TENANT_ROLE_CHOICES


class UserCreateSerializer(serializers.Serializer[Any]):
    """Create body. Anything else in it (`id`, `tenant`, `is_staff`, `external_id`...) is ignored."""

    email = StrictEmailField(max_length=254)
    password = StrictCharField(
        max_length=1024, trim_whitespace=False, write_only=True, required=False, allow_null=True, default=None
    )
    first_name = StrictCharField(max_length=150, allow_blank=True, required=False, default="")
    last_name = StrictCharField(max_length=150, allow_blank=True, required=False, default="")
    role = StrictChoiceField(choices=_ROLE_CHOICES, required=False, default="member")
    is_active = StrictBooleanField(required=False, default=True)


class UserUpdateSerializer(serializers.Serializer[Any]):
    """PUT body: every writable field but `password` is required; PATCH: any subset."""

    email = StrictEmailField(max_length=254)
    first_name = StrictCharField(max_length=150, allow_blank=True)
    last_name = StrictCharField(max_length=150, allow_blank=True)
    role = StrictChoiceField(choices=_ROLE_CHOICES)
    is_active = StrictBooleanField()
    password = StrictCharField(max_length=1024, trim_whitespace=False, write_only=True, required=False)


# ---- Passwords and invitations (issue 13) ----

_PASSWORD: dict[str, Any] = {"max_length": 1024, "trim_whitespace": False, "write_only": True}


class PasswordResetRequestSerializer(serializers.Serializer[Any]):
    email = StrictEmailField(max_length=254)


class PasswordResetAcceptedSerializer(serializers.Serializer[Any]):
    message = serializers.CharField()


class PasswordResetConfirmSerializer(serializers.Serializer[Any]):
    token = StrictCharField(max_length=200)
    password = StrictCharField(**_PASSWORD)


class PasswordChangeSerializer(serializers.Serializer[Any]):
    current_password = StrictCharField(**_PASSWORD)
    new_password = StrictCharField(**_PASSWORD)


class InvitationCreateSerializer(serializers.Serializer[Any]):
    """Create body; `first_name`/`last_name` only fill in the accept form."""

    email = StrictEmailField(max_length=254)
    role = StrictChoiceField(choices=_ROLE_CHOICES, required=False, default="member")
    first_name = StrictCharField(max_length=150, allow_blank=True, required=False, default="")
    last_name = StrictCharField(max_length=150, allow_blank=True, required=False, default="")


class InvitationSerializer(serializers.ModelSerializer[Invitation]):
    """An invitation as the API shows it (never its token)."""

    status = serializers.ChoiceField(
        source="state", choices=[s.value for s in InvitationStatus], read_only=True
    )

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "expires_at",
            "first_name",
            "last_name",
            "invited_by",
            "created_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = fields


class InvitationAcceptSerializer(serializers.Serializer[Any]):
    token = StrictCharField(max_length=200)
    password = StrictCharField(**_PASSWORD)
    first_name = StrictCharField(max_length=150, allow_blank=True, required=False, default="")
    last_name = StrictCharField(max_length=150, allow_blank=True, required=False, default="")
