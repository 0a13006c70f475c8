"""The OpenAPI schemas of both hosts: typed errors on every
operation, summaries and tags, explicit operation ids and enum names, the webhook intake, tenant
naming and rate-limit headers documented, no docstrings as descriptions; both validate."""

import inspect
import re

import pytest
from django.core.management import call_command
from drf_spectacular.settings import spectacular_settings
from rest_framework.test import APIClient

from saas.schema import TAGS

pytestmark = pytest.mark.django_db

URLCONFS = ("saas.urls_tenant", "saas.urls_public")
ERROR_REF = "#/components/schemas/ErrorEnvelope"
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def schemas(tenant_a):
    client = APIClient()
    tenant = client.get("/api/schema/?format=json", HTTP_HOST=f"{tenant_a.slug}.localhost")
    platform = client.get("/api/schema/?format=json")
    assert tenant.status_code == platform.status_code == 200
    return {"saas.urls_tenant": tenant.json(), "saas.urls_public": platform.json()}


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_schema_validates_without_a_warning(urlconf, tmp_path):
    # drf-spectacular's own check: the OpenAPI 3 JSON schema, and any generation warning fails.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--urlconf", urlconf, "--file", tmp_path / "s.yaml"
    )


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_operation_ids_are_explicit_and_unique(schemas, urlconf):
    ids = [op["operationId"] for _, _, op in operations(schemas[urlconf])]
    assert len(ids) == len(set(ids))
    assert not [i for i in ids if re.search(r"_\d+$", i) or i.startswith("api_v1")]


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_no_hashed_component_names(schemas, urlconf):
    names = list(schemas[urlconf]["components"]["schemas"])
    assert not [n for n in names if re.search(r"[0-9a-f]{3}Enum$", n)], names
    assert "TenantRoleEnum" in names or urlconf == "saas.urls_public"


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_every_operation_has_a_summary_a_known_tag_and_typed_errors(schemas, urlconf):
    tags = {tag["name"] for tag in TAGS}
    assert {t["name"] for t in schemas[urlconf]["tags"]} == tags
    envelope = schemas[urlconf]["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope["properties"]["error"]["required"]) == {"code", "message", "details"}
    for method, path, op in operations(schemas[urlconf]):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert len(op["tags"]) == 1, where
        assert op["tags"][0] in tags, where
        errors = {status: r for status, r in op["responses"].items() if status.startswith("4")}
        assert errors, where
        for status, response in errors.items():
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (where, status)
            codes = response["x-error-codes"]
            assert codes, (where, status)
            assert all(f"`{code}`" in response["description"] for code in codes), (where, status)
            assert set(response["content"]["application/json"]["examples"]) == set(codes)


def test_error_codes_follow_the_view(schemas):
    tenant = schemas["saas.urls_tenant"]["paths"]
    users = tenant["/api/v1/users/{id}/"]
    assert users["patch"]["responses"]["401"]["x-error-codes"] == [
        "not_authenticated",
        "invalid_token",
        "token_tenant_mismatch",
    ]
    assert users["patch"]["responses"]["403"]["x-error-codes"] == ["permission_denied", "tenant_inactive"]
    assert users["patch"]["responses"]["409"]["x-error-codes"] == ["conflict"]
    assert users["patch"]["responses"]["404"]["x-error-codes"] == ["not_found", "tenant_not_found"]
    assert {"413", "415"} <= set(users["patch"]["responses"])
    assert "validation_error" in users["patch"]["responses"]["400"]["x-error-codes"]
    login = tenant["/api/v1/auth/login/"]["post"]["responses"]
    assert login["401"]["x-error-codes"] == ["not_authenticated"]
    platform = schemas["saas.urls_public"]["paths"]
    assert platform["/api/v1/auth/login/"]["post"]["responses"]["429"]["headers"]["Retry-After"]
    assert platform["/api/v1/tenants/"]["post"]["responses"]["503"]["x-error-codes"] == ["template_behind"]
    assert "429" not in platform["/api/v1/tenants/"]["get"]["responses"]  # no budget on platform routes


def test_the_webhook_intake_is_documented(schemas):
    op = schemas["saas.urls_tenant"]["paths"]["/api/v1/webhooks/{service}/"]["post"]
    headers = {p["name"]: p for p in op["parameters"] if p.get("in") == "header"}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert headers[name]["required"] is True
    service = next(p for p in op["parameters"] if p.get("in") == "path")
    assert service["schema"]["enum"] == ["user-service", "payment-service", "communication-service"]
    assert op["security"] == [{}]
    components = schemas["saas.urls_tenant"]["components"]["schemas"]
    body = components[op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    forms = [components[ref["$ref"].rsplit("/", 1)[1]] for ref in body["oneOf"]]
    assert {"id", "type", "occurred_at", "data"} <= set(forms[0]["properties"])
    assert forms[1]["properties"]["events"]["maxItems"] == 1000
    assert {"202", "400", "401", "404", "413", "415", "429"} <= set(op["responses"])
    assert op["responses"]["401"]["x-error-codes"] == ["invalid_signature"]
    assert "invalid_payload" in op["responses"]["400"]["x-error-codes"]
    assert "/api/v1/webhooks/{service}/" not in schemas["saas.urls_public"]["paths"]


def test_tenant_naming_and_rate_limit_headers_are_documented(schemas):
    tenant = schemas["saas.urls_tenant"]
    assert "X-Tenant-ID" in tenant["info"]["description"]
    assert "/api/v1/tenants/<slug>/" in tenant["info"]["description"]
    assert tenant["servers"][0]["url"] == "/"
    assert tenant["components"]["parameters"]["TenantId"]["in"] == "header"
    assert set(tenant["components"]["headers"]) == {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "Retry-After",
    }
    for method, path, op in operations(tenant):
        assert {"$ref": "#/components/parameters/TenantId"} in op["parameters"], (method, path)
        for status, response in op["responses"].items():
            assert "X-RateLimit-Remaining" in response["headers"], (method, path, status)
        assert "Retry-After" in op["responses"]["429"]["headers"]
    # A platform-host parameter is not offered where it is ignored.
    audit = {p.get("name") for p in tenant["paths"]["/api/v1/audit/events/"]["get"]["parameters"]}
    assert "tenant" not in audit
    platform_audit = schemas["saas.urls_public"]["paths"]["/api/v1/audit/events/"]["get"]["parameters"]
    assert "tenant" in {p.get("name") for p in platform_audit}
    assert "TenantId" not in schemas["saas.urls_public"]["components"].get("parameters", {})


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_no_docstring_is_a_description(schemas, urlconf):
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS(urlconf=urlconf)
    generator._initialise_endpoints()
    docs = set()
    for _path, _regex, _method, callback in generator.endpoints:
        cls = callback.cls
        for obj in (cls, *(getattr(cls, m, None) for m in ("get", "post", "put", "patch", "delete", "list"))):
            doc = inspect.getdoc(obj) if obj is not None else None
            if doc and obj is not None and getattr(obj, "__module__", "").split(".")[0] != "rest_framework":
                docs.add(doc.strip())
    text = str(schemas[urlconf])
    leaked = [doc for doc in docs if doc in text]
    assert not leaked


def test_api_keys_are_offered_only_where_accepted(schemas):
    paths = schemas["saas.urls_tenant"]["paths"]
    assert {"apiKeyAuth": []} in paths["/api/v1/users/"]["get"]["security"]
    assert {"apiKeyAuth": []} not in paths["/api/v1/auth/me/"]["get"]["security"]
    assert {"apiKeyAuth": []} not in paths["/api/v1/api-keys/"]["get"]["security"]
