"""Tenants and their domains: the only rows that live in the public schema for every tenant."""

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from .slugs import SLUG_PATTERN


class Plan(models.TextChoices):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class TenantStatus(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class Tenant(TenantMixin):
    slug = models.CharField(max_length=31, unique=True)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    status = models.CharField(max_length=20, choices=TenantStatus.choices, default=TenantStatus.ACTIVE)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the plan's per-minute request budget."
    )
    # Set by a purge, which drops the schema and keeps the row (a slug is never reused): nothing that
    # iterates tenants may then enter the schema (tenants.selectors.tenant_with_schema_list).
    purged_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Provisioning creates and drops schemas explicitly (tenants.services), inside its transaction.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=models.Q(slug__regex=SLUG_PATTERN), name="tenant_slug_format"),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None


class Domain(DomainMixin):
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]


class TemplateSnapshot(models.Model):
    """The template schema's DDL and seed rows, taken by `migrate_schemas` (see tenants.template)."""

    fingerprint = models.CharField(max_length=64)
    sql = models.TextField()
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"template snapshot {self.fingerprint}"


class TenantWork(models.Model):
    """Whether a tenant has background work, so that finding it costs one query on the public schema
    however many tenants there are (tenants.due).

    `due_at` is never later than the earliest due time of the tenant's outbox rows (webhook events,
    messages, mails): it is written in the transaction that makes a row due, and recomputed (or
    cleared to NULL) by the tenant's sweep. `active_at` is when work was last written (at most an
    hour behind), so retention only visits tenants that can have rows to delete."""

    schema_name = models.CharField(max_length=63, primary_key=True)
    due_at = models.DateTimeField(null=True, blank=True)
    active_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="tenantwork_due", condition=models.Q(due_at__isnull=False)),
            models.Index(fields=["active_at"], name="tenantwork_active"),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name} due {self.due_at}"
