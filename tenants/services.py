"""Tenant provisioning: create, update, suspend, activate, delete and purge.

A tenant is created in one transaction (row, schema, domains, owner): PostgreSQL DDL is
transactional, so a creation that fails halfway leaves no schema, domain or row behind.
The schema is a copy of the template schema that `migrate_schemas` keeps current (a replay of
its snapshot, see tenants.template); when the template or its snapshot is missing or behind,
creation falls back to running the migrations, which only the owner role may (tenants.roles).
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_tenants.utils import quote_schema_name, schema_context, schema_exists

from accounts.models import Role
from accounts.services import user_create, user_password_check
from saas.errors import ApplicationError
from saas.typing import connection
from saas.validators import is_hostname

from .models import Domain, Plan, Tenant, TenantStatus
from .roles import can_create_schemas
from .slugs import RESERVED_SLUGS, is_valid_slug, schema_name_for
from .template import create_schema_from_snapshot

logger = logging.getLogger(__name__)


def template_pending_migrations() -> list[tuple[str, str]]:
    """Migrations the template schema has not applied yet (empty when cloning is safe)."""
    template = settings.TENANT_BASE_SCHEMA
    if not schema_exists(template):
        return [("*", "template schema missing")]
    with schema_context(template):
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [(migration.app_label, migration.name) for migration, _ in plan]


@cache
def _template_is_current() -> bool:
    # Migrations on disk do not change while a process runs, so once current stays current.
    pending = template_pending_migrations()
    if pending:
        logger.warning("tenant template behind, creating by migration", extra={"pending": pending[:5]})
    return not pending


def _create_schema(tenant: Tenant) -> None:
    if schema_exists(tenant.schema_name, case_sensitive=False):
        raise ValidationError({"slug": ["A schema for this slug already exists."]})
    if _template_is_current() and create_schema_from_snapshot(tenant.schema_name):
        return
    # No current snapshot: run the migrations. (django-tenants' clone_schema() is not a fallback:
    # it renames unique constraints, which later migrations that name them would trip over.)
    _template_is_current.cache_clear()
    if not can_create_schemas():
        # The app role: a schema it created would be its own, and it may not run DDL anyway.
        logger.error("tenant template behind its migrations: run migrate_schemas")
        raise ApplicationError(
            "New tenants cannot be created until the tenant template is migrated: run "
            "`python manage.py migrate_schemas` (it connects as the owner role, MIGRATION_DATABASE_URL).",
            code="template_behind",
            status_code=503,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote_schema_name(tenant.schema_name)}")
        call_command(
            "migrate_schemas", tenant=True, schema_name=tenant.schema_name, interactive=False, verbosity=0
        )
    connection.set_schema_to_public()


class _Errors:
    """Collects the ValidationErrors of several checks, so a form or request gets them all at once."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    @contextmanager
    def collect(self, *, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except ValidationError as exc:
            by_field = {key: exc.messages} if key else exc.message_dict
            for field, messages in by_field.items():
                self.by_field.setdefault(field, []).extend(messages)

    def raise_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _primary_domain(slug: str) -> str:
    return f"{slug}.{settings.SAAS_BASE_DOMAIN}"


def _clean_domains(domains: Iterable[str], *, slug: str, exclude_tenant: Tenant | None = None) -> list[str]:
    """The custom domains, normalised, without the tenant's own sub-domain; refuses malformed ones,
    other tenants' sub-domains and domains in use."""
    cleaned: list[str] = []
    errors: list[str] = []
    base = settings.SAAS_BASE_DOMAIN
    for raw in domains:
        domain = str(raw).strip().lower().rstrip(".")
        if not is_hostname(domain) or domain == base:
            errors.append(f"{raw!r} is not a valid domain.")
        elif domain.endswith("." + base) and domain != _primary_domain(slug):
            errors.append(f"{domain} is reserved for another tenant's sub-domain.")
        elif Domain.objects.filter(domain=domain).exclude(tenant=exclude_tenant).exists():
            errors.append(f"{domain} is already in use.")
        elif domain not in cleaned and domain != _primary_domain(slug):
            cleaned.append(domain)
    if errors:
        raise ValidationError({"domains": errors})
    return cleaned


def _check_slug(slug: str) -> None:
    if not is_valid_slug(slug):
        reason = "is reserved" if slug in RESERVED_SLUGS else "must match ^[a-z][a-z0-9-]{1,30}$"
        raise ValidationError({"slug": [f"The slug {reason}."]})
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": ["This slug is taken (slugs are never reused)."]})
    primary = _primary_domain(slug)
    if Domain.objects.filter(domain=primary).exists():
        raise ValidationError({"slug": [f"Its sub-domain {primary} is already in use."]})


def _check_plan(plan: str) -> None:
    if plan not in Plan.values:
        raise ValidationError({"plan": [f"Must be one of {', '.join(Plan.values)}."]})


_RATE_LIMIT_MAX = 10_000_000


def _check_rate_limit(rate_limit_per_minute: int | None) -> None:
    if rate_limit_per_minute is not None and not 1 <= rate_limit_per_minute <= _RATE_LIMIT_MAX:
        raise ValidationError({"rate_limit_per_minute": [f"Must be between 1 and {_RATE_LIMIT_MAX}."]})


def tenant_create_check(
    *,
    slug: str,
    plan: str = Plan.FREE,
    owner_email: str,
    owner_password: str,
    domains: Iterable[str] = (),
    rate_limit_per_minute: int | None = None,
) -> list[str]:
    """Everything `tenant_create` refuses, without writing, as one ValidationError keyed by argument
    name (the admin form shows it on its fields); returns the custom domains, cleaned."""
    errors = _Errors()
    with errors.collect():
        _check_slug(slug)
    with errors.collect():
        _check_plan(plan)
    with errors.collect():
        _check_rate_limit(rate_limit_per_minute)
    with errors.collect(key="owner_email"):
        validate_email(owner_email)
    with errors.collect(key="owner_password"):
        user_password_check(password=owner_password, email=owner_email, role=Role.OWNER)
    extra: list[str] = []
    with errors.collect():
        extra = _clean_domains(domains, slug=slug)
    errors.raise_any()
    return extra


def tenant_create(
    *,
    slug: str,
    name: str,
    plan: str = Plan.FREE,
    owner_email: str,
    owner_password: str,
    domains: Iterable[str] = (),
    rate_limit_per_minute: int | None = None,
) -> Tenant:
    """Creates the tenant, its schema, `<slug>.<SAAS_BASE_DOMAIN>` and its owner, all or nothing."""
    checks: dict[str, Any] = {
        "slug": slug,
        "plan": plan,
        "owner_email": owner_email,
        "owner_password": owner_password,
        "domains": list(domains),
        "rate_limit_per_minute": rate_limit_per_minute,
    }
    extra = tenant_create_check(**checks)
    try:
        with transaction.atomic():
            tenant = Tenant(
                slug=slug,
                name=name,
                plan=plan,
                schema_name=schema_name_for(slug),
                rate_limit_per_minute=rate_limit_per_minute,
            )
            tenant.full_clean()
            tenant.save()
            _create_schema(tenant)
            Domain.objects.create(domain=_primary_domain(slug), tenant=tenant, is_primary=True)
            for domain in extra:
                Domain.objects.create(domain=domain, tenant=tenant, is_primary=False)
            with schema_context(tenant.schema_name):
                user_create(email=owner_email, password=owner_password, role=Role.OWNER)
    except IntegrityError:
        # A concurrent creation took the slug or a domain after the checks: they now say which.
        tenant_create_check(**checks)
        raise
    return tenant


def tenant_update_check(
    *,
    tenant: Tenant,
    plan: str | None = None,
    rate_limit_per_minute: int | None = None,
    domains: Iterable[str] | None = None,
) -> list[str] | None:
    """What `tenant_update` refuses, without writing; returns the custom domains cleaned (None when
    `domains` is not given)."""
    errors = _Errors()
    if plan is not None:
        with errors.collect():
            _check_plan(plan)
    with errors.collect():
        _check_rate_limit(rate_limit_per_minute)
    cleaned: list[str] | None = None
    if domains is not None:
        with errors.collect():
            cleaned = _clean_domains(domains, slug=tenant.slug, exclude_tenant=tenant)
    errors.raise_any()
    return cleaned


def tenant_update(
    *,
    tenant: Tenant,
    name: str | None = None,
    plan: str | None = None,
    rate_limit_per_minute: int | None = None,
    clear_rate_limit: bool = False,
    domains: Iterable[str] | None = None,
) -> Tenant:
    """Updates the editable fields; `domains` replaces the custom domains (the sub-domain stays)."""
    wanted = tenant_update_check(
        tenant=tenant, plan=plan, rate_limit_per_minute=rate_limit_per_minute, domains=domains
    )
    if plan is not None:
        tenant.plan = plan
    if name is not None:
        tenant.name = name
    if rate_limit_per_minute is not None or clear_rate_limit:
        tenant.rate_limit_per_minute = rate_limit_per_minute
    try:
        with transaction.atomic():
            tenant.full_clean()
            tenant.save()
            if wanted is not None:
                for domain in tenant.domains.exclude(domain=_primary_domain(tenant.slug)):
                    if domain.domain not in wanted:
                        domain.delete()
                existing = set(tenant.domains.values_list("domain", flat=True))
                for name in sorted(set(wanted) - existing):
                    Domain.objects.create(domain=name, tenant=tenant, is_primary=False)
    except IntegrityError:
        tenant_update_check(tenant=tenant, domains=domains)  # a concurrent writer took a domain
        raise
    tenant.refresh_from_db()  # as stored, and without the domains a caller prefetched before the change
    return tenant


def _set_status(tenant: Tenant, status: str) -> Tenant:
    tenant.status = status
    tenant.save(update_fields=["status", "updated_at"])
    return tenant


def tenant_suspend(*, tenant: Tenant) -> Tenant:
    """Stops routing to the tenant; its data stays as it is."""
    if tenant.status == TenantStatus.DELETED:
        raise ValidationError({"status": ["A deleted tenant cannot be suspended."]})
    return _set_status(tenant, TenantStatus.SUSPENDED)


def tenant_activate(*, tenant: Tenant) -> Tenant:
    """Routes to a suspended tenant again. Deleted tenants stay deleted."""
    if tenant.status == TenantStatus.DELETED:
        raise ValidationError({"status": ["A deleted tenant cannot be activated."]})
    return _set_status(tenant, TenantStatus.ACTIVE)


def tenant_delete(*, tenant: Tenant, purge: bool = False) -> Tenant:
    """Marks the tenant deleted (routing stops); with `purge`, drops its schema, frees its domains and
    records `purged_at`, so nothing that iterates tenants enters the schema again.

    The row stays in both cases, so the slug is never reused.
    """
    with transaction.atomic():
        tenant.status = TenantStatus.DELETED
        fields = ["status", "updated_at"]
        if purge:
            for domain in tenant.domains.all():
                domain.delete()
            if schema_exists(tenant.schema_name):
                with connection.cursor() as cursor:
                    # Fire deferred FK checks first: a schema with pending trigger events can't be dropped.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    # As the owner, who owns the schema (tenants migration 0004).
                    cursor.execute("SELECT public.saas_tenant_schema_drop(%s)", [tenant.schema_name])
            tenant.purged_at = tenant.purged_at or timezone.now()
            fields.append("purged_at")
        tenant.save(update_fields=fields)
    return tenant
