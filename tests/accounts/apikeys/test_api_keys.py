"""API keys for machine clients: made by owners and admins, shown once, stored
as a digest, accepted on their own tenant's routes only, spending its budget, audited `apikey:<name>`."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.apikeys.models import ApiKey
from accounts.models import Role, User
from audit.models import AuditEntry
from tests.conftest import ROUTING_FORMS, TenantClient

pytestmark = pytest.mark.django_db


def key_client(tenant, key, via="host"):
    client = TenantClient(tenant, via=via)
    client.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def owner_client(tenant_a, make_user, client_for):
    return client_for(tenant_a, make_user(tenant_a, Role.OWNER))


def make_key(client, name="ci-bot", role="admin"):
    response = client.post("/api/v1/api-keys/", {"name": name, "role": role})
    assert response.status_code == 201, response.content
    return response.json()


def trail_text(tenant):
    with schema_context(tenant.schema_name):
        return json.dumps(
            [
                [e.actor, e.object_repr, e.changes, e.additional_data, e.serialized_data]
                for e in AuditEntry.objects.all()
            ]
        )


# --- create, list, revoke ---------------------------------------------------------------------


def test_create_shows_the_key_once_and_lists_without_it(tenant_a, make_user, client_for):
    owner = make_user(tenant_a, Role.OWNER)
    client = client_for(tenant_a, owner)
    created = make_key(client)
    assert set(created) == {"id", "name", "prefix", "role", "key"}
    assert created["name"] == "ci-bot"
    assert created["role"] == "admin"
    assert created["key"].startswith(created["prefix"] + ".")

    listed = client.get("/api/v1/api-keys/")
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert set(row) == {"id", "name", "prefix", "role", "created_at", "last_used_at", "created_by"}
    assert row["id"] == created["id"]
    assert row["prefix"] == created["prefix"]
    assert row["created_by"] == owner.email
    assert row["last_used_at"] is None
    assert created["key"] not in listed.content.decode()
    secret = created["key"].partition(".")[2]
    with schema_context(tenant_a.schema_name):
        stored = ApiKey.objects.get(pk=created["id"])
        columns = [getattr(stored, field.attname) for field in ApiKey._meta.fields]
        assert secret not in json.dumps(columns, default=str)
    assert client.get("/api/v1/api-keys").status_code == 200  # without the trailing slash too


def test_revoked_key_is_refused_at_once(tenant_a, owner_client):
    created = make_key(owner_client)
    machine = key_client(tenant_a, created["key"])
    assert machine.get("/api/v1/users/").status_code == 200
    assert owner_client.delete(f"/api/v1/api-keys/{created['id']}/").status_code == 204
    refused = machine.get("/api/v1/users/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    assert owner_client.get("/api/v1/api-keys/").json()["results"] == []
    assert owner_client.delete(f"/api/v1/api-keys/{created['id']}/").status_code == 404


def test_a_revoked_name_can_be_used_again_but_not_a_live_one(tenant_a, owner_client):
    first = make_key(owner_client, name="deploy")
    again = owner_client.post("/api/v1/api-keys/", {"name": "deploy", "role": "member"})
    assert again.status_code == 400
    assert "name" in again.json()["error"]["details"]
    owner_client.delete(f"/api/v1/api-keys/{first['id']}/")
    assert make_key(owner_client, name="deploy")["id"] != first["id"]


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "x", "role": "platform_admin"}, {"name": 5}, {"name": "x" * 101}]
)
def test_bad_bodies_are_400(owner_client, body):
    response = owner_client.post("/api/v1/api-keys/", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


# --- who may make which key -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maker", "role", "status"),
    [
        ("owner", "owner", 201),
        ("owner", "member", 201),
        ("admin", "admin", 201),
        ("admin", "member", 201),
        ("admin", "owner", 403),  # not above the maker's own role
        ("member", "member", 403),
        ("platform_admin", "owner", 201),
    ],
)
def test_role_rules(tenant_a, make_user, client_for, platform_admin, maker, role, status):
    user = platform_admin if maker == "platform_admin" else make_user(tenant_a, maker)
    client = client_for(tenant_a, user)
    response = client.post("/api/v1/api-keys/", {"name": f"{maker}-{role}", "role": role})
    assert response.status_code == status, response.content
    if status == 403:
        assert response.json()["error"]["code"] == "permission_denied"
    assert client.get("/api/v1/api-keys/").status_code == (403 if maker == "member" else 200)


def test_a_key_has_its_role_and_nothing_more(tenant_a, owner_client):
    member_key = make_key(owner_client, name="reader", role="member")["key"]
    admin_key = make_key(owner_client, name="provisioner", role="admin")["key"]
    reader, provisioner = key_client(tenant_a, member_key), key_client(tenant_a, admin_key)
    assert reader.get("/api/v1/users/").status_code == 200
    body = {"email": "made-by-key@example.test", "role": "member"}
    assert reader.post("/api/v1/users/", body).status_code == 403
    assert provisioner.post("/api/v1/users/", body).status_code == 201
    owner_body = {"email": "owner-by-key@example.test", "role": "owner"}
    assert provisioner.post("/api/v1/users/", owner_body).status_code == 403
    assert reader.get("/api/v1/webhooks/events").status_code == 403
    assert provisioner.get("/api/v1/webhooks/events").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/auth/me"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/api-keys/"),
        ("post", "/api/v1/api-keys/"),
    ],
)
def test_a_key_never_acts_as_a_person_nor_makes_keys(tenant_a, owner_client, method, path):
    machine = key_client(tenant_a, make_key(owner_client, role="owner")["key"])
    response = getattr(machine, method)(path, {"refresh": "x", "name": "spawn", "role": "member"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


# --- where a key works ------------------------------------------------------------------------


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_key_works_on_its_tenant_by_every_routing_form(tenant_a, owner_client, via):
    created = make_key(owner_client)
    listed = key_client(tenant_a, created["key"], via=via).get("/api/v1/users/")
    assert listed.status_code == 200
    assert listed.json()["count"] >= 1


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_key_is_refused_on_another_tenant(tenant_a, tenant_b, owner_client, via):
    created = make_key(owner_client)
    refused = key_client(tenant_b, created["key"], via=via).get("/api/v1/users/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    assert refused["WWW-Authenticate"]


def test_key_is_refused_on_platform_routes(tenant_a, owner_client):
    created = make_key(owner_client, role="owner")
    platform = key_client(None, created["key"])
    for path in ("/api/v1/tenants/", "/api/v1/audit/events", "/api/v1/auth/me"):
        response = platform.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "invalid_token"


def test_api_keys_are_not_a_platform_route(platform_admin, client_for):
    response = client_for(None, platform_admin).get("/api/v1/api-keys/")
    assert response.status_code == 404


def test_keys_stay_in_their_tenant(tenant_a, tenant_b, make_user, client_for, owner_client):
    make_key(owner_client, name="alpha-only")
    owner_b = client_for(tenant_b, make_user(tenant_b, Role.OWNER))
    assert owner_b.get("/api/v1/api-keys/").json()["results"] == []
    with schema_context(tenant_b.schema_name):
        assert not ApiKey.objects.exists()
    # B's owner cannot revoke A's key by its id, by any routing form that names B.
    a_id = owner_client.get("/api/v1/api-keys/").json()["results"][0]["id"]
    assert owner_b.delete(f"/api/v1/api-keys/{a_id}/").status_code == 404
    assert len(owner_client.get("/api/v1/api-keys/").json()["results"]) == 1


@pytest.mark.parametrize(
    "header", ["Api-Key", "Api-Key sk_000000000000.nope", "Api-Key a b", "api-key " + "x" * 5000]
)
def test_malformed_or_unknown_keys_are_401(tenant_a, header):
    client = TenantClient(tenant_a)
    client.client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/users/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


# --- budget, last use, audit ------------------------------------------------------------------


def test_key_requests_spend_the_tenant_budget(settings, tenant_a, make_user, client_for, owner_client):
    created = make_key(owner_client)  # spends one of the budget below only once it is in force
    settings.SAAS_PLAN_RATE_LIMITS = {"free": 4, "pro": 30, "enterprise": 300}
    machine = key_client(tenant_a, created["key"])
    first = machine.get("/api/v1/users/")
    assert first.status_code == 200
    assert first["X-RateLimit-Limit"] == "4"
    remaining = int(first["X-RateLimit-Remaining"])
    person = client_for(tenant_a, make_user(tenant_a, Role.MEMBER)).get("/api/v1/users/")
    assert int(person["X-RateLimit-Remaining"]) == remaining - 1  # one budget for both
    for _ in range(remaining - 1):
        assert machine.get("/api/v1/users/").status_code == 200
    over = machine.get("/api/v1/users/")
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limited"
    assert int(over["Retry-After"]) >= 1


def test_last_used_is_written_at_most_once_a_minute(tenant_a, owner_client):
    created = make_key(owner_client)
    machine = key_client(tenant_a, created["key"])
    machine.get("/api/v1/users/")
    with schema_context(tenant_a.schema_name):
        first = ApiKey.objects.get(pk=created["id"]).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        assert machine.get("/api/v1/users/").status_code == 200
    assert not [q for q in queries if "UPDATE" in q["sql"] and "apikeys_apikey" in q["sql"]]
    with schema_context(tenant_a.schema_name):
        ApiKey.objects.filter(pk=created["id"]).update(last_used_at=first - timedelta(minutes=2))
    machine.get("/api/v1/users/")
    with schema_context(tenant_a.schema_name):
        assert ApiKey.objects.get(pk=created["id"]).last_used_at > timezone.now() - timedelta(seconds=30)
    listed = owner_client.get("/api/v1/api-keys/").json()["results"][0]
    assert listed["last_used_at"] is not None


def test_actions_are_audited_as_the_key_and_the_key_never_reaches_the_trail(
    tenant_a, make_user, owner_client
):
    created = make_key(owner_client, name="provisioner", role="admin")
    machine = key_client(tenant_a, created["key"])
    made = machine.post("/api/v1/users/", {"email": "robot-made@example.test", "role": "member"})
    assert made.status_code == 201
    with schema_context(tenant_a.schema_name):
        user = User.objects.get(email="robot-made@example.test")
        entry = AuditEntry.objects.filter(object_type="accounts.user", object_pk=str(user.pk)).get()
        assert entry.actor == "apikey:provisioner"
        assert entry.actor_email is None
        creation = AuditEntry.objects.filter(object_type="apikeys.apikey").order_by("seq").first()
        assert creation is not None
        assert "key_hash" not in (creation.changes or {})
    assert machine.patch(f"/api/v1/users/{user.pk}/", {"first_name": "Robo"}).status_code == 200
    assert owner_client.delete(f"/api/v1/api-keys/{created['id']}/").status_code == 204
    text = trail_text(tenant_a)
    assert created["key"] not in text
    assert created["key"].partition(".")[2] not in text
    with schema_context(tenant_a.schema_name):
        digest = ApiKey.objects.get(pk=created["id"]).key_hash
    assert digest not in text
    # Nor in any answer of the audit API.
    audit = owner_client.get("/api/v1/audit/events", {"page_size": 100})
    assert audit.status_code == 200
    assert created["key"] not in audit.content.decode()
    assert "apikey:provisioner" in audit.content.decode()


def test_refused_keys_are_security_events(tenant_a):
    client = TenantClient(tenant_a)
    client.client.credentials(HTTP_AUTHORIZATION="Api-Key sk_0123456789ab." + "A" * 43)
    assert client.get("/api/v1/users/").status_code == 401
    with schema_context(tenant_a.schema_name):
        entry = AuditEntry.objects.filter(event="api_key_invalid").order_by("-seq").first()
    assert entry is not None
    assert entry.changes["prefix"] == "sk_0123456789ab"
    assert "A" * 43 not in json.dumps(entry.changes)


@pytest.mark.parametrize("via", ROUTING_FORMS)
def test_keys_are_managed_by_every_routing_form(tenant_a, make_user, client_for, via):
    client = client_for(tenant_a, make_user(tenant_a, Role.ADMIN), via=via)
    created = make_key(client, name=f"by-{via}", role="member")
    assert [k["id"] for k in client.get("/api/v1/api-keys/").json()["results"]] == [created["id"]]
    assert client.delete(f"/api/v1/api-keys/{created['id']}").status_code == 204


def test_the_request_log_names_the_key(tenant_a, owner_client, caplog):
    machine = key_client(tenant_a, make_key(owner_client, name="logged")["key"])
    with caplog.at_level("INFO", logger="saas.request"):
        machine.get("/api/v1/users/")
    record = next(r for r in caplog.records if r.name == "saas.request")
    assert record.user == "apikey:logged"
