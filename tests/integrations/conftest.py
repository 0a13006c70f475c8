"""Integration fixtures: the sandbox services as a real HTTP server on 127.0.0.1."""

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from integrations.sandbox import Sandbox


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
        for service in ("user-service", "payment-service", "communication-service"):
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
