"""Users. One table, two homes: platform staff in the public schema, each tenant's users in its own."""

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    PLATFORM_ADMIN = "platform_admin"


TENANT_ROLES = (Role.OWNER, Role.ADMIN, Role.MEMBER)
# The one choice list of tenant roles for serializers and models (one `TenantRoleEnum` in the schema).
TENANT_ROLE_CHOICES = [(role.value, role.label) for role in TENANT_ROLES]
ROLE_RANK = {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        """`createsuperuser` in the public schema makes platform staff."""
        fields["role"] = Role.PLATFORM_ADMIN
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    email = models.EmailField(max_length=254, unique=True)  # stored lower-case: unique regardless of case
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    external_id = models.CharField(max_length=128, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lower"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.PLATFORM_ADMIN

    @property
    def is_staff(self) -> bool:
        """Who may enter the Django admin: platform staff on the platform host, owners/admins on theirs."""
        return self.is_active and self.role in (Role.PLATFORM_ADMIN, Role.OWNER, Role.ADMIN)

    @property
    def is_superuser(self) -> bool:
        return False

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff


class RevokedAccessToken(models.Model):
    """Access tokens ended by logout before their expiry; rows past `expires_at` can be dropped."""

    jti = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.jti


# Single sign-on models live in accounts/sso; importing them here registers them with the app.
from .sso.models import OidcProvider, SamlProvider, SsoIdentity  # noqa: E402

__all__ = ["OidcProvider", "RevokedAccessToken", "Role", "SamlProvider", "SsoIdentity", "User"]
