"""The load test's workload (run by `python -m tests.load`, which prepares LOAD_FIXTURE).

Each simulated client belongs to one of the tenants, signs in as its admin and mixes API reads and
writes on users, member logins, token refreshes, and signed webhooks: single events and batches,
some of them repeats of ids already sent (duplicates). Any answer other than the expected status
— a 429 included — counts as a failure.
"""

import json
import os
import random
import time
import uuid
from datetime import UTC, datetime

from locust import HttpUser, between, task

from integrations.signing import signed_headers

FIXTURE = json.loads(open(os.environ["LOAD_FIXTURE"]).read())  # noqa: SIM115 (read once at import)
TOKEN_MAX_AGE = 200  # seconds; access tokens live 300


def _event(tenant: dict, event_id: str) -> dict:
    n = random.randrange(200)  # a bounded set of external users: updates hit existing rows too
    return {
        "id": event_id,
        "type": "user.updated",
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": {
            "id": f"ext-{n}",
            "email": f"ext{n}@{tenant['slug']}.example",
            "first_name": f"Ext{n}",
            "last_name": uuid.uuid4().hex[:6],
        },
    }


class TenantClient(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.tenant = random.choice(FIXTURE["tenants"])
        self.headers = {"Host": self.tenant["host"]}
        self.sent: list[str] = []
        self.created: list[int] = []
        self._sign_in()

    def _sign_in(self) -> None:
        body = {"email": self.tenant["admin"], "password": FIXTURE["password"]}
        with self.client.post(
            "/api/v1/auth/login",
            json=body,
            headers=self.headers,
            name="POST /auth/login (admin)",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
                return
            self._take_tokens(r.json())

    def _take_tokens(self, tokens: dict) -> None:
        """Keeps a new token pair from login or refresh."""
        self.refresh = tokens["refresh"]
        self.auth = {**self.headers, "Authorization": f"Bearer {tokens['access']}"}
        self.signed_in_at = time.monotonic()

    def _api(self, method: str, path: str, name: str, expect: int = 200, **kwargs: object) -> dict | None:
        if time.monotonic() - self.signed_in_at > TOKEN_MAX_AGE:
            self._refresh()
        with self.client.request(
            method, path, headers=self.auth, name=name, catch_response=True, **kwargs
        ) as r:
            if r.status_code != expect:
                r.failure(f"{r.status_code} {r.text[:120]}")
                return None
            return r.json() if r.content else {}

    def _refresh(self) -> None:
        with self.client.post(
            "/api/v1/auth/refresh",
            json={"refresh": self.refresh},
            headers=self.headers,
            name="POST /auth/refresh",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
                return
            self._take_tokens(r.json())

    @task(6)
    def list_users(self) -> None:
        self._api("GET", f"/api/v1/users/?page_size=20&page={random.randint(1, 2)}", "GET /users/")

    @task(3)
    def search_users(self) -> None:
        self._api("GET", "/api/v1/users/?search=member&role=member", "GET /users/?search")

    @task(3)
    def get_user(self) -> None:
        self._api("GET", f"/api/v1/users/{random.choice(self.tenant['user_ids'])}", "GET /users/{id}")

    @task(3)
    def me(self) -> None:
        self._api("GET", "/api/v1/auth/me", "GET /auth/me")

    @task(2)
    def create_update_delete_user(self) -> None:
        email = f"load-{uuid.uuid4().hex[:12]}@{self.tenant['slug']}.test"
        body = {
            "email": email,
            "first_name": "Load",
            "last_name": "Test",
            "role": "member",
            "password": "load-pass-123456",
        }
        user = self._api("POST", "/api/v1/users/", "POST /users/", expect=201, json=body)
        if not user:
            return
        self._api("PATCH", f"/api/v1/users/{user['id']}", "PATCH /users/{id}", json={"last_name": "Patched"})
        if random.random() < 0.5:
            self._api("DELETE", f"/api/v1/users/{user['id']}", "DELETE /users/{id}", expect=204)

    @task(1)
    def member_login(self) -> None:
        body = {"email": random.choice(self.tenant["members"]), "password": FIXTURE["password"]}
        with self.client.post(
            "/api/v1/auth/login",
            json=body,
            headers=self.headers,
            name="POST /auth/login (member)",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")

    @task(1)
    def list_events(self) -> None:
        self._api("GET", "/api/v1/webhooks/events?page_size=20", "GET /webhooks/events")

    def _deliver(self, body: dict, name: str) -> None:
        raw = json.dumps(body).encode()
        headers = {
            **self.headers,
            "Content-Type": "application/json",
            **signed_headers(self.tenant["secret"], raw),
        }
        with self.client.post(
            "/api/v1/webhooks/user-service/", data=raw, headers=headers, name=name, catch_response=True
        ) as r:
            if r.status_code != 202:
                r.failure(f"{r.status_code} {r.text[:120]}")

    @task(6)
    def webhook_single(self) -> None:
        if self.sent and random.random() < 0.15:  # a sender retrying: a duplicate
            event_id = random.choice(self.sent)
        else:
            event_id = f"evt_{uuid.uuid4().hex}"
            self.sent.append(event_id)
        self._deliver(_event(self.tenant, event_id), "POST /webhooks/user-service (single)")

    @task(1)
    def webhook_batch(self) -> None:
        fresh = [f"evt_{uuid.uuid4().hex}" for _ in range(random.randint(20, 100))]
        repeats = random.sample(self.sent, min(len(self.sent), 5))
        self.sent.extend(fresh)
        events = [_event(self.tenant, i) for i in fresh + repeats]
        self._deliver({"events": events}, "POST /webhooks/user-service (batch)")
