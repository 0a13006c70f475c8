"""Password change: every role, Django's validators, every session ends."""

import pytest

from accounts.models import Role
from tests.audit.helpers import trail
from tests.conftest import PASSWORD, TenantClient, access_token

pytestmark = pytest.mark.django_db

CHANGE = "/api/v1/auth/password/change"
NEW = "another-long-passphrase-99"


def login(tenant, email, password=PASSWORD):
    return TenantClient(tenant).post("/api/v1/auth/login", {"email": email, "password": password})


def change(tenant, access, current=PASSWORD, new=NEW, via="host"):
    client = TenantClient(tenant, via=via, token=access)
    return client.post(CHANGE, {"current_password": current, "new_password": new})


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN, Role.OWNER])
@pytest.mark.parametrize("via", ["host", "path"])
def test_every_role_changes_its_own_password(tenant_a, make_user, role, via):
    user = make_user(tenant_a, role)
    pair = login(tenant_a, user.email).json()
    assert change(tenant_a, pair["access"], via=via).status_code == 204
    assert login(tenant_a, user.email, NEW).status_code == 200
    assert login(tenant_a, user.email).status_code == 401


def test_every_session_ends_this_one_included(tenant_a, make_user):
    user = make_user(tenant_a)
    this, other = login(tenant_a, user.email).json(), login(tenant_a, user.email).json()
    assert change(tenant_a, this["access"]).status_code == 204
    for pair in (this, other):
        assert TenantClient(tenant_a, token=pair["access"]).get("/api/v1/auth/me").status_code == 401
        refreshed = TenantClient(tenant_a).post("/api/v1/auth/refresh", {"refresh": pair["refresh"]})
        assert refreshed.status_code == 401
    fresh = login(tenant_a, user.email, NEW).json()
    assert TenantClient(tenant_a, token=fresh["access"]).get("/api/v1/auth/me").status_code == 200


def test_a_wrong_current_password_is_refused_and_recorded(tenant_a, make_user):
    user = make_user(tenant_a)
    access = access_token(user, tenant_a)
    response = change(tenant_a, access, current="not-my-password")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["current_password"]
    assert login(tenant_a, user.email).status_code == 200  # unchanged
    assert any(e.event == "password_change_failed" for e in trail(tenant_a))


def test_django_validators_apply(tenant_a, make_user):
    user = make_user(tenant_a)
    response = change(tenant_a, access_token(user, tenant_a), new="password")
    assert response.status_code == 400
    assert "new_password" in response.json()["error"]["details"]


def test_it_needs_a_token(tenant_a):
    response = TenantClient(tenant_a).post(CHANGE, {"current_password": PASSWORD, "new_password": NEW})
    assert response.status_code == 401


def test_a_token_of_tenant_a_cannot_change_a_password_on_tenant_b(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    response = change(tenant_b, access_token(user, tenant_a))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_tenant_mismatch"
    assert login(tenant_a, user.email).status_code == 200


def test_a_change_is_audited_in_the_users_trail(tenant_a, make_user):
    user = make_user(tenant_a)
    assert change(tenant_a, access_token(user, tenant_a)).status_code == 204
    entries = [e for e in trail(tenant_a) if e.object_pk == str(user.pk)]
    assert any(e.event == "password_change" and e.actor == user.email for e in entries)
    row = [e for e in entries if e.object_type == "accounts.user" and (e.changes or {}).get("password")]
    assert row
    assert NEW not in str(row[-1].changes)


def test_platform_staff_change_theirs_on_the_platform(platform_admin):
    access = access_token(platform_admin, None)
    assert change(None, access).status_code == 204
    assert (
        TenantClient(None)
        .post("/api/v1/auth/login", {"email": platform_admin.email, "password": NEW})
        .status_code
        == 200
    )
    assert any(e.event == "password_change" for e in trail(None))


def test_platform_staff_on_a_tenant_route_change_their_own_row(platform_admin, tenant_a):
    access = access_token(platform_admin, None)
    assert change(tenant_a, access).status_code == 204
    assert (
        TenantClient(None)
        .post("/api/v1/auth/login", {"email": platform_admin.email, "password": NEW})
        .status_code
        == 200
    )


def test_a_machine_principal_has_no_password_to_change(tenant_a, rf):
    from types import SimpleNamespace

    from accounts.services import password_change
    from saas.exceptions import ApplicationError

    request = rf.post(CHANGE)
    request.tenant = tenant_a
    key = SimpleNamespace(role="admin", email="apikey:ci", is_platform_admin=False, is_authenticated=True)
    with pytest.raises(ApplicationError) as refused:
        password_change(request=request, user=key, current_password=PASSWORD, new_password=NEW)
    assert refused.value.status_code == 403
