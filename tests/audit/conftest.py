"""Fixtures of the audit tests."""

import uuid
from collections.abc import Iterator

import pytest
from django.db import connection

from tenants.models import Tenant
from tenants.services import tenant_delete
from tests.factories import make_tenant


@pytest.fixture
def other_tenant(committed_db: None) -> Iterator[Tenant]:
    """A second, committed tenant of the test's own, purged afterwards (chains across schemas)."""
    tenant = make_tenant(f"t{uuid.uuid4().hex[:10]}")
    yield tenant
    connection.set_schema_to_public()
    tenant_delete(tenant=tenant, purge=True)
    Tenant.objects.filter(pk=tenant.pk).delete()
