"""Another tenant's admin against tenant fuzz-a's objects: zero 2xx answers carrying fuzz-a's data.

Each case is sent three ways with fuzz-b's admin token: on fuzz-a's host, with `X-Tenant-ID:
fuzz-a`, and by path (`/api/v1/tenants/fuzz-a/...`). Object ids in the path are drawn from
fuzz-a's real ids half of the time, so the objects exist.
"""

from typing import Any

import pytest
import requests
from django_tenants.utils import schema_context

from .conftest import fuzz_operation, operations

# Routes anyone may call without a token; even these must not hand out fuzz-a's data.
PUBLIC = {
    "/api/v1/auth/login/",
    "/api/v1/auth/refresh/",
    "/api/v1/auth/sso/login/",
    "/api/v1/auth/sso/token/",
}


def _real_ids(fuzz_a: Any) -> dict[str, list[int]]:
    from accounts.models import User
    from integrations.models import WebhookEvent

    with schema_context(fuzz_a.tenant.schema_name):
        return {
            "users": list(User.objects.values_list("pk", flat=True)),
            "events": list(WebhookEvent.objects.values_list("pk", flat=True)),
        }


@pytest.mark.parametrize(("method", "path"), operations("saas.urls_tenant"))
def test_other_tenant_token_gets_no_data(
    method: str, path: str, tenant_schema: Any, fuzz_tenants: Any, fuzz_server: str
) -> None:
    assert (
        fuzz_operation(tenant_schema, method, path, lambda case: _check(case, fuzz_tenants, fuzz_server)) > 0
    )


def _check(case: Any, fuzz_tenants: Any, fuzz_server: str) -> None:
    fuzz_a, fuzz_b = fuzz_tenants
    token = fuzz_b.token()
    ids = _real_ids(fuzz_a)
    if "id" in (case.path_parameters or {}) and hash(repr(case.query)) % 2 == 0:
        pool = ids["events"] if "/webhooks/" in case.path else ids["users"]
        case.path_parameters["id"] = pool[hash(repr(case.body)) % len(pool)]
    auth = {"Authorization": f"Bearer {token}"}
    variants = [
        ({"Host": fuzz_a.host, **auth}, None),
        ({"X-Tenant-ID": fuzz_a.tenant.slug, **auth}, None),
        (auth, "/api/v1/tenants/fuzz-a/" + case.formatted_path.removeprefix("/api/v1/")),
    ]
    for headers, path in variants:
        kwargs = case.as_transport_kwargs(base_url=fuzz_server, headers=headers)
        if path:
            kwargs["url"] = fuzz_server + path
        kwargs.pop("headers", None)
        merged = {**case.headers, **headers} if case.headers else headers
        response = requests.request(**kwargs, headers=merged, timeout=60)
        assert response.status_code < 500, (response.status_code, response.text[:300])
        if 200 <= response.status_code < 300:
            assert case.path in PUBLIC, f"{case.method} {kwargs['url']} -> {response.status_code}"
            for marker in fuzz_a.markers:
                assert marker not in response.text, f"{case.method} {kwargs['url']} leaked {marker}"
