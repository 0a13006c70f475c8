"""API keys of a tenant's machine clients (tenant schema only: a key belongs to one tenant)."""

from django.db import models

from accounts.models import TENANT_ROLE_CHOICES


class ApiKey(models.Model):
    """A key acts with `role` on its tenant's API; only the SHA-256 digest of the key is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)  # public: finds the row, shown in lists
    key_hash = models.CharField(max_length=64)  # hex SHA-256 of the whole key
    role = models.CharField(max_length=20, choices=TENANT_ROLE_CHOICES)
    created_by = models.CharField(max_length=300)  # audit label of the person who made it
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)  # to the minute (see api_key_touch)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"
        constraints = [
            # The audit actor is `apikey:<name>`: among live keys a name means one key.
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(revoked_at__isnull=True), name="apikey_live_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"
