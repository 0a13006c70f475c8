"""Two web hosts and two worker hosts (each a worker and a beat) on one PostgreSQL and Redis (issue 15).

Each "host" is a process group of its own: gunicorn with two workers, or a Celery worker with two
processes plus a beat. A tenant suspended, or a domain added, through web host 1 is honoured by web
host 2 (the routing cache's pub/sub drops host 2's copies); the circuit breaker that worker processes
open is the one web host 2 reports; two beats run each periodic dispatch once per interval (the
users-sync every 2 s here: one reconciliation per interval, not two); 5,000 events sent through
both web hosts are processed by both worker hosts, each exactly once."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from celery import Celery

from tests.conftest import wait_for

from .conftest import Counter, Sender, Stack, make_event, record, stopping

pytestmark = pytest.mark.faults

BATCHES, BATCH_SIZE = 500, 10  # 5,000 `test.count` events
SYNC_INTERVAL = 2.0

_ADMIN = """
from accounts.models import Role
from accounts.services import user_create
from accounts.tokens import token_pair
user = user_create(email="staff@hosts.test", password="p" * 20, role=Role.PLATFORM_ADMIN, validate=False)
print("TOKEN", token_pair(user=user, tenant=None)["access"])
"""


def test_two_web_and_two_worker_hosts_share_routing_breaker_beat_and_work(stack: Stack) -> None:
    _, sandbox_url = stack.sandbox()
    tenant = stack.provision("hosts", base_url=sandbox_url)
    token = next(
        line.split()[1]
        for line in stack.manage("shell", "-c", _ADMIN).splitlines()
        if line.startswith("TOKEN")
    )
    staff = {"Authorization": f"Bearer {token}", "Host": "localhost"}
    every = {"INTEGRATIONS_SYNC_INTERVAL_SECONDS": str(SYNC_INTERVAL)}
    web1, web2 = stack.web(workers=2), stack.web(workers=2)
    workers = [stack.worker(concurrency=2, **every), stack.worker(concurrency=2, **every)]
    beats = [stack.beat(**every), stack.beat(**every)]
    counter = Counter(stack.database_url, tenant.schema)

    def on(url: str, host: str, path: str = "/api/v1/auth/me") -> int:
        return requests.get(url + path, headers={"Host": host}, timeout=10).status_code

    # --- routing: host 1 changes, host 2 honours it ------------------------------------------
    home = f"{tenant.slug}.localhost"
    assert {on(web2, home) for _ in range(20)} == {401}  # both of host 2's processes cache it
    answer = requests.post(f"{web1}/api/v1/tenants/{tenant.slug}/suspend/", headers=staff, timeout=10)
    assert answer.status_code == 200, answer.text
    stale: list[int] = []
    wait_for(lambda: stale.append(on(web2, home)) or stale[-1] == 403, timeout=10, what="host 2 refusing")
    assert {on(web2, home) for _ in range(20)} == {403}
    assert requests.post(f"{web1}/api/v1/tenants/{tenant.slug}/activate/", headers=staff, timeout=10).ok
    wait_for(lambda: on(web2, home) == 401, timeout=10, what="host 2 serving again")

    custom = "portal.hosts-co.test"
    assert {on(web2, custom) for _ in range(20)} == {400}  # unknown host, cached as such
    answer = requests.patch(
        f"{web1}/api/v1/tenants/{tenant.slug}/", json={"domains": [custom]}, headers=staff, timeout=10
    )
    assert answer.status_code == 200, answer.text
    wait_for(lambda: on(web2, custom) == 401, timeout=10, what="host 2 routing the new domain")
    assert {on(web2, custom) for _ in range(20)} == {401}

    # --- 5,000 events through both web hosts, processed by both worker hosts -------------------
    sync_from = time.time()
    senders = [Sender(web1, tenant), Sender(web2, tenant)]
    batches = [[make_event("test.count") for _ in range(BATCH_SIZE)] for _ in range(BATCHES)]
    answers: list[int] = []
    final: dict[int, int] = {}
    abort = threading.Event()

    def send(index: int) -> None:
        final[index] = senders[index % 2].post_until_accepted(
            {"events": batches[index]}, answers, abort=abort
        )

    with ThreadPoolExecutor(max_workers=4) as pool, stopping(abort):
        for future in [pool.submit(send, i) for i in range(BATCHES)]:
            future.result(timeout=300)
    assert set(final.values()) == {202}
    wait_for(
        counter.safe(lambda: counter.statuses() == {"processed": BATCHES * BATCH_SIZE}),
        timeout=240,
        what="every event processed",
    )
    effects = counter.side_effects()
    assert len(effects) == BATCHES * BATCH_SIZE
    assert set(effects.values()) == {1}  # each applied exactly once
    control = Celery(broker=stack.redis.url, set_as_current=False)
    try:
        stats = control.control.inspect(timeout=2).stats() or {}
    finally:
        control.close()
    done = {
        name: sum(n for task, n in s.get("total", {}).items() if "process_" in task)
        for name, s in stats.items()
    }
    assert len(done) == 2
    assert all(n > 0 for n in done.values()), done  # both worker hosts took their share

    # --- two beats: one reconciliation per interval, not two ------------------------------------
    def runs_between(start: float, end: float) -> int:
        (count,) = counter.rows(
            "SELECT count(*) FROM integrations_syncrun WHERE started_at >= to_timestamp(%s) "
            "AND started_at <= to_timestamp(%s)",
            (start, end),
        )[0]
        return int(count)

    # The tenant is synced once it is active (its first events); the sync tasks queue behind the
    # events' own, so on a fast machine the first one starts after the events are done: wait for it.
    wait_for(
        counter.safe(lambda: runs_between(sync_from, time.time()) >= 1),
        timeout=10 * SYNC_INTERVAL,
        what="a reconciliation since the events began",
    )
    sync_to = time.time()
    runs = runs_between(sync_from, sync_to)
    slots = int((sync_to - sync_from) // SYNC_INTERVAL) + 2
    assert 1 <= runs <= slots, (runs, slots)

    # --- the breaker worker processes open is the one web host 2 reports ------------------------
    requests.post(f"{sandbox_url}/_faults", json={"service": "user-service", "error_rate": 1}, timeout=5)
    failing = [make_event("user.created") for _ in range(20)]
    assert senders[0].post_until_accepted({"events": failing}, answers) == 202

    def circuit_on_host_2() -> str:
        health = requests.get(f"{web2}/api/v1/integrations/health", headers=staff, timeout=10).json()
        mine = next(t for t in health["tenants"] if t["slug"] == tenant.slug)
        return next(s["circuit"]["state"] for s in mine["services"] if s["service"] == "user-service")

    wait_for(lambda: circuit_on_host_2() == "open", timeout=60, what="breaker open, seen by host 2")

    for proc in [*workers, *beats, stack.web_proc]:
        assert proc.alive()
    record(
        "two_hosts",
        {
            "events": BATCHES * BATCH_SIZE,
            "processed_per_worker_host": sorted(done.values()),
            "stale_answers_after_suspend": len(stale) - 1,
            "sync_runs": runs,
            "sync_slots": slots,
        },
    )
