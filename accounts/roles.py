"""Roles and their ranks: the one definition every permission check, service and form reads.

A tenant's users are owners, admins or members (owner > admin > member). Platform staff live in the
public schema; on a tenant route they act with the rights of an owner, so they rank as one. Kept
free of models so settings-time code (the OpenAPI enum) and `saas.permissions` can import it.
"""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    PLATFORM_ADMIN = "platform_admin"


TENANT_ROLES = (Role.OWNER, Role.ADMIN, Role.MEMBER)
# The one choice list of tenant roles for serializers and models (one `TenantRoleEnum` in the schema).
TENANT_ROLE_CHOICES = [(role.value, role.label) for role in TENANT_ROLES]
ROLE_RANK: dict[str, int] = {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3, Role.PLATFORM_ADMIN: 3}


def role_rank(user_or_role: object) -> int:
    """Rank of a user (its `role` as loaded from the database, never a token's claim) or of a role
    name; 0 for anything else. Platform admins rank as owners."""
    role = user_or_role if isinstance(user_or_role, str) else getattr(user_or_role, "role", "")
    return ROLE_RANK.get(str(role), 0)


def is_tenant_admin(user: object) -> bool:
    """An owner or admin of the tenant the user's row lives in (platform staff excluded: their row
    lives in the public schema)."""
    role = getattr(user, "role", "")
    return role in TENANT_ROLES and role_rank(role) >= ROLE_RANK[Role.ADMIN]
