"""The connection health check (CONN_HEALTH_CHECKS, saas/db/base.py): a persistent connection whose
server backend was terminated is replaced before the next request uses it, and a healthy idle one is
checked without a round trip."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory
from django_tenants.utils import schema_context

from accounts.models import Role, User
from saas.db.base import DatabaseWrapper
from tenants.models import Tenant
from tests.conftest import access_token, database_url_for_subprocess, wait_for


@pytest.fixture
def persistent_connection(committed_db: None) -> Iterator[None]:
    """The web process's settings: the connection outlives the request, health-checked per request."""
    saved = {key: connection.settings_dict[key] for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    connection.close()
    connection.settings_dict.update(CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=True)
    yield
    connection.close()
    connection.settings_dict.update(saved)


def _get_me(tenant: Tenant, token: str) -> tuple[str, bytes]:
    """`GET /api/v1/auth/me` through the WSGI handler, as a server sends it: request_started and
    request_finished run Django's connection upkeep, as they do between a server's requests."""
    environ = (
        RequestFactory()
        .get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TENANT_ID=tenant.slug)
        .environ
    )
    statuses: list[str] = []
    result = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    body = b"".join(result)
    result.close()
    return statuses[0], body


def _backend_pid() -> int:
    assert connection.connection is not None
    return int(connection.connection.info.backend_pid)


def _terminate(pid: int) -> None:
    """pg_terminate_backend from another session (same role), and wait until the backend is gone."""
    with psycopg.connect(database_url_for_subprocess(), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)

        def gone() -> bool:
            return other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None

        wait_for(gone, what="the terminated backend to exit")


@pytest.fixture
def owner_token(fresh_tenant: Tenant) -> str:
    with schema_context(fresh_tenant.schema_name):
        owner = User.objects.get(role=Role.OWNER)
    return access_token(owner, fresh_tenant)


def test_after_pg_terminate_backend_the_next_request_answers_normally(
    persistent_connection: None, fresh_tenant: Tenant, owner_token: str
) -> None:
    status, _ = _get_me(fresh_tenant, owner_token)
    assert status == "200 OK"
    pid = _backend_pid()
    assert _get_me(fresh_tenant, owner_token)[0] == "200 OK"
    assert _backend_pid() == pid  # the connection persists between requests

    _terminate(pid)

    status, body = _get_me(fresh_tenant, owner_token)
    assert status == "200 OK", body[:300]
    assert _backend_pid() != pid  # replaced before the request used it
    assert _get_me(fresh_tenant, owner_token)[0] == "200 OK"


def test_a_healthy_idle_connection_is_checked_without_a_round_trip(
    persistent_connection: None, fresh_tenant: Tenant, owner_token: str, monkeypatch: Any
) -> None:
    assert _get_me(fresh_tenant, owner_token)[0] == "200 OK"
    pid = _backend_pid()
    round_trips: list[int] = []
    original = DatabaseWrapper.is_usable

    def counted(self: DatabaseWrapper) -> bool:
        round_trips.append(1)
        return bool(original(self))

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counted)
    for _ in range(3):
        assert _get_me(fresh_tenant, owner_token)[0] == "200 OK"
    assert round_trips == []
    assert _backend_pid() == pid

    _terminate(pid)
    assert _get_me(fresh_tenant, owner_token)[0] == "200 OK"
    assert round_trips == [1]  # a readable idle socket: the server's goodbye, confirmed by SELECT 1
