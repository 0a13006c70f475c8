"""No database transaction, and so no audit-chain lock, is held across an outgoing call.

A slow external service must not slow down the tenant: sign-in, user changes and replays all write
audit entries, which queue behind whoever holds the schema's chain head. These tests run with real
commits (`committed_db` in a `fresh_tenant`), the sandbox as a real HTTP server made slow with its
latency switch, and the engine in a thread of this process.
"""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg import pq

from accounts.models import Role, User
from accounts.services import user_create
from integrations import http
from integrations.models import EventStatus, Message, WebhookEvent
from integrations.services import events_process, integration_settings_update, webhook_parse, webhook_receive
from integrations.sync import users_sync
from tenants.models import Tenant
from tests.conftest import PASSWORD, wait_for

from .conftest import SandboxControl, event
from .factories import stored_event

pytestmark = pytest.mark.usefixtures("committed_db")

LATENCY_MS = 3500  # the slow service; every request below must finish in well under a third of it
FAST_ENOUGH = 1.0


@pytest.fixture(autouse=True)
def _no_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Celery messages: the engine runs in a thread here, and retries are not what is tested."""
    monkeypatch.setattr("integrations.services.events_enqueue", lambda **kw: True)
    monkeypatch.setattr("integrations.services.events_kick", lambda **kw: True)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every outgoing call, with the state of this thread's database connection while it was made."""
    seen: list[dict[str, Any]] = []
    original = http.ServiceClient.request

    def watched(self: http.ServiceClient, method: str, path: str, **kwargs: Any) -> Any:
        raw = connection.connection
        seen.append(
            {
                "call": f"{method} {path}",
                "in_atomic_block": connection.in_atomic_block,
                "transaction": None if raw is None else raw.info.transaction_status,
            }
        )
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(http.ServiceClient, "request", watched)
    return seen


@pytest.fixture
def tenant(fresh_tenant: Tenant, sandbox: SandboxControl) -> Iterator[Tenant]:
    with schema_context(fresh_tenant.schema_name):
        for service in ("user-service", "communication-service"):
            integration_settings_update(
                service=service, enabled=True, base_url=sandbox.base_url(service), api_key="k"
            )
    yield fresh_tenant
    sandbox.clear_faults()


def receive(tenant: Tenant, *docs: dict[str, Any]) -> list[int]:
    with schema_context(tenant.schema_name):
        body = webhook_parse(body=json.dumps({"events": list(docs)}).encode())
        webhook_receive(service="user-service", body=body)
        return list(
            WebhookEvent.objects.filter(event_id__in=[d["id"] for d in docs]).values_list("id", flat=True)
        )


def in_thread(tenant: Tenant, target: Any, **kwargs: Any) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with schema_context(tenant.schema_name):
                target(**kwargs)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = function(*args, **kwargs)
    return time.monotonic() - started, result


def test_sign_in_user_changes_and_replays_stay_fast_while_a_slow_service_is_called(
    tenant: Tenant, sandbox: SandboxControl, client_for: Any, calls: list[dict[str, Any]]
) -> None:
    with schema_context(tenant.schema_name):
        owner = User.objects.get(role=Role.OWNER)
        member = user_create(
            email=f"m-{uuid.uuid4().hex[:6]}@example.test", password=PASSWORD, validate=False
        )
        dead = stored_event(
            type_="test.none", status=EventStatus.DEAD, received_at=timezone.now() - timedelta(minutes=1)
        )
    ids = receive(
        tenant, *[event("user.created", ext=f"usr_slow_{n}_{uuid.uuid4().hex[:6]}") for n in range(2)]
    )
    sandbox.fault("user-service", latency_ms=LATENCY_MS, error_rate=0)
    before = sandbox.requests_to("user-service")

    thread, errors = in_thread(tenant, events_process, event_ids=ids)
    # The sandbox has the request: the engine is inside the first slow call (3.5 s) from now on.
    wait_for(lambda: sandbox.requests_to("user-service") > before, what="the slow profile fetch")

    owner_client = client_for(tenant, owner)
    login_time, login = timed(
        client_for(tenant).post, "/api/v1/auth/login", {"email": owner.email, "password": PASSWORD}
    )
    patch_time, patched = timed(owner_client.patch, f"/api/v1/users/{member.pk}", {"first_name": "Quick"})
    replay_time, replayed = timed(owner_client.post, f"/api/v1/webhooks/events/{dead.pk}/replay")
    still_slow = thread.is_alive()
    thread.join(timeout=60)

    assert errors == []
    assert (login.status_code, patched.status_code, replayed.status_code) == (200, 200, 202)
    assert login_time < FAST_ENOUGH, f"sign-in took {login_time:.2f} s"
    assert patch_time < FAST_ENOUGH, f"the user change took {patch_time:.2f} s"
    assert replay_time < FAST_ENOUGH, f"the replay took {replay_time:.2f} s"
    assert still_slow, "the engine must still have been waiting for the slow service"
    with schema_context(tenant.schema_name):
        assert set(WebhookEvent.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"processed"}
        assert Message.objects.filter(kind="welcome").exclude(external_id="").count() == 2
    assert {c["call"].split()[0] for c in calls} == {"GET", "POST"}  # profile fetches and welcomes


def test_the_engine_and_the_sync_hold_no_transaction_during_outgoing_calls(
    tenant: Tenant, sandbox: SandboxControl, calls: list[dict[str, Any]]
) -> None:
    ids = receive(
        tenant, *[event("user.created", ext=f"usr_tx_{n}_{uuid.uuid4().hex[:6]}") for n in range(3)]
    )
    with schema_context(tenant.schema_name):
        events_process(event_ids=ids)
        users_sync(page_size=10)
        assert set(WebhookEvent.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"processed"}
    kinds = {c["call"].split("?")[0] for c in calls}
    assert {"GET /users", "POST /messages"} <= kinds
    assert any(c["call"].startswith("GET /users/usr_tx_") for c in calls)
    held = [c for c in calls if c["in_atomic_block"] or c["transaction"] != pq.TransactionStatus.IDLE]
    assert held == []


def test_no_session_of_the_tenant_is_idle_in_transaction_during_a_slow_call(
    tenant: Tenant, sandbox: SandboxControl
) -> None:
    """Seen from PostgreSQL itself: while the engine waits for the service, no backend of this database
    sits `idle in transaction` (which is what holds row locks, the chain head among them)."""
    ids = receive(tenant, event("user.created", ext=f"usr_pg_{uuid.uuid4().hex[:8]}"))
    sandbox.fault("user-service", latency_ms=LATENCY_MS, error_rate=0)
    before = sandbox.requests_to("user-service")
    thread, errors = in_thread(tenant, events_process, event_ids=ids)
    wait_for(lambda: sandbox.requests_to("user-service") > before, what="the slow profile fetch")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
        )
        (idle_in_transaction,) = cursor.fetchone()
    alive = thread.is_alive()
    thread.join(timeout=60)
    assert errors == []
    assert alive
    assert idle_in_transaction == 0
