"""Users. One table, two homes: platform staff in the public schema, each tenant's users in its own."""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .roles import ROLE_RANK, TENANT_ROLE_CHOICES, TENANT_ROLES, Role


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
    # Every token carries the generation it was issued at (claim `gen`); raising it (a password reset
    # or change) ends every session of the user at once: access tokens are checked against it in the
    # query that loads the user, refresh tokens are blacklisted too.
    token_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

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


class InvitationStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"  # stored when a new invitation replaces an expired one; shown once past expiry


class Invitation(models.Model):
    """An invitation to join the tenant with a role, accepted once, before `expires_at`.

    No token is stored: the link's token is an HMAC of the row (accounts.tokens.invitation_token),
    made when the mail is sent and checked when it comes back."""

    email = models.EmailField(max_length=254)  # stored lower-case, like users' emails
    role = models.CharField(
        max_length=20, choices=[(r.value, r.label) for r in TENANT_ROLES], default=Role.MEMBER
    )
    first_name = models.CharField(max_length=150, blank=True)  # suggestions for the accept form
    last_name = models.CharField(max_length=150, blank=True)
    status = models.CharField(
        max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.CharField(max_length=300, blank=True)  # the actor's label (maybe platform staff)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="invitation_email_lower"),
            # One open invitation per email: a second one is refused until the first is revoked
            # (an expired one is marked `expired` when the next is made).
            models.UniqueConstraint(
                fields=["email"], condition=models.Q(status="pending"), name="invitation_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role}, {self.state})"

    @property
    def state(self) -> str:
        """The status as shown: a pending invitation past its expiry is `expired`."""
        if self.status == InvitationStatus.PENDING and self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return self.status


__all__ = [
    "ROLE_RANK",
    "TENANT_ROLES",
    "TENANT_ROLE_CHOICES",
    "Invitation",
    "InvitationStatus",
    "RevokedAccessToken",
    "Role",
    "User",
]
