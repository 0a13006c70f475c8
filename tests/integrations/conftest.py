"""Helpers for webhook tests: signed deliveries, event payloads and a configurable real worker."""

import json
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django_tenants.utils import schema_context

from integrations.sandbox import Sandbox
from integrations.service_names import SERVICES
from integrations.services import endpoint_ensure
from integrations.signing import signed_headers
from saas.celery import app
from tests.conftest import start_worker


def event(
    type_: str = "user.updated", *, event_id: str | None = None, occurred_at: str | None = None, **data: Any
) -> dict[str, Any]:
    ext = data.pop("ext", None) or uuid.uuid4().hex[:12]
    payload = {"id": ext, "email": f"{ext}@sync.test", "first_name": "Ada", "last_name": "Lovelace", **data}
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "type": type_,
        "occurred_at": occurred_at or "2025-01-01T00:00:00+00:00",
        "data": payload,
    }


def as_meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


def secret_for(tenant: Any, service: str = "user-service") -> str:
    with schema_context(tenant.schema_name):
        return endpoint_ensure(service=service).signing_secret


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


def stop_worker(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    import os

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
def engine_worker() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """engine_worker(**settings_env) -> a started worker; every worker is stopped after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def make(**env: str) -> subprocess.Popen[bytes]:
        proc, _ = start_worker(WEBHOOK_TEST_EVENT_TYPES="1", **env)
        started.append(proc)
        return proc

    app.control.purge()  # messages left by earlier tests (their events are gone) are not ours
    yield make
    for proc in started:
        stop_worker(proc)


# --- the sandbox services (issue 6) ---------------------------------------------------------


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
