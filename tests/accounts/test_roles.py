"""accounts.roles: the one rank table every check reads."""

from accounts.models import User
from accounts.roles import ROLE_RANK, TENANT_ROLES, Role, is_tenant_admin, role_rank


def test_ranks():
    assert role_rank(Role.MEMBER) < role_rank(Role.ADMIN) < role_rank(Role.OWNER)
    assert role_rank(Role.PLATFORM_ADMIN) == role_rank(Role.OWNER)  # staff act as owners on tenant routes
    assert role_rank("nobody") == 0
    assert role_rank(None) == 0
    assert role_rank(User(role=Role.ADMIN)) == ROLE_RANK[Role.ADMIN]
    assert set(TENANT_ROLES) < set(ROLE_RANK)


def test_tenant_admins():
    assert is_tenant_admin(User(role=Role.OWNER))
    assert is_tenant_admin(User(role=Role.ADMIN))
    assert not is_tenant_admin(User(role=Role.MEMBER))
    assert not is_tenant_admin(User(role=Role.PLATFORM_ADMIN))  # a public-schema row
