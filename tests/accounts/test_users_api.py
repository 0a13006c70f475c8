"""Users API: role matrix, role rules, last owner, stale tokens, mass assignment."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context
from rest_framework.pagination import PageNumberPagination as StockPageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from accounts.filters import UserFilter
from accounts.models import Role, User
from accounts.serializers import UserSerializer
from tests.conftest import PASSWORD, ROUTING_FORMS, TenantClient, access_token

pytestmark = pytest.mark.django_db

ACTORS = ("owner", "admin", "member", "platform_admin")


def users_in(tenant):
    with schema_context(tenant.schema_name):
        return {u.email: (u.role, u.is_active, u.first_name) for u in User.objects.all()}


def reload(tenant, user):
    with schema_context(tenant.schema_name):
        return User.objects.get(pk=user.pk)


def actor_client(role, tenant, make_user, client_for, platform_admin, via="host"):
    if role == "platform_admin":
        return client_for(tenant, platform_admin, via=via)
    return client_for(tenant, make_user(tenant, role), via=via)


# --- role matrix: each role x each users action --------------------------------------------

ACTIONS = {
    # action: (method, needs a target, body, expected status for writers)
    "list": ("get", False, None, 200),
    "retrieve": ("get", True, None, 200),
    "create": ("post", False, {"email": "new-user@example.test", "password": PASSWORD}, 201),
    "put": (
        "put",
        True,
        {
            "email": "renamed@example.test",
            "first_name": "R",
            "last_name": "N",
            "role": "member",
            "is_active": True,
        },
        200,
    ),
    "patch": ("patch", True, {"first_name": "Patched"}, 200),
    "delete": ("delete", True, None, 204),
}
READ_ACTIONS = {"list", "retrieve"}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("actor", ACTORS)
def test_role_matrix(tenant_a, make_user, client_for, platform_admin, actor, action):
    method, needs_target, body, ok = ACTIONS[action]
    client = actor_client(actor, tenant_a, make_user, client_for, platform_admin)
    target = make_user(tenant_a, Role.MEMBER, first_name="Target")
    before = users_in(tenant_a)
    path = f"/api/v1/users/{target.pk}/" if needs_target else "/api/v1/users/"
    response = getattr(client, method)(path, body)
    allowed = actor != "member" or action in READ_ACTIONS
    assert response.status_code == (ok if allowed else 403), response.content
    if not allowed:
        assert response.json()["error"]["code"] == "permission_denied"
        assert users_in(tenant_a) == before
    elif action == "delete":
        assert reload(tenant_a, target).is_active is False
    elif action == "create":
        assert response.json()["role"] == "member"


def test_list_and_retrieve_shape(tenant_a, make_user, client_for):
    member = make_user(tenant_a, Role.MEMBER, first_name="Ada", last_name="L")
    client = client_for(tenant_a, member)
    page = client.get("/api/v1/users/").json()
    assert set(page) == {"count", "next", "previous", "results"}
    body = client.get(f"/api/v1/users/{member.pk}").json()
    assert set(body) == {
        "id",
        "email",
        "first_name",
        "last_name",
        "role",
        "is_active",
        "external_id",
        "created_at",
        "updated_at",
    }
    assert body["created_at"].endswith(("Z", "+00:00"))
    assert "password" not in body
    listed = next(u for u in page["results"] if u["id"] == member.pk)
    assert listed == body  # the list's plain rows render exactly as the serializer does


def test_unknown_user_is_404_in_the_envelope(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    for path in ("/api/v1/users/999999", "/api/v1/users/abc/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_routes_answer_with_and_without_trailing_slash(tenant_a, make_user, client_for):
    owner = make_user(tenant_a, Role.OWNER)
    client = client_for(tenant_a, owner)
    assert client.get("/api/v1/users").status_code == 200
    assert client.get("/api/v1/users/").status_code == 200
    assert client.post("/api/v1/users", {"email": "slashless@example.test"}).status_code == 201
    assert client.patch(f"/api/v1/users/{owner.pk}", {"first_name": "X"}).status_code == 200


def test_users_are_not_a_platform_route(platform_admin, client_for):
    assert client_for(None, platform_admin).get("/api/v1/users/").status_code == 404


# --- rules -----------------------------------------------------------------------------------

GRANTS = [
    # actor, role granted, expected on create
    ("admin", "member", 201),
    ("admin", "admin", 201),
    ("admin", "owner", 403),
    ("owner", "owner", 201),
    ("owner", "admin", 201),
    ("platform_admin", "owner", 201),
]


@pytest.mark.parametrize(("actor", "role", "expected"), GRANTS)
def test_nobody_grants_a_role_above_their_own_on_create(
    tenant_a, make_user, client_for, platform_admin, actor, role, expected
):
    client = actor_client(actor, tenant_a, make_user, client_for, platform_admin)
    response = client.post("/api/v1/users/", {"email": "granted@example.test", "role": role})
    assert response.status_code == expected, response.content
    assert ("granted@example.test" in users_in(tenant_a)) is (expected == 201)


@pytest.mark.parametrize(("actor", "role", "expected"), GRANTS)
def test_nobody_grants_a_role_above_their_own_on_update(
    tenant_a, make_user, client_for, platform_admin, actor, role, expected
):
    client = actor_client(actor, tenant_a, make_user, client_for, platform_admin)
    target = make_user(tenant_a, Role.MEMBER)
    response = client.patch(f"/api/v1/users/{target.pk}/", {"role": role})
    assert response.status_code == (200 if expected == 201 else expected), response.content
    assert reload(tenant_a, target).role == (role if expected == 201 else "member")


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_admin_cannot_touch_an_owner(tenant_a, make_user, client_for, method):
    owner = make_user(tenant_a, Role.OWNER)
    client = client_for(tenant_a, make_user(tenant_a, Role.ADMIN))
    response = getattr(client, method)(f"/api/v1/users/{owner.pk}/", {"first_name": "Hacked"})
    assert response.status_code == 403
    after = reload(tenant_a, owner)
    assert (after.first_name, after.is_active) == ("", True)


def test_admin_manages_admins_and_members(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.ADMIN))
    other_admin = make_user(tenant_a, Role.ADMIN)
    assert client.patch(f"/api/v1/users/{other_admin.pk}/", {"role": "member"}).status_code == 200
    assert reload(tenant_a, other_admin).role == "member"


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_nobody_changes_their_own_role(tenant_a, make_user, client_for, role):
    make_user(tenant_a, Role.OWNER)  # so an owner's demotion is not refused as the last owner's
    me = make_user(tenant_a, role)
    client = client_for(tenant_a, me)
    new_role = "member"
    response = client.patch(f"/api/v1/users/{me.pk}/", {"role": new_role})
    assert response.status_code == 403
    assert reload(tenant_a, me).role == role
    # Sending one's own unchanged role (a PUT of what GET returned) is fine.
    same = client.patch(f"/api/v1/users/{me.pk}/", {"role": role, "first_name": "Me"})
    assert same.status_code == 200


def test_platform_admin_ids_never_count_as_self(tenant_a, make_user, client_for, platform_admin):
    """The platform admin's row lives in public: a tenant user with the same id is someone else."""
    with schema_context(tenant_a.schema_name):
        User.objects.filter(pk=platform_admin.pk).delete()
        twin = User(pk=platform_admin.pk, email="same-id@example.test", role=Role.MEMBER)
        twin.set_password(PASSWORD)
        twin.save()
    client = client_for(tenant_a, platform_admin)
    assert client.patch(f"/api/v1/users/{twin.pk}/", {"role": "admin"}).status_code == 200


def sole_owner(tenant):
    with schema_context(tenant.schema_name):
        owners = User.objects.filter(role=Role.OWNER, is_active=True)
        assert owners.count() == 1
        return owners.get()


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("patch", {"role": "admin"}),
        ("patch", {"is_active": False}),
        (
            "put",
            {
                "email": "owner@alpha.test",
                "first_name": "",
                "last_name": "",
                "role": "member",
                "is_active": True,
            },
        ),
        ("delete", None),
    ],
    ids=["demote", "deactivate", "put-demote", "delete"],
)
def test_last_active_owner_cannot_be_demoted_deactivated_or_removed(
    tenant_a, client_for, platform_admin, method, body
):
    owner = sole_owner(tenant_a)
    response = getattr(client_for(tenant_a, platform_admin), method)(f"/api/v1/users/{owner.pk}/", body)
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "conflict"
    after = reload(tenant_a, owner)
    assert (after.role, after.is_active) == ("owner", True)


def test_the_last_owner_cannot_deactivate_themselves(tenant_a, client_for):
    owner = sole_owner(tenant_a)
    response = client_for(tenant_a, owner).delete(f"/api/v1/users/{owner.pk}/")
    assert response.status_code == 409
    assert reload(tenant_a, owner).is_active is True


def test_an_owner_can_go_once_another_owner_is_active(tenant_a, make_user, client_for):
    first = sole_owner(tenant_a)
    second = make_user(tenant_a, Role.OWNER)
    client = client_for(tenant_a, second)
    assert client.patch(f"/api/v1/users/{first.pk}/", {"role": "admin"}).status_code == 200
    # Now `second` is the last active owner; an inactive owner does not count.
    third = make_user(tenant_a, Role.OWNER, is_active=False)
    assert client.delete(f"/api/v1/users/{second.pk}/").status_code == 409
    assert reload(tenant_a, third).is_active is False


def test_delete_deactivates_and_the_user_can_be_reactivated(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.ADMIN))
    target = make_user(tenant_a, Role.MEMBER)
    assert client.delete(f"/api/v1/users/{target.pk}/").status_code == 204
    assert client.delete(f"/api/v1/users/{target.pk}/").status_code == 204  # idempotent
    assert client.get(f"/api/v1/users/{target.pk}/").json()["is_active"] is False
    login = client_for(tenant_a).post("/api/v1/auth/login", {"email": target.email, "password": PASSWORD})
    assert login.status_code == 401
    assert client.patch(f"/api/v1/users/{target.pk}/", {"is_active": True}).status_code == 200
    login = client_for(tenant_a).post("/api/v1/auth/login", {"email": target.email, "password": PASSWORD})
    assert login.status_code == 200


def test_demoted_users_old_token_loses_the_rights_on_the_next_request(tenant_a, make_user, client_for):
    admin = make_user(tenant_a, Role.ADMIN)
    admin_client = client_for(tenant_a, admin)  # token issued while admin: its claim says "admin"
    assert admin_client.post("/api/v1/users/", {"email": "before@example.test"}).status_code == 201
    owner = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    assert owner.patch(f"/api/v1/users/{admin.pk}/", {"role": "member"}).status_code == 200
    response = admin_client.post("/api/v1/users/", {"email": "after@example.test"})
    assert response.status_code == 403
    assert "after@example.test" not in users_in(tenant_a)
    assert admin_client.get("/api/v1/auth/me").json()["role"] == "member"


def test_deactivated_users_old_token_is_refused(tenant_a, make_user, client_for):
    admin = make_user(tenant_a, Role.ADMIN)
    admin_client = client_for(tenant_a, admin)
    owner = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    assert owner.delete(f"/api/v1/users/{admin.pk}/").status_code == 204
    response = admin_client.get("/api/v1/users/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_emails_are_unique_regardless_of_case(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    created = client.post("/api/v1/users/", {"email": "Mixed.Case@Example.TEST"})
    assert created.status_code == 201
    assert created.json()["email"] == "mixed.case@example.test"
    again = client.post("/api/v1/users/", {"email": "MIXED.case@example.test"})
    assert again.status_code == 400
    assert "email" in again.json()["error"]["details"]
    other = make_user(tenant_a, Role.MEMBER)
    clash = client.patch(f"/api/v1/users/{other.pk}/", {"email": "mixed.CASE@example.test"})
    assert clash.status_code == 400


def test_same_email_may_exist_in_two_tenants(tenant_a, tenant_b, make_user, client_for):
    make_user(tenant_b, Role.MEMBER, email="shared@example.test")
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    assert client.post("/api/v1/users/", {"email": "shared@example.test"}).status_code == 201


def test_password_is_validated_and_write_only(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    weak = client.post("/api/v1/users/", {"email": "weak@example.test", "password": "123"})
    assert weak.status_code == 400
    assert "password" in weak.json()["error"]["details"]
    good = client.post("/api/v1/users/", {"email": "good@example.test", "password": PASSWORD})
    assert "password" not in good.json()
    login = client_for(tenant_a).post(
        "/api/v1/auth/login", {"email": "good@example.test", "password": PASSWORD}
    )
    assert login.status_code == 200


def test_put_requires_every_writable_field(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    target = make_user(tenant_a, Role.MEMBER)
    response = client.put(f"/api/v1/users/{target.pk}/", {"first_name": "Only"})
    assert response.status_code == 400
    assert {"email", "last_name", "role", "is_active"} <= set(response.json()["error"]["details"])


# --- mass assignment ------------------------------------------------------------------------

SMUGGLED = {
    "id": 424242,
    "tenant": "beta",
    "is_staff": True,
    "is_superuser": True,
    "external_id": "ext-smuggled",
    "created_at": "2000-01-01T00:00:00Z",
    "password_hash": "x",
    "last_login": "2000-01-01T00:00:00Z",
}


def test_mass_assignment_on_create_is_ignored(tenant_a, tenant_b, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.ADMIN))
    response = client.post("/api/v1/users/", {"email": "mass@example.test", **SMUGGLED})
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != 424242
    assert body["external_id"] is None
    assert not body["created_at"].startswith("2000")
    with schema_context(tenant_a.schema_name):
        user = User.objects.get(email="mass@example.test")
        assert user.last_login is None
        assert user.is_superuser is False
    assert "mass@example.test" not in users_in(tenant_b)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_mass_assignment_on_update_is_ignored(tenant_a, make_user, client_for, method):
    client = client_for(tenant_a, make_user(tenant_a, Role.ADMIN))
    target = make_user(tenant_a, Role.MEMBER, external_id="ext-original")
    body = {"email": target.email, "first_name": "F", "last_name": "L", "role": "member", "is_active": True}
    response = getattr(client, method)(f"/api/v1/users/{target.pk}/", {**body, **SMUGGLED})
    assert response.status_code == 200, response.content
    after = reload(tenant_a, target)
    assert (after.pk, after.external_id, after.created_at) == (target.pk, "ext-original", target.created_at)


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_role_smuggled_by_an_admin_is_refused(tenant_a, make_user, client_for, method):
    client = client_for(tenant_a, make_user(tenant_a, Role.ADMIN))
    target = make_user(tenant_a, Role.MEMBER)
    body = {
        "email": "smuggle@example.test",
        "first_name": "",
        "last_name": "",
        "role": "owner",
        "is_active": True,
    }
    path = "/api/v1/users/" if method == "post" else f"/api/v1/users/{target.pk}/"
    response = getattr(client, method)(path, body)
    assert response.status_code == 403
    assert reload(tenant_a, target).role == "member"
    assert "smuggle@example.test" not in users_in(tenant_a)


@pytest.mark.parametrize("role", ["platform_admin", "superuser", "OWNER"])
def test_roles_outside_the_tenant_roles_are_refused(tenant_a, make_user, client_for, platform_admin, role):
    client = client_for(tenant_a, platform_admin)
    response = client.post("/api/v1/users/", {"email": "odd@example.test", "role": role})
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


# --- filters and pagination -----------------------------------------------------------------


def test_filters(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.MEMBER, email="me-filter@example.test"))
    make_user(tenant_a, Role.ADMIN, email="zed-admin@example.test", last_name="Quux")
    make_user(tenant_a, Role.MEMBER, email="gone@example.test", is_active=False)

    def emails(query):
        response = client.get("/api/v1/users/", query)
        assert response.status_code == 200, response.content
        return {u["email"] for u in response.json()["results"]}

    assert emails({"role": "admin"}) == {"zed-admin@example.test"}
    assert emails({"is_active": "false"}) == {"gone@example.test"}
    assert "gone@example.test" not in emails({"is_active": "true"})
    assert emails({"search": "QUUX"}) == {"zed-admin@example.test"}
    assert emails({"search": "zed", "role": "member"}) == set()


@pytest.mark.parametrize("query", [{"role": "platform_admin"}, {"is_active": "maybe"}, {"search": "x" * 101}])
def test_invalid_filters_are_400(tenant_a, make_user, client_for, query):
    client = client_for(tenant_a, make_user(tenant_a, Role.MEMBER))
    response = client.get("/api/v1/users/", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_page_size_is_capped_at_100(tenant_a, make_user, client_for):
    owner = make_user(tenant_a, Role.OWNER)
    with schema_context(tenant_a.schema_name):
        User.objects.bulk_create(User(email=f"bulk{i}@example.test") for i in range(105))
    client = client_for(tenant_a, owner)
    body = client.get("/api/v1/users/", {"page_size": 1000}).json()
    assert len(body["results"]) == 100
    assert body["count"] >= 106
    assert body["next"] is not None
    assert len(client.get("/api/v1/users/", {"page_size": 5, "page": 2}).json()["results"]) == 5


class _StockPagination(StockPageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


def _stock_page(tenant, path, query, host=None, **headers):
    """The page as DRF's stock pagination and UserSerializer render it, as bytes."""
    request = Request(APIRequestFactory().get(path, query, HTTP_HOST=host or "testserver", **headers))
    with schema_context(tenant.schema_name):
        users = UserFilter(query, queryset=User.objects.order_by("id")).qs
        paginator = _StockPagination()
        page = paginator.paginate_queryset(users, request)
        data = paginator.get_paginated_response(UserSerializer(page, many=True).data).data
    return JSONRenderer().render(data)


@pytest.fixture
def varied_users(tenant_a, make_user):
    """Users whose fields exercise the rendering: whole-second and fractional timestamps, an
    external id or none, quotes, backslashes, control and non-ASCII characters, U+2028."""
    owner = make_user(tenant_a, Role.OWNER, first_name="Zoë", last_name='O"Brien \\ \u2028\u2029')
    make_user(tenant_a, Role.ADMIN, first_name="tab\there", last_name="\x01\x1f\x7f")
    make_user(tenant_a, Role.MEMBER, first_name="", last_name="</script>&")
    inactive = make_user(tenant_a, Role.MEMBER, is_active=False, first_name="😀")
    with schema_context(tenant_a.schema_name):
        User.objects.filter(pk=inactive.pk).update(
            external_id="ext-1",
            created_at=datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC),
            updated_at=datetime(2021, 3, 4, 5, 6, 7, 10, tzinfo=UTC),
        )
        User.objects.filter(pk=owner.pk).update(
            created_at=datetime(999, 12, 31, 23, 59, 59, 100000, tzinfo=UTC),
            updated_at=datetime(2024, 2, 29, 0, 0, 0, 999999, tzinfo=UTC),
        )
    return owner


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"page_size": 2},
        {"page_size": 2, "page": 2},
        {"page_size": 2, "page": "last"},
        {"page_size": 3, "page": 2},
        {"page_size": 0},
        {"page_size": "x", "page": "1"},
        {"role": "member"},
        {"is_active": "false"},
        {"search": "zo", "page_size": 1},
        {"role": "owner", "page_size": 1, "page": 1},
    ],
)
@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_the_list_renders_byte_for_byte_as_drf_and_the_serializer_would(
    tenant_a, varied_users, client_for, query, via
):
    response = client_for(tenant_a, varied_users, via=via).get("/api/v1/users/", query)
    assert response.status_code == 200, response.content
    if via == "host":
        expected = _stock_page(tenant_a, "/api/v1/users/", query, host=f"{tenant_a.slug}.localhost")
    elif via == "header":
        expected = _stock_page(tenant_a, "/api/v1/users/", query, HTTP_X_TENANT_ID=tenant_a.slug)
    else:  # the links keep the tenant's path, so following them stays in the tenant
        expected = _stock_page(tenant_a, f"/api/v1/tenants/{tenant_a.slug}/users/", query)
    assert response.content == expected


@pytest.mark.parametrize("page", ["4", "0", "-1", "x", "1.5", "9" * 30])
def test_a_page_out_of_range_is_404_as_drf_answers_it(tenant_a, varied_users, client_for, page):
    response = client_for(tenant_a, varied_users).get("/api/v1/users/", {"page_size": 2, "page": page})
    assert response.status_code == 404, response.content
    assert response.json()["error"]["message"] == "Invalid page."


def test_an_empty_list_is_one_empty_page(tenant_a, client_for, platform_admin):
    with schema_context(tenant_a.schema_name):
        User.objects.all().delete()
    body = client_for(tenant_a, platform_admin).get("/api/v1/users/").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_query_count_does_not_grow_with_the_tenant(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/users/", {"page_size": 50}).status_code == 200
        # A `SET search_path` is issued only when the connection switches schema: not the point here.
        return len([q for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")])

    queries()  # warms the routing cache
    small = queries()
    with schema_context(tenant_a.schema_name):
        User.objects.bulk_create(User(email=f"grow{i}@example.test") for i in range(80))
    assert queries() == small


@pytest.mark.parametrize("query", [{"page_size": 50}, {"role": "owner", "search": "@"}, {"page": 2}])
def test_a_page_and_its_count_are_one_statement(tenant_a, make_user, client_for, query):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER))
    client.get("/api/v1/users/")  # warms the routing cache
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/users/", query)
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith("SET search_path")]
    # The token's user, then the page with its count (an empty page past the end: and the count).
    expected = 3 if response.status_code == 404 else 2
    assert len(statements) == expected, statements
    assert "count(*)" in statements[1]


# --- cross-tenant twins ---------------------------------------------------------------------


@pytest.mark.parametrize("via", ROUTING_FORMS)
@pytest.mark.parametrize("action", ACTIONS)
def test_another_tenants_token_is_refused_and_changes_nothing(
    tenant_a, tenant_b, make_user, client_for, via, action
):
    method, needs_target, body, _ = ACTIONS[action]
    target = make_user(tenant_a, Role.MEMBER)
    intruder = make_user(tenant_b, Role.OWNER)
    token = client_for(tenant_b, intruder).client._credentials["HTTP_AUTHORIZATION"]
    client = client_for(tenant_a, via=via)
    client.client.credentials(HTTP_AUTHORIZATION=token)
    before_a, before_b = users_in(tenant_a), users_in(tenant_b)
    path = f"/api/v1/users/{target.pk}/" if needs_target else "/api/v1/users/"
    response = getattr(client, method)(path, body)
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "token_tenant_mismatch"
    assert (users_in(tenant_a), users_in(tenant_b)) == (before_a, before_b)


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_own_tenant_never_shows_the_other_tenants_users(tenant_a, tenant_b, make_user, client_for, via):
    make_user(tenant_b, Role.MEMBER, email="only-in-beta@example.test")
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER), via=via)
    body = client.get("/api/v1/users/", {"page_size": 100}).json()
    assert "only-in-beta@example.test" not in {u["email"] for u in body["results"]}
    assert client.get("/api/v1/users/", {"search": "only-in-beta"}).json()["count"] == 0


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_every_routing_form_serves_the_users_api(tenant_a, make_user, client_for, via):
    client = client_for(tenant_a, make_user(tenant_a, Role.OWNER), via=via)
    assert client.post("/api/v1/users/", {"email": f"{via}@example.test"}).status_code == 201
    assert f"{via}@example.test" in users_in(tenant_a)


def test_a_path_routed_pages_next_link_stays_in_its_tenant(tenant_a, tenant_b, make_user):
    """Following `next` as given (no header, no tenant host) reaches the same tenant's next page;
    the same link with another tenant's token is refused."""
    owner = make_user(tenant_a, Role.OWNER)
    make_user(tenant_a, Role.MEMBER)
    first = TenantClient(tenant_a, via="path", token=access_token(owner, tenant_a))
    page = first.get("/api/v1/users/", {"page_size": 1}).json()
    link = urlsplit(page["next"])
    assert link.path == f"/api/v1/tenants/{tenant_a.slug}/users/"

    bare = APIClient()
    bare.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(owner, tenant_a)}")
    second = bare.get(f"{link.path}?{link.query}")
    assert second.status_code == 200, second.content
    assert second.json()["previous"] is not None
    assert second.json()["results"][0]["id"] != page["results"][0]["id"]

    stranger = make_user(tenant_b, Role.OWNER)
    bare.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(stranger, tenant_b)}")
    assert bare.get(f"{link.path}?{link.query}").status_code == 401
