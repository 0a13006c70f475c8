"""Tenant slug rules: checked before any lookup, so no unchecked slug reaches SQL or a schema name."""

import re

from django.conf import settings

SLUG_PATTERN = r"^[a-z][a-z0-9-]{1,30}$"
_SLUG_RE = re.compile(r"[a-z][a-z0-9-]{1,30}")

# Names that would read as part of the platform itself in a host or a path.
RESERVED_SLUGS = frozenset(
    {"public", "admin", "api", "www", "static", "media", "health", "metrics", "docs", "redoc"}
    | {"template", "tenant-template", "platform", "sso", "login", "logout", "mail", "smtp"}
)


def is_valid_slug(value: object) -> bool:
    """True for a well-formed, unreserved slug; never raises, whatever it is given."""
    return isinstance(value, str) and _SLUG_RE.fullmatch(value) is not None and value not in RESERVED_SLUGS


def schema_name_for(slug: str) -> str:
    """The PostgreSQL schema of a tenant: a fixed prefix keeps every slug clear of system schemas."""
    if not is_valid_slug(slug):
        raise ValueError(f"invalid tenant slug: {slug!r}")
    return settings.TENANT_SCHEMA_PREFIX + slug.replace("-", "_")
