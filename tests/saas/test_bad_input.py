"""Bad input against every write route: always a 4xx in the contract's envelope, never a change."""

import json

import pytest
from django.conf import settings
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.mail.models import Email
from accounts.models import Invitation, RevokedAccessToken, Role, User
from tenants.models import Tenant
from tests.conftest import TenantClient, access_token

pytestmark = pytest.mark.django_db

EVERY_FIELD = ("email", "password", "refresh", "first_name", "last_name", "role", "is_active")
TENANT_FIELDS = ("slug", "name", "plan", "domains", "owner", "rate_limit_per_minute")


def _all_fields(value):
    return dict.fromkeys(EVERY_FIELD + TENANT_FIELDS, value)


def _nested(depth: int) -> bytes:
    return b'{"email": ' + b"[" * depth + b"]" * depth + b"}"


JSON = "application/json"
BAD_BODIES = {
    # name: (content type, raw body, expected status)
    "truncated-json": (JSON, b'{"email": ', 400),
    "trailing-garbage": (JSON, b'{"email": "a@example.test"} trailing', 400),
    "single-quotes": (JSON, b"{'email': 'a@example.test'}", 400),
    "nan": (JSON, b'{"rate_limit_per_minute": NaN, "email": NaN}', 400),
    "text-plain": ("text/plain", json.dumps({"email": "a@example.test"}).encode(), 415),
    "form-encoded": ("application/x-www-form-urlencoded", b"email=a%40example.test&password=x", 415),
    "xml": ("application/xml", b"<user><email>a@example.test</email></user>", 415),
    "escaped-nul": (JSON, json.dumps(_all_fields("nul\u0000@example.test")).encode(), 400),
    "nul-in-key": (JSON, b'{"em\\u0000ail": "a@example.test"}', 400),
    "raw-nul-byte": (JSON, b'{"email": "a\x00b@example.test"}', 400),
    "invalid-utf8": (JSON, b'{"email": "\xff\xfe\xfd@example.test", "name": "\xc3\x28"}', 400),
    "utf16": (JSON, json.dumps({"email": "a@example.test"}).encode("utf-16"), 400),
    "nested-100": (JSON, _nested(100), 400),
    "nested-100000": (JSON, _nested(100_000), 400),
    "top-level-array": (JSON, b'[{"email": "a@example.test"}]', 400),
    "top-level-string": (JSON, b'"a@example.test"', 400),
    "top-level-null": (JSON, b"null", 400),
    "wrong-types-numbers": (JSON, json.dumps(_all_fields(5)).encode(), 400),
    "wrong-types-lists": (JSON, json.dumps(_all_fields(["x"])).encode(), 400),
    "wrong-types-objects": (JSON, json.dumps(_all_fields({"x": 1})).encode(), 400),
    "wrong-types-bools-as-strings": (
        JSON,
        json.dumps({**_all_fields(True), "is_active": "true", "rate_limit_per_minute": "5"}).encode(),
        400,
    ),
    "too-long-strings": (
        JSON,
        json.dumps(
            {
                "email": "a" * 250 + "@example.test",
                "password": "p" * 1025,
                "refresh": "r" * 4097,
                "first_name": "f" * 151,
                "last_name": "l" * 151,
                "role": "r" * 30,
                "is_active": True,
                "slug": "s" * 40,
                "name": "n" * 201,
                "plan": "p" * 30,
                "domains": ["d" * 254],
                "owner": {"email": "o" * 250 + "@example.test", "password": "p" * 1025},
                "rate_limit_per_minute": 10**12,
            }
        ).encode(),
        400,
    ),
    "too-large": (JSON, b'{"email": "' + b"x" * (1024 * 1024) + b'"}', 413),
}


@pytest.fixture
def routes(tenant_a, make_user, platform_admin):
    owner = make_user(tenant_a, Role.OWNER)
    target = make_user(tenant_a, Role.MEMBER, first_name="Unchanged")
    tenant_token = access_token(owner, tenant_a)
    platform_token = access_token(platform_admin, None)
    tenant = TenantClient(tenant_a, token=tenant_token)
    platform = TenantClient(None, token=platform_token)
    return {
        "tenant-login": (tenant, "post", "/api/v1/auth/login"),
        "tenant-refresh": (tenant, "post", "/api/v1/auth/refresh"),
        "tenant-logout": (tenant, "post", "/api/v1/auth/logout"),
        "users-create": (tenant, "post", "/api/v1/users/"),
        "users-put": (tenant, "put", f"/api/v1/users/{target.pk}/"),
        "users-patch": (tenant, "patch", f"/api/v1/users/{target.pk}/"),
        "platform-login": (platform, "post", "/api/v1/auth/login"),
        "platform-refresh": (platform, "post", "/api/v1/auth/refresh"),
        "platform-logout": (platform, "post", "/api/v1/auth/logout"),
        "tenants-create": (platform, "post", "/api/v1/tenants/"),
        "tenants-put": (platform, "put", f"/api/v1/tenants/{tenant_a.slug}/"),
        "tenants-patch": (platform, "patch", f"/api/v1/tenants/{tenant_a.slug}/"),
        "password-reset": (tenant, "post", "/api/v1/auth/password/reset"),
        "password-reset-confirm": (tenant, "post", "/api/v1/auth/password/reset/confirm"),
        "password-change": (tenant, "post", "/api/v1/auth/password/change"),
        "invitations-create": (tenant, "post", "/api/v1/invitations/"),
        "invitations-accept": (tenant, "post", "/api/v1/auth/invitations/accept"),
    }


ROUTES = [
    "tenant-login",
    "tenant-refresh",
    "tenant-logout",
    "users-create",
    "users-put",
    "users-patch",
    "platform-login",
    "platform-refresh",
    "platform-logout",
    "tenants-create",
    "tenants-put",
    "tenants-patch",
    "password-reset",
    "password-reset-confirm",
    "password-change",
    "invitations-create",
    "invitations-accept",
]


def snapshot(tenant):
    def tokens():
        return (
            OutstandingToken.objects.count(),
            BlacklistedToken.objects.count(),
            RevokedAccessToken.objects.count(),
        )

    with schema_context(tenant.schema_name):
        users = sorted(
            User.objects.values_list("email", "role", "is_active", "first_name", "updated_at", "password")
        )
        tenant_tokens = (*tokens(), Invitation.objects.count(), Email.objects.count())
    public_tokens = tokens()
    tenants = sorted(Tenant.objects.values_list("slug", "name", "plan", "status", "updated_at"))
    return users, tenant_tokens, public_tokens, tenants


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("route", ROUTES)
def test_bad_body_is_a_4xx_envelope_and_changes_nothing(tenant_a, routes, route, body):
    client, method, path = routes[route]
    content_type, raw, expected = BAD_BODIES[body]
    before = snapshot(tenant_a)
    response = client.request(method, path, raw, content_type=content_type)
    assert response.status_code == expected, (route, body, response.status_code, response.content[:300])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] in {"validation_error", "unsupported_media_type", "payload_too_large"}
    assert snapshot(tenant_a) == before


def test_body_limit_is_the_configured_one():
    assert settings.SAAS_MAX_BODY_BYTES == 1024 * 1024
    assert settings.SAAS_MAX_JSON_DEPTH == 32


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_malformed_content_length_is_400(tenant_a, length):
    response = TenantClient(tenant_a).post(
        "/api/v1/auth/login", b"{}", content_type=JSON, CONTENT_LENGTH=length
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", 5),
        ("first_name", 5),
        ("last_name", False),
        ("role", 1),
        ("is_active", "true"),
        ("is_active", 1),
        ("password", 12345678),
    ],
)
def test_users_create_takes_json_types_strictly(tenant_a, routes, field, value):
    client, _, path = routes["users-create"]
    response = client.post(path, {"email": "strict@example.test", field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 5),
        ("plan", 1),
        ("rate_limit_per_minute", "5"),
        ("rate_limit_per_minute", True),
        ("domains", [5]),
    ],
)
def test_tenant_update_takes_json_types_strictly(tenant_a, routes, field, value):
    client, _, path = routes["tenants-patch"]
    response = client.patch(path, {field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
