"""Every User write goes through accounts.services (user_create / user_update), whoever the actor:
a person (API, admin), an IdP (SSO just in time and its role map), the user service (webhooks,
sync). The last active owner survives each of them, also under concurrent demotions."""

from typing import Any

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import USER_SERVICE_ACTOR, sso_actor, user_update
from saas.exceptions import ApplicationError

pytestmark = pytest.mark.django_db

IDP = sso_actor(protocol="oidc", issuer="https://idp.example.test")


def _owners(tenant: Any) -> list[User]:
    with schema_context(tenant.schema_name):
        return list(User.objects.filter(role=Role.OWNER, is_active=True))


def _sole_owner(tenant: Any, make_user: Any) -> User:
    """Leaves exactly one active owner in the tenant (the test's transaction undoes it)."""
    owner = make_user(tenant, Role.OWNER)
    with schema_context(tenant.schema_name):
        User.objects.filter(role=Role.OWNER).exclude(pk=owner.pk).update(role=Role.ADMIN)
    return owner


@pytest.mark.parametrize("change", ["demote", "deactivate"])
@pytest.mark.parametrize("who", ["self", "platform_admin", "idp"])
def test_the_last_owner_is_kept_whoever_asks(tenant_a, make_user, platform_admin, who, change):
    owner = _sole_owner(tenant_a, make_user)
    actor = {"self": owner, "platform_admin": platform_admin, "idp": IDP}[who]
    with schema_context(tenant_a.schema_name):
        # an owner changing their own role is refused before (403): for them, deactivation only
        fields = {"role": Role.ADMIN} if change == "demote" and who != "self" else {"is_active": False}
        with pytest.raises(ApplicationError) as refused:
            user_update(actor=actor, user=owner, **fields)
        assert refused.value.code == "conflict"
        owner.refresh_from_db()
    assert (owner.role, owner.is_active) == (Role.OWNER, True)


@pytest.mark.parametrize("change", ["demote", "deactivate"])
def test_the_user_service_never_touches_an_owner(tenant_a, make_user, change):
    owner = make_user(tenant_a, Role.OWNER, external_id="usr_owner_writes")
    make_user(tenant_a, Role.OWNER)  # not the last one: the refusal is the owner rule itself
    with schema_context(tenant_a.schema_name):
        write = {"demote": {"role": Role.MEMBER}, "deactivate": {"is_active": False}}[change]
        with pytest.raises(ApplicationError) as refused:
            user_update(actor=USER_SERVICE_ACTOR, user=owner, **write)
        assert refused.value.code == "permission_denied"
        owner.refresh_from_db()
    assert (owner.role, owner.is_active) == (Role.OWNER, True)


def test_the_user_service_grants_at_most_admin(tenant_a, make_user):
    member = make_user(tenant_a, Role.MEMBER)
    with schema_context(tenant_a.schema_name):
        with pytest.raises(ApplicationError):
            user_update(actor=USER_SERVICE_ACTOR, user=member, role=Role.OWNER)
        assert user_update(actor=USER_SERVICE_ACTOR, user=member, role=Role.ADMIN).role == Role.ADMIN


def test_owners_of_another_tenant_do_not_count(tenant_a, tenant_b, make_user):
    """The twin: tenant_a has two owners, tenant_b one; tenant_a's second owner does not let tenant_b
    lose its last, and tenant_b's owner does not keep tenant_a's from going."""
    a_owner = _sole_owner(tenant_a, make_user)
    a_other = make_user(tenant_a, Role.OWNER)
    b_owner = _sole_owner(tenant_b, make_user)
    with schema_context(tenant_b.schema_name), pytest.raises(ApplicationError):
        user_update(actor=b_owner, user=b_owner, is_active=False)
    with schema_context(tenant_a.schema_name):
        user_update(actor=a_other, user=a_owner, role=Role.ADMIN)
    assert [u.pk for u in _owners(tenant_a)] == [a_other.pk]
    assert [u.pk for u in _owners(tenant_b)] == [b_owner.pk]


def test_an_unchanged_email_is_not_checked_again_and_a_taken_one_is_refused(tenant_a, make_user):
    from django.core.exceptions import ValidationError
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member, other = make_user(tenant_a, Role.MEMBER), make_user(tenant_a, Role.MEMBER)
    with schema_context(tenant_a.schema_name):
        with CaptureQueriesContext(connection) as queries:
            user_update(actor=USER_SERVICE_ACTOR, user=member, email=member.email.upper(), first_name="Same")
        exists = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT 1 AS "a"')]
        assert exists == []  # the locked row holds the email: no other user can
        with pytest.raises(ValidationError, match="already exists"):
            user_update(actor=USER_SERVICE_ACTOR, user=member, email=other.email)
        member.refresh_from_db()
        assert member.first_name == "Same"
        assert member.email != other.email
