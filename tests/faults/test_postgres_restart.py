"""PostgreSQL restarted under load: intake answers 503 (never 500) while it is down, senders that
retry (as `send_webhook` does) see every event applied once, and the web and worker processes
recover by themselves (the same processes, no restart)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import wait_for

from .conftest import Counter, PrivatePostgres, Sender, Stack, make_event, record, stopping

pytestmark = pytest.mark.faults

BATCHES, BATCH_SIZE = 300, 10  # 3,000 events: half `user.updated`, half `test.count`


def test_postgres_restart_under_load_answers_503_and_every_event_is_applied_once(
    stack: Stack, fault_postgres: PrivatePostgres
) -> None:
    tenant = stack.provision("pg-restart")
    url = stack.web(workers=2)
    worker = stack.worker(concurrency=2)
    beat = stack.beat()
    counter = Counter(stack.database_url, tenant.schema)
    sender = Sender(url, tenant)
    web = stack.web_proc
    web_pool, worker_pool = web.children(), worker.children()
    assert len(web_pool) == 2
    assert len(worker_pool) == 2

    batches = [
        [make_event("user.updated") if i % 2 else make_event("test.count") for i in range(BATCH_SIZE)]
        for _ in range(BATCHES)
    ]
    answers: list[int] = []  # every answer of every attempt, as it comes
    final: dict[int, int] = {}
    pg_down = threading.Event()

    class Recorder(list[int]):
        def append(self, status: int) -> None:
            answers.append(status)
            if pg_down.is_set():
                answers_while_down.append(status)

    answers_while_down: list[int] = []

    def send(index: int) -> None:
        final[index] = sender.post_until_accepted({"events": batches[index]}, Recorder(), abort=abort)
        time.sleep(0.05)  # pacing, so the restart falls in the middle of the load

    abort = threading.Event()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool, stopping(abort):
        futures = [pool.submit(send, i) for i in range(BATCHES)]
        wait_for(lambda: len(final) >= BATCHES * 0.3, timeout=180, what="first 30% accepted")
        fault_postgres.stop("fast")  # terminates every backend: in-flight statements fail too
        pg_down.set()
        stopped_at = time.monotonic()
        wait_for(
            lambda: answers_while_down.count(503) >= 10,
            timeout=120,
            what="intake answering 503",
        )
        wait_for(lambda: time.monotonic() - stopped_at > 5, timeout=10, what="5 s of outage")
        fault_postgres.start()
        pg_down.clear()
        outage = time.monotonic() - stopped_at
        for future in futures:
            future.result(timeout=300)
    sent_in = time.monotonic() - started

    wait_for(
        counter.safe(lambda: counter.statuses() == {"processed": BATCHES * BATCH_SIZE}),
        timeout=240,
        what="every event processed",
    )
    drained_in = time.monotonic() - started - sent_in

    attempts = [r[0] for r in counter.rows("SELECT attempts FROM integrations_webhookevent")]

    # While it was down: 503, never 500; nothing failed to answer at all.
    assert set(answers) <= {202, 503}, sorted(set(answers))
    assert 503 in answers
    assert set(final.values()) == {202}
    # Every event applied once.
    effects, users = counter.assert_applied_once(batches, side_effect_rows=BATCHES * BATCH_SIZE // 2)
    assert max(attempts) < 8
    # The same processes recovered by themselves.
    assert web.alive()
    assert worker.alive()
    assert beat.alive()
    assert web.children() == web_pool
    assert worker.children() == worker_pool

    record(
        "postgres_restart",
        {
            "events": BATCHES * BATCH_SIZE,
            "requests_total": len(answers),
            "answers": {str(s): answers.count(s) for s in sorted(set(answers))},
            "postgres_down_seconds": round(outage, 1),
            "side_effect_rows": sum(effects.values()),
            "users_upserted": len(users),
            "events_retried_by_the_engine": sum(1 for n in attempts if n > 1),
            "max_attempts": max(attempts),
            "send_seconds": round(sent_in, 1),
            "drain_after_send_seconds": round(drained_in, 1),
        },
    )
