"""JWT sign-in: login, refresh rotation, logout, me, tenant binding."""

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Role
from tests.conftest import PASSWORD, ROUTING_FORMS, TenantClient, access_token

pytestmark = pytest.mark.django_db


def login(tenant, email, password=PASSWORD, via="host"):
    return TenantClient(tenant, via=via).post("/api/v1/auth/login", {"email": email, "password": password})


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_login_returns_a_token_pair_bound_to_the_tenant(tenant_a, make_user, via):
    user = make_user(tenant_a, Role.ADMIN)
    response = login(tenant_a, user.email.upper(), via=via)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    claims = AccessToken(body["access"])
    assert claims["tenant"] == "alpha"
    assert claims["role"] == "admin"
    assert str(claims["sub"]) == str(user.pk)
    assert {"jti", "iat", "exp"} <= set(claims.payload)


def test_wrong_password_and_unknown_email_get_the_same_answer(tenant_a, make_user):
    user = make_user(tenant_a)
    wrong = login(tenant_a, user.email, "nope-nope-nope")
    unknown = login(tenant_a, "nobody@example.test", "nope-nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_tenant_user_cannot_log_in_at_another_tenant(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    assert login(tenant_b, user.email).status_code == 401


def test_tenant_user_cannot_log_in_on_platform_routes(tenant_a, make_user):
    user = make_user(tenant_a, Role.OWNER)
    assert login(None, user.email).status_code == 401


def test_platform_admin_logs_in_on_platform_routes(platform_admin):
    response = login(None, platform_admin.email)
    assert response.status_code == 200
    assert AccessToken(response.json()["access"])["tenant"] is None


def test_passwords_are_hashed_with_argon2(tenant_a, make_user):
    user = make_user(tenant_a)
    assert user.password.startswith("argon2$")
    assert "argon2" in settings.PASSWORD_HASHERS[0].lower()


def test_me_shape(tenant_a, make_user, client_for):
    user = make_user(tenant_a, Role.OWNER, first_name="Ada", last_name="L")
    body = client_for(tenant_a, user).get("/api/v1/auth/me").json()
    assert body == {
        "id": user.pk,
        "email": user.email,
        "first_name": "Ada",
        "last_name": "L",
        "role": "owner",
        "tenant": {"slug": "alpha", "name": "Alpha", "plan": "free"},
    }


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_token_of_one_tenant_is_refused_on_another_with_the_same_user_id(tenant_a, tenant_b, make_user, via):
    user_a = make_user(tenant_a)
    user_b = make_user(tenant_b)
    # Force the same primary key in both schemas: the token's `sub` would match a user in B.
    from django_tenants.utils import schema_context

    from accounts.models import User

    with schema_context(tenant_b.schema_name):
        User.objects.filter(pk=user_b.pk).update(id=user_a.pk)
    response = TenantClient(tenant_b, via=via, token=access_token(user_a, tenant_a)).get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_tenant_mismatch"


def test_tenant_token_is_refused_on_platform_routes(tenant_a, make_user):
    user = make_user(tenant_a, Role.OWNER)
    response = TenantClient(None, token=access_token(user, tenant_a)).get("/api/v1/tenants/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_tenant_mismatch"


def test_platform_admin_token_works_on_tenant_routes(tenant_a, platform_admin):
    response = TenantClient(tenant_a, token=access_token(platform_admin, None)).get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json()["role"] == "platform_admin"


def test_refresh_rotates_and_a_used_refresh_is_refused(tenant_a, make_user):
    user = make_user(tenant_a)
    pair = login(tenant_a, user.email).json()
    client = TenantClient(tenant_a)
    first = client.post("/api/v1/auth/refresh", {"refresh": pair["refresh"]})
    assert first.status_code == 200
    assert first.json()["refresh"] != pair["refresh"]
    assert client.post("/api/v1/auth/refresh", {"refresh": pair["refresh"]}).status_code == 401
    assert client.post("/api/v1/auth/refresh", {"refresh": first.json()["refresh"]}).status_code == 200


def test_refresh_on_another_tenant_is_refused(tenant_a, tenant_b, make_user):
    user = make_user(tenant_a)
    pair = login(tenant_a, user.email).json()
    response = TenantClient(tenant_b).post("/api/v1/auth/refresh", {"refresh": pair["refresh"]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_tenant_mismatch"


def test_logout_revokes_refresh_and_access_at_once(tenant_a, make_user):
    user = make_user(tenant_a)
    pair = login(tenant_a, user.email).json()
    client = TenantClient(tenant_a, token=pair["access"])
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
    assert (
        TenantClient(tenant_a).post("/api/v1/auth/refresh", {"refresh": pair["refresh"]}).status_code == 401
    )


def test_logout_with_someone_elses_refresh_is_refused(tenant_a, make_user):
    me, other = make_user(tenant_a), make_user(tenant_a)
    mine, theirs = login(tenant_a, me.email).json(), login(tenant_a, other.email).json()
    response = TenantClient(tenant_a, token=mine["access"]).post(
        "/api/v1/auth/logout", {"refresh": theirs["refresh"]}
    )
    assert response.status_code == 401
    assert (
        TenantClient(tenant_a).post("/api/v1/auth/refresh", {"refresh": theirs["refresh"]}).status_code == 200
    )


def test_expired_token_is_refused(tenant_a, make_user):
    user = make_user(tenant_a)
    token = AccessToken.for_user(user)
    token["tenant"] = "alpha"
    token.set_exp(lifetime=timedelta(seconds=-1))
    response = TenantClient(tenant_a, token=str(token)).get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_tampered_token_is_refused(tenant_a, make_user):
    user = make_user(tenant_a, Role.MEMBER)
    header, payload, signature = access_token(user, tenant_a).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "owner"
    forged = ".".join([header, _b64(claims), signature])
    response = TenantClient(tenant_a, token=forged).get("/api/v1/auth/me")
    assert response.status_code == 401


def test_alg_none_token_is_refused(tenant_a, make_user):
    user = make_user(tenant_a)
    claims = AccessToken(access_token(user, tenant_a)).payload
    forged = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + "."
    response = TenantClient(tenant_a, token=forged).get("/api/v1/auth/me")
    assert response.status_code == 401


def test_token_signed_with_another_key_is_refused(tenant_a, make_user):
    user = make_user(tenant_a)
    claims = AccessToken(access_token(user, tenant_a)).payload
    forged = jwt.encode({**claims, "exp": int(time.time()) + 60}, "not-the-key" * 4, algorithm="HS256")
    response = TenantClient(tenant_a, token=forged).get("/api/v1/auth/me")
    assert response.status_code == 401


def test_deactivated_user_token_stops_working(tenant_a, make_user):
    from django_tenants.utils import schema_context

    user = make_user(tenant_a)
    client = TenantClient(tenant_a, token=access_token(user, tenant_a))
    assert client.get("/api/v1/auth/me").status_code == 200
    with schema_context(tenant_a.schema_name):
        user.is_active = False
        user.save()
    assert client.get("/api/v1/auth/me").status_code == 401


def test_load_token_user_reads_the_whole_row_and_refuses_revoked_stale_or_inactive(tenant_a, make_user):
    """The hand-written token query (one statement, no ORM compile) keeps every check of the
    queryset it replaced, and returns a user that behaves as one loaded by the ORM."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.authentication import load_token_user
    from accounts.models import RevokedAccessToken, User

    user = make_user(tenant_a, Role.ADMIN, first_name="Grace")
    with schema_context(tenant_a.schema_name):
        loaded = load_token_user(user_id=str(user.pk), jti="j1", from_public=False, generation=0)
        assert loaded is not None
        assert loaded._state.adding is False
        assert {f.attname: getattr(loaded, f.attname) for f in User._meta.concrete_fields} == {
            f.attname: getattr(User.objects.get(pk=user.pk), f.attname) for f in User._meta.concrete_fields
        }
        loaded.first_name = "Ada"
        loaded.save(update_fields=["first_name"])  # a real row: saving it updates, never inserts
        assert User.objects.get(pk=user.pk).first_name == "Ada"

        assert load_token_user(user_id=user.pk, jti="j1", from_public=False, generation=1) is None
        assert load_token_user(user_id="not-a-number", jti="j1", from_public=False) is None
        assert load_token_user(user_id=2**70, jti="j1", from_public=False) is None
        RevokedAccessToken.objects.create(jti="j1", expires_at=timezone.now() + timedelta(minutes=5))
        assert load_token_user(user_id=user.pk, jti="j1", from_public=False) is None
        assert load_token_user(user_id=user.pk, jti="j2", from_public=False) is not None
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert load_token_user(user_id=user.pk, jti="j2", from_public=False) is None
    # The same id in the public schema is someone else (or no one): a tenant token never reads it.
    assert load_token_user(user_id=user.pk, jti="j2", from_public=True) is None or (
        load_token_user(user_id=user.pk, jti="j2", from_public=True).email != user.email
    )


def test_me_written_out_matches_the_declared_fields(tenant_a, make_user):
    """MeSerializer renders by hand for speed; DRF's generic rendering of its fields agrees."""
    from types import SimpleNamespace

    from rest_framework import serializers

    from accounts.serializers import MeSerializer

    user = make_user(tenant_a, Role.ADMIN, first_name="Ada", last_name="L")
    for tenant in (tenant_a, None):
        serializer = MeSerializer(user, context={"request": SimpleNamespace(tenant=tenant)})
        assert serializer.data == serializers.ModelSerializer.to_representation(serializer, user)
