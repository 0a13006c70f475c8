"""Tenant provisioning: create, update, suspend, activate, delete and purge.

A tenant is created in one transaction (row, schema, domains, owner): PostgreSQL DDL is
transactional, so a creation that fails halfway leaves no schema, domain or row behind.
The schema is a copy of the template schema that `migrate_schemas` keeps current (a replay of
its snapshot, see tenants.template); when the template or its snapshot is missing or behind,
creation falls back to running the migrations, which only the owner role may (tenants.roles).
"""

import logging
import re
from collections.abc import Iterable
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import quote_schema_name, schema_context, schema_exists

from accounts.models import Role
from accounts.services import user_create
from saas.exceptions import ApplicationError

from .models import Domain, Plan, Tenant, TenantStatus
from .roles import can_create_schemas
from .slugs import RESERVED_SLUGS, is_valid_slug, schema_name_for
from .template import create_schema_from_snapshot

logger = logging.getLogger(__name__)

_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


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


def _clean_domains(domains: Iterable[str], *, slug: str, exclude_tenant: Tenant | None = None) -> list[str]:
    cleaned: list[str] = []
    errors: list[str] = []
    base = settings.SAAS_BASE_DOMAIN
    for raw in domains:
        domain = str(raw).strip().lower().rstrip(".")
        if not _HOSTNAME_RE.match(domain) or domain == base:
            errors.append(f"{raw!r} is not a valid domain.")
        elif domain.endswith("." + base) and domain != f"{slug}.{base}":
            errors.append(f"{domain} is reserved for another tenant's sub-domain.")
        elif Domain.objects.filter(domain=domain).exclude(tenant=exclude_tenant).exists():
            errors.append(f"{domain} is already in use.")
        elif domain not in cleaned:
            cleaned.append(domain)
    if errors:
        raise ValidationError({"domains": errors})
    return cleaned


def _check_plan(plan: str) -> None:
    if plan not in Plan.values:
        raise ValidationError({"plan": [f"Must be one of {', '.join(Plan.values)}."]})


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
    if not is_valid_slug(slug):
        reason = "is reserved" if slug in RESERVED_SLUGS else "must match ^[a-z][a-z0-9-]{1,30}$"
        raise ValidationError({"slug": [f"The slug {reason}."]})
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": ["This slug is taken (slugs are never reused)."]})
    _check_plan(plan)
    primary = f"{slug}.{settings.SAAS_BASE_DOMAIN}"
    extra = [d for d in _clean_domains(domains, slug=slug) if d != primary]

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
        Domain.objects.create(domain=primary, tenant=tenant, is_primary=True)
        for domain in extra:
            Domain.objects.create(domain=domain, tenant=tenant, is_primary=False)
        with schema_context(tenant.schema_name):
            user_create(email=owner_email, password=owner_password, role=Role.OWNER)
    return tenant


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
    if plan is not None:
        _check_plan(plan)
        tenant.plan = plan
    if name is not None:
        tenant.name = name
    if rate_limit_per_minute is not None or clear_rate_limit:
        tenant.rate_limit_per_minute = rate_limit_per_minute
    with transaction.atomic():
        tenant.full_clean()
        tenant.save()
        if domains is not None:
            primary = f"{tenant.slug}.{settings.SAAS_BASE_DOMAIN}"
            wanted = set(_clean_domains(domains, slug=tenant.slug, exclude_tenant=tenant)) - {primary}
            for domain in tenant.domains.exclude(domain=primary):
                if domain.domain not in wanted:
                    domain.delete()
            existing = set(tenant.domains.values_list("domain", flat=True))
            for domain in sorted(wanted - existing):
                Domain.objects.create(domain=domain, tenant=tenant, is_primary=False)
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
    """Marks the tenant deleted (routing stops); with `purge`, drops its schema and frees its domains.

    The row stays in both cases, so the slug is never reused.
    """
    with transaction.atomic():
        _set_status(tenant, TenantStatus.DELETED)
        if purge:
            for domain in tenant.domains.all():
                domain.delete()
            if schema_exists(tenant.schema_name):
                with connection.cursor() as cursor:
                    # Fire deferred FK checks first: a schema with pending trigger events can't be dropped.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    # As the owner, who owns the schema (tenants migration 0003).
                    cursor.execute("SELECT public.saas_tenant_schema_drop(%s)", [tenant.schema_name])
    return tenant
