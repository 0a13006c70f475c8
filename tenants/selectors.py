"""Reads of tenants. Routing lookups are cached in Redis so a routed request pays no SQL query."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django_tenants.utils import get_public_schema_name

from saas.typing import connection

from .models import Domain, Tenant
from .routing_cache import MISSING, local_cache
from .slugs import is_valid_slug

logger = logging.getLogger(__name__)

_MISSING = "-"  # cached negative answer: an unknown slug or host costs no query either
_NEGATIVE_SECONDS = 30
_FIELDS = ("id", "slug", "name", "plan", "status", "schema_name", "rate_limit_per_minute")


def slug_cache_key(slug: str) -> str:
    return f"tenant:slug:{slug}"


def host_cache_key(host: str) -> str:
    return f"tenant:host:{host}"


def _cached(key: str) -> tuple[object, int]:
    """The answer from this process's copy, else from Redis; and the local generation it was read at."""
    local = local_cache.get(key)
    if local is not MISSING:
        return local, -1
    generation = local_cache.generation()
    try:
        value = cache.get(key)
    except Exception:  # Redis down: routing falls back to the database, never fails
        logger.warning("tenant cache unavailable", extra={"key": key})
        return None, generation
    if value is not None:
        local_cache.set(key, value, generation)
    return value, generation


def _cache_set(key: str, value: object, timeout: int, generation: int) -> None:
    local_cache.set(key, value, generation)
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("tenant cache unavailable", extra={"key": key})


def _from_fields(fields: dict[str, object]) -> Tenant:
    tenant = Tenant(**fields)
    tenant._state.adding = False
    tenant._state.db = "default"
    return tenant


def tenant_for_slug(*, slug: str) -> Tenant | None:
    """The tenant with this slug, from the cache when possible; None when unknown or malformed."""
    if not is_valid_slug(slug):
        return None
    key = slug_cache_key(slug)
    cached, generation = _cached(key)
    if cached == _MISSING:
        return None
    if isinstance(cached, dict):
        return _from_fields(cached)
    row = Tenant.objects.filter(slug=slug).values(*_FIELDS).first()
    if row is None:
        _cache_set(key, _MISSING, _NEGATIVE_SECONDS, generation)
        return None
    _cache_set(key, row, settings.TENANT_CACHE_SECONDS, generation)
    return _from_fields(row)


def tenant_slug_for_domain(*, host: str) -> str | None:
    """The slug of the tenant that registered this exact domain, or None."""
    key = host_cache_key(host)
    cached, generation = _cached(key)
    if cached == _MISSING:
        return None
    if isinstance(cached, str):
        return cached
    slug = Domain.objects.filter(domain=host).values_list("tenant__slug", flat=True).first()
    timeout = settings.TENANT_CACHE_SECONDS if slug else _NEGATIVE_SECONDS
    _cache_set(key, slug or _MISSING, timeout, generation)
    return slug


# The catalogue probe catches what `purged_at` cannot: a schema dropped outside the purge service.
_SCHEMAS = RawSQL("SELECT nspname FROM pg_namespace", ())


def tenant_with_schema_list(*, status: str | None = None) -> QuerySet[Tenant]:
    """Tenants whose schema exists (never a purged one, never public): what migrations, beat's
    per-tenant dispatch, health, audit checks and admin pages may enter. One query."""
    tenants = (
        Tenant.objects.filter(purged_at__isnull=True)
        .exclude(schema_name=get_public_schema_name())
        .filter(schema_name__in=_SCHEMAS)
        .order_by("slug")
    )
    return tenants.filter(status=status) if status else tenants


def tenant_with_schema_get(*, slug: str | None = None, pk: int | None = None) -> Tenant:
    """One tenant by slug or id whose schema can be entered; `Tenant.DoesNotExist` when unknown or
    purged (the caller answers 404)."""
    if slug is not None and not is_valid_slug(slug):
        raise Tenant.DoesNotExist
    lookup: dict[str, str | int | None] = {"slug": slug} if slug is not None else {"pk": pk}
    return tenant_with_schema_list().get(**lookup)


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.prefetch_related("domains").order_by("slug")


def tenant_search(*, tenants: QuerySet[Tenant], text: str) -> QuerySet[Tenant]:
    """Tenants whose slug, name or one of whose domains contains `text`, case-insensitively; each
    once, however many of its domains match."""
    text = text.strip()
    if not text:
        return tenants
    domain_matches = Domain.objects.filter(tenant=OuterRef("pk"), domain__icontains=text)
    return tenants.filter(Q(slug__icontains=text) | Q(name__icontains=text) | Exists(domain_matches))


def tenant_custom_domains(*, tenant: Tenant) -> list[str]:
    """The tenant's own domains: all but its `<slug>.<SAAS_BASE_DOMAIN>` sub-domain."""
    primary = f"{tenant.slug}.{settings.SAAS_BASE_DOMAIN}"
    return [d.domain for d in tenant.domains.all() if d.domain != primary]


def tenant_get(*, slug: str) -> Tenant:
    """The tenant row itself (not the routing cache), for the platform API and admin."""
    if not is_valid_slug(slug):
        raise Tenant.DoesNotExist
    return Tenant.objects.prefetch_related("domains").get(slug=slug)


def tenant_current() -> Tenant | None:
    """The tenant whose schema the connection is on (a request's, a task's); None in public."""
    schema = connection.schema_name
    if schema == get_public_schema_name():
        return None
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant) and tenant.schema_name == schema:
        return tenant
    return Tenant.objects.filter(schema_name=schema).first()


def tenant_base_url(*, tenant: Tenant) -> str:
    """`<scheme>://<primary domain>[:<port>]`, where the links in the tenant's mails lead.

    The primary domain is `<slug>.<SAAS_BASE_DOMAIN>` unless a platform admin made another one
    primary; scheme and port are SAAS_PUBLIC_URL_SCHEME / SAAS_PUBLIC_URL_PORT (http and 8000 in
    development, https and none in production)."""
    domain = (
        Domain.objects.filter(tenant=tenant, is_primary=True)
        .order_by("id")
        .values_list("domain", flat=True)
        .first()
        or f"{tenant.slug}.{settings.SAAS_BASE_DOMAIN}"
    )
    port = str(settings.SAAS_PUBLIC_URL_PORT or "").strip()
    return f"{settings.SAAS_PUBLIC_URL_SCHEME}://{domain}" + (f":{port}" if port else "")
