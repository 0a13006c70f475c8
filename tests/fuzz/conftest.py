"""Fuzz suite fixtures: a real gunicorn on the test database, committed tenants, fresh tokens.

Collected only when SAAS_FUZZ=1 (`make test-fuzz` sets it): a full run takes minutes, so the
normal `make test` leaves it out. The fast hypothesis properties live in the normal suite.
"""

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.services import user_create
from integrations.service_names import SERVICES
from tests.conftest import PASSWORD, access_token, serving_gunicorn

if os.environ.get("SAAS_FUZZ") != "1":
    collect_ignore_glob = ["test_*.py"]

# Examples per operation (hypothesis `max_examples`); SAAS_FUZZ_EXAMPLES overrides.
EXAMPLES = int(os.environ.get("SAAS_FUZZ_EXAMPLES", "100"))
_victims = itertools.count(1)


@dataclass
class FuzzTenant:
    tenant: Any
    admin: User
    host: str
    markers: list[str] = field(default_factory=list)  # strings that only this tenant's data holds

    def token(self) -> str:
        """A fresh access token of the tenant admin, restored first if a fuzz case changed them."""
        with schema_context(self.tenant.schema_name):
            User.objects.filter(pk=self.admin.pk).update(is_active=True, role=Role.ADMIN)
        return access_token(self.admin, self.tenant)


def _make_tenant(slug: str) -> FuzzTenant:
    from integrations.models import WebhookEvent
    from integrations.services import integration_settings_ensure
    from tenants.models import Tenant
    from tenants.services import tenant_create

    existing = Tenant.objects.filter(slug=slug).first()  # a kept test database (--reuse-db)
    if existing is not None:
        with schema_context(existing.schema_name):
            admin = User.objects.get(email=f"admin@{slug}.test")
        return FuzzTenant(existing, admin, f"{slug}.localhost", markers=[f"@{slug}.test", f"evt_{slug}_"])
    tenant = tenant_create(
        slug=slug,
        name=f"Fuzz {slug}",
        owner_email=f"owner@{slug}.test",
        owner_password=PASSWORD,
        rate_limit_per_minute=10_000_000,  # the most allowed: the fuzz meets the API, not the limiter
    )
    with schema_context(tenant.schema_name):
        admin = user_create(email=f"admin@{slug}.test", password=PASSWORD, role=Role.ADMIN, validate=False)
        for i in range(3):
            user_create(email=f"member{i}@{slug}.test", password=PASSWORD, role=Role.MEMBER, validate=False)
        for service in SERVICES:
            integration_settings_ensure(service=service)
        for i in range(3):
            WebhookEvent.objects.create(
                service="user-service",
                event_id=f"evt_{slug}_{i}",
                type="user.updated",
                status="dead",
                payload={"id": f"evt_{slug}_{i}", "type": "user.updated", "data": {"id": f"{slug}-{i}"}},
                occurred_at="2026-01-01T00:00:00Z",
                received_at=timezone.now(),
            )
    connection.set_schema_to_public()
    return FuzzTenant(tenant, admin, f"{slug}.localhost", markers=[f"@{slug}.test", f"evt_{slug}_"])


@pytest.fixture(autouse=True)
def _db_unblocked(django_db_blocker: Any) -> Iterator[None]:
    """Fuzz tests mint tokens and repair fixtures between cases: committed rows, no test transaction."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def fuzz_tenants(django_db_setup: None, django_db_blocker: Any) -> tuple[FuzzTenant, FuzzTenant]:
    with django_db_blocker.unblock():
        return _make_tenant("fuzz-a"), _make_tenant("fuzz-b")


@pytest.fixture(scope="session")
def fuzz_platform_admin(django_db_setup: None, django_db_blocker: Any) -> User:
    with django_db_blocker.unblock(), schema_context("public"):
        existing = User.objects.filter(email="staff@fuzz.test").first()
        return existing or user_create(
            email="staff@fuzz.test", password=PASSWORD, role=Role.PLATFORM_ADMIN, validate=False
        )


@pytest.fixture(scope="session")
def fuzz_server(django_db_setup: None) -> Iterator[str]:
    """gunicorn on the test database; login limits raised so the fuzz meets the views, not 429s."""
    with serving_gunicorn(
        "-t",
        "60",
        LOGIN_RATE_PER_IP="1000000/m",
        LOGIN_RATE_PER_EMAIL="1000000/m",
        RATE_LIMIT_ANONYMOUS_PER_IP="100000000/m",  # the fuzz sends most requests without a valid token
        RATE_LIMIT_WEBHOOKS_PER_SERVICE="100000000/m",
    ) as url:
        yield url


def load_schema(url: str, host: str | None) -> Any:
    import schemathesis

    headers = {"Host": host} if host else {}
    raw = requests.get(f"{url}/api/schema/?format=json", headers=headers, timeout=30)
    raw.raise_for_status()
    schema = schemathesis.openapi.from_dict(raw.json())
    schema.config.update(base_url=url)
    return schema


@pytest.fixture(scope="session")
def tenant_schema(fuzz_server: str, fuzz_tenants: tuple[FuzzTenant, FuzzTenant]) -> Any:
    return load_schema(fuzz_server, fuzz_tenants[0].host)


@pytest.fixture(scope="session")
def platform_schema(fuzz_server: str, fuzz_tenants: tuple[FuzzTenant, FuzzTenant]) -> Any:
    return load_schema(fuzz_server, None)


@pytest.fixture(scope="session")
def platform_victim(django_db_blocker: Any) -> Any:
    """platform_victim() -> slug of a live tenant the platform operations may suspend or delete."""
    from tenants.models import Tenant, TenantStatus
    from tenants.services import tenant_create

    state: dict[str, str] = {}

    def get() -> str:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            slug = state.get("slug")
            tenant = Tenant.objects.filter(slug=slug).first() if slug else None
            if tenant is None or tenant.status == TenantStatus.DELETED:
                slug = f"victim-{next(_victims)}-{uuid.uuid4().hex[:8]}"
                tenant_create(slug=slug, name="Victim", owner_email=f"o@{slug}.test", owner_password=PASSWORD)
                state["slug"] = slug
            elif tenant.status != TenantStatus.ACTIVE:
                Tenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.ACTIVE)
            return state["slug"]

    return get


def operations(urlconf: str) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in a urlconf's schema, generated in-process at collection
    time so each becomes its own test; the tests themselves fuzz the schema gunicorn serves."""
    import django

    django.setup()
    from drf_spectacular.settings import spectacular_settings

    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS(urlconf=urlconf)  # with the webhook intake
    paths = generator.get_schema(request=None, public=True)["paths"]
    methods = ("get", "put", "post", "patch", "delete")
    return [(m.upper(), p) for p, item in paths.items() for m in methods if m in item]


def fuzz_operation(schema: Any, method: str, path: str, call: Any) -> int:
    """Runs `call(case)` on EXAMPLES cases of one operation, half valid and half invalid by the
    schema (schemathesis' positive and negative modes); returns how many ran."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    operation = schema.find_operation_by_path(method, path)
    assert operation is not None, f"{method} {path} is missing from the served schema"
    count = 0

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(*(operation.as_strategy(generation_mode=m) for m in GenerationMode)))
    def run(case: Any) -> None:
        nonlocal count
        count += 1
        call(case)

    run()
    return count
