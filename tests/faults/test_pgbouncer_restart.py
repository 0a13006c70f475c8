"""PgBouncer (transaction pooling) restarted under load (issue 15): web, worker and beat connect
through it with DATABASE_POOLER=pgbouncer; while it is down intake answers 503 (never 500), senders
that retry see every event applied once, and the same processes recover by themselves."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import wait_for
from tests.pgbouncer import private_pgbouncer

from .conftest import Counter, PrivatePostgres, Sender, Stack, make_event, record, stopping

pytestmark = pytest.mark.faults

BATCHES, BATCH_SIZE = 150, 10  # 1,500 events: half `user.updated`, half `test.count`


def test_pgbouncer_restart_under_load_loses_nothing(stack: Stack, fault_postgres: PrivatePostgres) -> None:
    tenant = stack.provision("bouncer-restart")
    with private_pgbouncer(
        fault_postgres.app_url, users_from=[fault_postgres.app_url, fault_postgres.owner_url], pool_size=4
    ) as bouncer:
        pooled = {"DATABASE_URL": bouncer.url(fault_postgres.app_url), "DATABASE_POOLER": "pgbouncer"}
        url = stack.web(workers=2, **pooled)
        worker = stack.worker(concurrency=2, **pooled)
        beat = stack.beat(**pooled)
        web = stack.web_proc
        counter = Counter(stack.database_url, tenant.schema)  # the observer reads PostgreSQL directly
        sender = Sender(url, tenant)
        batches = [
            [make_event("user.updated") if i % 2 else make_event("test.count") for i in range(BATCH_SIZE)]
            for _ in range(BATCHES)
        ]
        answers: list[int] = []
        final: dict[int, int] = {}
        abort = threading.Event()

        def send(index: int) -> None:
            final[index] = sender.post_until_accepted({"events": batches[index]}, answers, abort=abort)
            time.sleep(0.05)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool, stopping(abort):
            futures = [pool.submit(send, i) for i in range(BATCHES)]
            wait_for(lambda: len(final) >= BATCHES * 0.3, timeout=180, what="first 30% accepted")
            bouncer.stop()  # every client and server connection closed at once
            stopped_at = time.monotonic()
            wait_for(lambda: answers[-5:].count(503) == 5, timeout=60, what="intake answering 503")
            time.sleep(2)
            bouncer.start()  # the same port: the processes reconnect by themselves
            outage = time.monotonic() - stopped_at
            for future in futures:
                future.result(timeout=300)
        sent_in = time.monotonic() - started

        wait_for(
            counter.safe(lambda: counter.statuses() == {"processed": BATCHES * BATCH_SIZE}),
            timeout=240,
            what="every event processed",
        )
        assert set(answers) <= {202, 503}, sorted(set(answers))
        assert 503 in answers
        assert set(final.values()) == {202}
        counter.assert_applied_once(batches, side_effect_rows=BATCHES * BATCH_SIZE // 2)
        assert web.alive()
        assert worker.alive()
        assert beat.alive()
        record(
            "pgbouncer_restart",
            {
                "events": BATCHES * BATCH_SIZE,
                "answers": {str(s): answers.count(s) for s in sorted(set(answers))},
                "pgbouncer_down_seconds": round(outage, 1),
                "send_seconds": round(sent_in, 1),
            },
        )
