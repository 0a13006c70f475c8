"""In-memory state of the sandbox services: users, subscriptions, messages, faults, accounts."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.service_names import SERVICES

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus"]
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson"]


def now_iso() -> str:
    return datetime.now(tz=UTC).isoformat()


def fake_user(n: int) -> dict[str, Any]:
    """The n-th seeded user: stable ids and names, so runs are repeatable."""
    first, last = _FIRST[n % len(_FIRST)], _LAST[(n // len(_FIRST)) % len(_LAST)]
    return {
        "id": f"usr_{n:04d}",
        "email": f"{first}.{last}{n}@example.test".lower(),
        "first_name": first,
        "last_name": last,
        "role": "member",
        "title": "Engineer",
        "locale": "en",
        "updated_at": now_iso(),
    }


def fake_subscription(sub_id: str, *, plan: str = "pro", status: str = "active") -> dict[str, Any]:
    return {
        "id": sub_id,
        "customer_id": f"cus_{sub_id.removeprefix('sub_')}",
        "plan": plan,
        "status": status,
        "current_period_end": (datetime.now(tz=UTC) + timedelta(days=30)).isoformat(),
    }


@dataclass
class Fault:
    """Errors and latency switched on for one service (`POST /_faults`)."""

    error_rate: float = 0.0
    latency_ms: int = 0
    status: int = 503
    retry_after: str | None = None
    count: int | None = None  # only the next `count` matching requests, then off
    match: str | None = None  # only requests whose path and query contain this

    def applies(self, target: str) -> bool:
        return self.match is None or self.match in target

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Account:
    """Where the communication service sends its `message.*` webhooks for one API key."""

    webhook_url: str
    secret: str
    headers: dict[str, str] = field(default_factory=dict)


class SandboxState:
    def __init__(self, *, seed_users: int = 25) -> None:
        self.lock = threading.RLock()
        self.seed_users = seed_users
        self.accounts: dict[str, Account] = {}
        self.reset(users=seed_users)

    def reset(self, *, users: int | None = None) -> None:
        with self.lock:
            count = self.seed_users if users is None else users
            self.users: dict[str, dict[str, Any]] = {
                u["id"]: u for u in (fake_user(n) for n in range(1, count + 1))
            }
            self.subscriptions: dict[str, dict[str, Any]] = {"sub_demo": fake_subscription("sub_demo")}
            self.messages: dict[str, dict[str, Any]] = {}
            self.idempotency: dict[tuple[str, str], str] = {}
            self.faults: dict[str, Fault] = {}
            self.requests: dict[str, int] = dict.fromkeys(SERVICES, 0)
            self.log: list[dict[str, Any]] = []
            self.deliveries: list[dict[str, Any]] = []

    # -- faults -------------------------------------------------------------------------------

    def set_fault(self, service: str, **options: Any) -> Fault:
        with self.lock:
            fault = Fault(**options)
            if fault.error_rate <= 0 and fault.latency_ms <= 0:
                self.faults.pop(service, None)
            else:
                self.faults[service] = fault
            return fault

    def fault_decision(self, service: str, target: str) -> tuple[int, Fault | None]:
        """(latency ms, the fault when this request must fail)."""
        with self.lock:
            fault = self.faults.get(service)
            if fault is None or not fault.applies(target):
                return 0, None
            fails = random.random() < fault.error_rate  # noqa: S311 - simulation
            if fails and fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.pop(service, None)
            return fault.latency_ms, fault if fails else None

    # -- users and subscriptions ------------------------------------------------------------

    def users_page(self, page: int, page_size: int) -> tuple[int, list[dict[str, Any]]]:
        with self.lock:
            users = list(self.users.values())
        start = (page - 1) * page_size
        return len(users), users[start : start + page_size]

    def upsert_user(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            user = self.users.get(data["id"], {})
            user = {**user, **data, "updated_at": now_iso()}
            self.users[user["id"]] = user
            return user

    def upsert_subscription(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            sub = {**fake_subscription(data["id"]), **self.subscriptions.get(data["id"], {}), **data}
            self.subscriptions[sub["id"]] = sub
            return sub

    # -- messages -----------------------------------------------------------------------------

    def create_message(
        self, *, api_key: str, idempotency_key: str | None, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """(message, created): a repeated Idempotency-Key returns the first message."""
        with self.lock:
            if idempotency_key and (api_key, idempotency_key) in self.idempotency:
                return self.messages[self.idempotency[(api_key, idempotency_key)]], False
            message = {
                "id": f"msg_{uuid.uuid4().hex[:16]}",
                "message_id": body.get("message_id"),
                "to": body["to"],
                "subject": body.get("subject", ""),
                "body": body.get("body", ""),
                "status": "queued",
                "created_at": now_iso(),
                "api_key": api_key,
            }
            self.messages[message["id"]] = message
            if idempotency_key:
                self.idempotency[(api_key, idempotency_key)] = message["id"]
            return message, True

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "faults": {name: fault.as_dict() for name, fault in self.faults.items()},
                "users": len(self.users),
                "messages": [{k: v for k, v in m.items() if k != "api_key"} for m in self.messages.values()],
                "deliveries": list(self.deliveries),
                "log": self.log[-200:],
            }
