"""Schemathesis against both OpenAPI schemas, every operation: no 5xx, answers that fit the schema.

Tenant operations run on tenant fuzz-a's host with its admin's token; platform operations on the
platform host with a platform admin's token. A fresh token is minted for every case (a case may
log the token out, deactivate or demote its user: `FuzzTenant.token` restores the user first).
"""

from typing import Any

import pytest
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import access_token

from .conftest import fuzz_operation, operations

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.mark.parametrize(("method", "path"), operations("saas.urls_tenant"))
def test_tenant_api(method: str, path: str, tenant_schema: Any, fuzz_tenants: Any, fuzz_server: str) -> None:
    fuzz_a = fuzz_tenants[0]

    def call(case: Any) -> None:
        # X-Tenant-ID (documented on every tenant operation) names the host's tenant, or each case
        # with a generated slug would only meet the routing's 400/404.
        headers = {
            "Host": fuzz_a.host,
            "X-Tenant-ID": fuzz_a.tenant.slug,
            "Authorization": f"Bearer {fuzz_a.token()}",
        }
        case.call_and_validate(base_url=fuzz_server, headers=headers, checks=CHECKS, timeout=60)

    assert fuzz_operation(tenant_schema, method, path, call) > 0


@pytest.mark.parametrize(("method", "path"), operations("saas.urls_public"))
def test_platform_api(
    method: str,
    path: str,
    platform_schema: Any,
    fuzz_platform_admin: Any,
    fuzz_server: str,
    platform_victim: Any,
) -> None:
    def call(case: Any) -> None:
        # Half the cases that name a tenant name a real one (else nearly every slug is a 404). The
        # case may suspend or delete it: a live one is restored, or made, before each case.
        if "slug" in (case.path_parameters or {}) and hash(repr(case.body)) % 2 == 0:
            case.path_parameters["slug"] = platform_victim()
        headers = {"Authorization": f"Bearer {access_token(fuzz_platform_admin, None)}"}
        case.call_and_validate(base_url=fuzz_server, headers=headers, checks=CHECKS, timeout=60)

    assert fuzz_operation(platform_schema, method, path, call) > 0
