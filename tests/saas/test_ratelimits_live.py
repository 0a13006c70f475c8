"""Rate limits under concurrency, on a real gunicorn server (committed rows, no test transaction)."""

import threading

import requests
from django_tenants.utils import schema_context

from accounts.models import Role, User
from tenants.services import tenant_update
from tests.conftest import access_token


def test_concurrent_requests_at_the_boundary_never_exceed_the_budget(
    live_server_url, fresh_tenant, django_db_blocker
):
    budget = 20
    with django_db_blocker.unblock():
        tenant_update(tenant=fresh_tenant, rate_limit_per_minute=budget)
        with schema_context(fresh_tenant.schema_name):
            owner = User.objects.get(role=Role.OWNER)
        token = access_token(owner, fresh_tenant)
    # A window opens at its key's first request: a fresh tenant's 50 requests all land in the same.
    headers = {"Host": f"{fresh_tenant.slug}.localhost", "Authorization": f"Bearer {token}"}
    barrier = threading.Barrier(50)
    statuses: list[int] = []
    retry_after: list[str | None] = []
    lock = threading.Lock()

    def fire() -> None:
        session = requests.Session()
        barrier.wait()
        response = session.get(f"{live_server_url}/api/v1/users/", headers=headers, timeout=30)
        with lock:
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.append(response.headers.get("Retry-After"))

    threads = [threading.Thread(target=fire) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == 50
    assert statuses.count(200) == budget
    assert statuses.count(429) == 50 - budget
    assert all(value and 1 <= int(value) <= 60 for value in retry_after)
