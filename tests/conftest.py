"""Shared fixtures.

Two tenants (alpha, beta) are created once per session by the real provisioning service; each
test's own rows roll back inside their schemas. Tests that need committed data (real HTTP
servers, a real Celery worker) use `fresh_tenant`, a throwaway tenant purged afterwards.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

import audit.security
import saas.ratelimits
from accounts.models import User
from accounts.tokens import token_pair
from tenants.models import Tenant
from tenants.routing_cache import local_cache
from tenants.services import tenant_delete
from tests.factories import PASSWORD as PASSWORD  # the one test password, imported from here
from tests.factories import make_platform_admin, make_tenant
from tests.factories import make_user as _make_user

ROUTING_FORMS = ("host", "header", "path")


_ROLE_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


def _connect_as(role: dict[str, Any]) -> None:
    connection.close()
    connection.settings_dict.update({key: role[key] for key in _ROLE_KEYS})


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: None, django_db_blocker: Any) -> Iterator[None]:
    """The test database, always: made and migrated by the owner role, then every test runs as the
    app role (DATABASE_URL), so the suite meets the app role's privileges for real (tenants/roles.py).

    pytest-django creates it only when a collected test asks for `db` (or a django_db mark); a run
    made only of `committed_db`, `fresh_tenant` or live-process tests would otherwise work on the
    DATABASE_URL database itself."""
    from django.test.utils import setup_databases, teardown_databases

    app = {key: connection.settings_dict[key] for key in _ROLE_KEYS}
    owner = settings.MIGRATION_DATABASE
    test_name = connection.creation._get_test_db_name()
    connection.settings_dict["TEST"]["NAME"] = test_name
    # What migrate_schemas connects to (tenants.roles.connected_as_owner): the test database too.
    owner["NAME"] = test_name
    with django_db_blocker.unblock():
        _connect_as(owner)
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        _connect_as(app)
    yield
    with django_db_blocker.unblock():
        _connect_as(owner)
        teardown_databases(config, verbosity=0)


def _database_url(db: dict[str, Any]) -> str:
    password = f":{quote(str(db['PASSWORD']), safe='')}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{quote(str(db['USER']), safe='')}{password}@{host}:{port}/{db['NAME']}"


def owner_database_url() -> str:
    """The test database as the owner role (MIGRATION_DATABASE_URL of the test run)."""
    return _database_url(settings.MIGRATION_DATABASE)


@contextlib.contextmanager
def owner_cursor(schema: str = "public") -> Iterator[Any]:
    """A cursor on a connection of its own as the owner role, on `schema`; commits when the block ends.

    For what only the owner may do (tampering with the trail, DDL): it sees committed rows only."""
    assert schema.replace("_", "").isalnum(), schema
    options = f"-c search_path={schema},public"  # the session's: a rollback keeps it
    with (
        psycopg.connect(owner_database_url(), connect_timeout=5, options=options) as conn,
        conn.cursor() as cursor,
    ):
        yield cursor


@pytest.fixture(scope="session", autouse=True)
def _clean_test_redis() -> None:
    """The tenant ids of a new test database must not meet cached routes of an old one."""
    import redis

    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(autouse=True)
def _fresh_redis_and_public_schema() -> Iterator[None]:
    cache.clear()
    local_cache.clear()
    # A test that took Redis away leaves no "skip Redis for 5 s" behind for the next one.
    saas.ratelimits._skip_until = audit.security._skip_until = 0.0
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture(scope="session")
def tenant_a(django_db_setup: None, django_db_blocker: Any) -> Tenant:
    with django_db_blocker.unblock():
        return make_tenant("alpha")


@pytest.fixture(scope="session")
def tenant_b(django_db_setup: None, django_db_blocker: Any) -> Tenant:
    with django_db_blocker.unblock():
        return make_tenant("beta")


@pytest.fixture
def fresh_tenant(django_db_blocker: Any, django_db_setup: None) -> Iterator[Tenant]:
    """A committed tenant of its own, for tests whose other processes must see its rows."""
    with django_db_blocker.unblock():
        tenant = make_tenant()
    yield tenant
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        tenant_delete(tenant=tenant, purge=True)
        Tenant.objects.filter(pk=tenant.pk).delete()


@pytest.fixture
def committed_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access in autocommit, for tests whose other processes must see each write.

    Unlike `transactional_db` nothing is flushed afterwards (the audit trail refuses TRUNCATE, and
    the session tenants must survive): such tests work in a `fresh_tenant`, purged afterwards.
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def make_user() -> Any:
    """make_user(tenant, role="member", email=None) -> User (tests/factories.py)."""
    return _make_user


@pytest.fixture
def platform_admin(db: None) -> User:
    return make_platform_admin()


def access_token(user: User, tenant: Tenant | None) -> str:
    """An access token as login would issue it (its refresh is recorded in the user's own schema)."""
    with schema_context(tenant.schema_name if tenant and not user.is_platform_admin else "public"):
        return str(token_pair(user=user, tenant=tenant)["access"])


class TenantClient:
    """An API client for one tenant that names it by host, header or path, as asked."""

    def __init__(self, tenant: Tenant | None, via: str = "host", token: str | None = None) -> None:
        self.tenant, self.via = tenant, via
        self.client = APIClient()
        if token:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def _route(self, path: str, extra: dict[str, Any]) -> str:
        if self.tenant is None:
            return path
        if self.via == "host":
            extra.setdefault("HTTP_HOST", f"{self.tenant.slug}.{settings.SAAS_BASE_DOMAIN}")
        elif self.via == "header":
            extra.setdefault("HTTP_X_TENANT_ID", self.tenant.slug)
        elif self.via == "path":
            assert path.startswith("/api/v1/"), path
            return f"/api/v1/tenants/{self.tenant.slug}/" + path.removeprefix("/api/v1/")
        return path

    def request(self, method: str, path: str, data: Any = None, **extra: Any) -> Any:
        url = self._route(path, extra)
        kwargs: dict[str, Any] = (
            {"format": "json"} if data is not None and "content_type" not in extra else {}
        )
        return getattr(self.client, method)(url, data, **kwargs, **extra)

    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.client.get(self._route(path, extra), data, **extra)

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.request("post", path, data, **extra)

    def put(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.request("put", path, data, **extra)

    def patch(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.request("patch", path, data, **extra)

    def delete(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.request("delete", path, data, **extra)


@pytest.fixture
def client_for() -> Any:
    """client_for(tenant, user=None, via="host") -> TenantClient, signed in as `user` when given."""

    def make(tenant: Tenant | None, user: User | None = None, via: str = "host") -> TenantClient:
        token = (
            access_token(user, tenant if user is None or not user.is_platform_admin else None)
            if user
            else None
        )
        return TenantClient(tenant, via=via, token=token)

    return make


def database_url_for_subprocess() -> str:
    """DATABASE_URL of the test database (the app role), for processes the tests start (servers, workers)."""
    return _database_url(connection.settings_dict)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a server or worker process that must share this test run's database and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saas.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        "MIGRATION_DATABASE_URL": owner_database_url(),
        "TEST_REDIS_URL": settings.REDIS_URL,
        **extra,
    }


ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port` (a server started, or stopped, by a test)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def serving_gunicorn(*options: str, **env: str) -> Iterator[str]:
    """A real gunicorn (2 workers, extra `options`) on 127.0.0.1 on this test run's database, with
    extra settings in `env`; yields its URL once `/health` answers, stops it afterwards."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "saas.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", *options],
        cwd=ROOT,
        env=subprocess_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url + "/health"), what="gunicorn")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def live_server_url(django_db_setup: None) -> Iterator[str]:
    """A real gunicorn server on 127.0.0.1 on this test run's database (sees committed rows only)."""
    with serving_gunicorn() as url:
        yield url


def start_worker(*, include: str = "", **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """A real Celery worker (prefork, concurrency 2) in its own process group, with extra settings
    and, in `include`, extra modules to import (comma-separated: `celery worker --include`).

    Returns the process and its node name once it answers a ping.
    """
    from saas.celery import app

    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    command = [sys.executable, "-m", "celery", "-A", "saas", "worker", "-c", "2", "-n", name]
    if include:
        command += ["--include", include]
    proc = subprocess.Popen(
        [*command, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=subprocess_env(**env),
        start_new_session=True,
    )
    hostname = name.replace("%h", socket.gethostname())
    try:
        wait_for(lambda: bool(app.control.ping(destination=[hostname], timeout=0.5)), what="celery worker")
    except TimeoutError:
        proc.kill()
        raise
    return proc, hostname


def stop_worker(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """Stops a worker of `start_worker` (its whole process group when it must be killed)."""
    if proc.poll() is not None:
        return
    if kill:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


@pytest.fixture
def celery_worker(django_db_setup: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process (prefork, concurrency 2) on this test run's Redis and database."""
    proc, _ = start_worker()
    try:
        yield proc
    finally:
        stop_worker(proc)


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server on 127.0.0.1 that keeps every mail it receives (tests/smtp.py)."""
    from tests.smtp import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def send_mail_to(settings: Any, smtp_server: Any) -> Any:
    """This process sends mail through `smtp_server` (as EMAIL_URL=smtp://127.0.0.1:<port> would)."""
    for name, value in smtp_server.settings().items():
        setattr(settings, name, value)
    return smtp_server
