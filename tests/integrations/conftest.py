"""Helpers for webhook tests: signed deliveries, event payloads and a configurable real worker."""

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.test import TestCase
from django_tenants.utils import schema_context

from integrations import http
from integrations.models import Service, WebhookEvent
from integrations.sandbox import Sandbox
from integrations.service_names import SERVICES
from integrations.services import (
    events_process,
    integration_settings_ensure,
    integration_settings_update,
    webhook_parse,
    webhook_receive,
)
from integrations.signing import signed_headers
from saas.celery import app
from tests.conftest import start_worker, stop_worker

from .payloads import payload


def event(
    type_: str = "user.updated", *, event_id: str | None = None, occurred_at: str | None = None, **data: Any
) -> dict[str, Any]:
    """An event of `type_` carrying the example `user.updated` data of a user of its own (`ext`, by
    default new, at `<ext>@sync.test`), with `data` fields replaced: for tests of the engine, where
    the user is only what the event is about."""
    ext = data.pop("ext", None) or uuid.uuid4().hex[:12]
    data = {"id": ext, "email": f"{ext}@sync.test", **data}
    document = payload("user.updated", event_id=event_id, occurred_at=occurred_at, **data)
    return {**document, "type": type_}


def as_meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


def secret_for(tenant: Any, service: str = "user-service") -> str:
    with schema_context(tenant.schema_name):
        return integration_settings_ensure(service=service).signing_secret


@pytest.fixture
def deliver(client_for: Any) -> Callable[..., Any]:
    """deliver(tenant, document_or_bytes, secret=None, service=..., via="host", **header overrides)."""

    def send(
        tenant: Any,
        document: Any,
        *,
        secret: str | None = None,
        service: str = "user-service",
        via: str = "host",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        secret = secret or secret_for(tenant, service)
        signed = signed_headers(secret, body)
        signed.update(headers or {})
        client = client_for(tenant, via=via)
        return client.post(f"/api/v1/webhooks/{service}/", body, content_type=content_type, **as_meta(signed))

    return send


@pytest.fixture
def engine_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine runs in the test's process only: no Celery messages, no back-off sleeps."""
    monkeypatch.setattr("integrations.services.events_enqueue", lambda **kw: True)
    monkeypatch.setattr("integrations.services.events_kick", lambda **kw: True)
    monkeypatch.setattr(http, "sleep", lambda _s: None)


def handle(service: str, *docs: dict[str, Any]) -> list[WebhookEvent]:
    """Stores the events and processes them together (one chunk, as a worker would), then runs what
    waits for the commit (the messages' sends), as the worker would after each commit."""
    webhook_receive(service=service, body=webhook_parse(body=json.dumps({"events": list(docs)}).encode()))
    events = [WebhookEvent.objects.get(service=service, event_id=d["id"]) for d in docs]
    with TestCase.captureOnCommitCallbacks(execute=True):
        events_process(event_ids=[e.pk for e in events])
    for e in events:
        e.refresh_from_db()
    return events


def use_sandbox(sandbox: "SandboxControl", *services: str, api_key: str = "key-a") -> None:
    """Points the current tenant's `services` (default: all three) at the sandbox, enabled."""
    for service in services or Service.values:
        integration_settings_update(
            service=service, enabled=True, base_url=sandbox.base_url(service), api_key=api_key
        )


TEST_EVENT_TYPES = "tests.integrations.event_types"  # the `test.*` handlers, for workers only


@pytest.fixture
def engine_worker() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """engine_worker(**settings_env) -> a started worker; every worker is stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def make(**env: str) -> subprocess.Popen[bytes]:
        proc, _ = start_worker(include=TEST_EVENT_TYPES, **env)
        started.append(proc)
        return proc

    app.control.purge()  # messages left by earlier tests (their events are gone) are not ours
    yield make
    for proc in started:
        stop_worker(proc)


# --- the sandbox services ---------------------------------------------------------


class SandboxControl:
    """A test's handle on a running sandbox: its URL plus its control routes."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.url = sandbox.url

    def base_url(self, service: str) -> str:
        return f"{self.url}/{service}"

    def fault(self, service: str, **options: Any) -> None:
        response = requests.post(f"{self.url}/_faults", json={"service": service, **options}, timeout=5)
        response.raise_for_status()

    def clear_faults(self) -> None:
        for service in SERVICES:
            self.fault(service, error_rate=0, latency_ms=0)

    def state(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.url}/_state", timeout=5).json())

    def requests_to(self, service: str) -> int:
        return int(self.state()["requests"][service])

    def reset(self, users: int | None = None) -> None:
        requests.post(f"{self.url}/_reset", json={"users": users}, timeout=5).raise_for_status()

    def set_users(self, users: list[dict[str, Any]], replace: bool = False) -> None:
        requests.post(
            f"{self.url}/_users", json={"users": users, "replace": replace}, timeout=5
        ).raise_for_status()

    def set_subscription(self, subscription: dict[str, Any]) -> None:
        """What `GET /payment-service/subscriptions/{id}` answers from now on."""
        requests.post(f"{self.url}/_subscriptions", json=subscription, timeout=5).raise_for_status()

    def register_account(self, *, api_key: str, webhook_url: str, secret: str) -> None:
        requests.post(
            f"{self.url}/_accounts",
            json={"api_key": api_key, "webhook_url": webhook_url, "secret": secret},
            timeout=5,
        ).raise_for_status()


def _start() -> Sandbox:
    return Sandbox(port=0, seed_users=25, delivery_delay=0.05).start()


@pytest.fixture(scope="session")
def _sandbox_server() -> Iterator[Sandbox]:
    sandbox = _start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(_sandbox_server: Sandbox) -> SandboxControl:
    """The sandbox, reset to its seeded state with no faults, for this test."""
    control = SandboxControl(_sandbox_server)
    control.reset()
    return control


@pytest.fixture
def second_sandbox() -> Iterator[SandboxControl]:
    """Another, independent sandbox (for a second tenant whose services must stay unaffected)."""
    sandbox = _start()
    yield SandboxControl(sandbox)
    sandbox.stop()
