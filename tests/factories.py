"""Shared factories: plain functions that make rows the way the platform does, through its services.

Not factory-boy: a tenant is a schema made by `tenant_create` and a user is written by
`user_create` (its rules, its audit entry), so a model factory would either bypass the services or
only wrap these calls.
"""

import itertools
import uuid
from typing import Any

from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import user_create
from tenants.models import Tenant
from tenants.services import tenant_create

PASSWORD = "correct-horse-battery-staple"
_counter = itertools.count()


def make_tenant(slug: str | None = None, **fields: Any) -> Tenant:
    """A tenant made by the real provisioning service (its schema, domain and owner), with a new slug
    unless given; the owner is `owner@<slug>.test` with PASSWORD."""
    slug = slug or f"t{uuid.uuid4().hex[:10]}"
    return tenant_create(
        slug=slug, name=slug.title(), owner_email=f"owner@{slug}.test", owner_password=PASSWORD, **fields
    )


def make_user(
    tenant: Tenant | None, role: str = Role.MEMBER, email: str | None = None, **fields: Any
) -> User:
    """A user of `tenant` (None: platform staff) with PASSWORD, written by `user_create`."""
    email = email or f"{role}{next(_counter)}@example.test"
    with schema_context(tenant.schema_name if tenant else "public"):
        return user_create(email=email, password=PASSWORD, role=role, validate=False, **fields)


def make_platform_admin() -> User:
    return make_user(None, Role.PLATFORM_ADMIN, email=f"staff{next(_counter)}@platform.test")
