"""Batch intake: events stored per second with signed 1,000-event batches, against raw PostgreSQL doing
the same insert.

    python -m tests.bench webhook_batch [--seconds 10] [--workers 4] [--rounds 3]

Rounds alternate, each `--seconds` long:
  raw PostgreSQL  4 client connections (psycopg, one thread each) run the intake's own INSERT
                  (`integrations.services._INSERT_SQL`: jsonb_array_elements of the body, ON CONFLICT
                  DO NOTHING, RETURNING id) with 1,000-event bodies into the bench tenant's table
  platform        gunicorn (`--workers`) + wrk 2 threads x 4 connections posting the same bodies, signed,
                  to `POST /api/v1/webhooks/user-service/` (signature, JSON checks, insert, kick)
Each round prints both rates, their ratio and the load average; then the medians. Aim: >= 40,000
events/s for the platform.

Profile the web workers while a round runs (not committed output; py-spy is in requirements-dev.txt):
    .venv/bin/py-spy record -o /tmp/intake.txt -f raw -d 10 -p <a gunicorn worker pid>
"""

import argparse
import statistics
import threading
import time
from datetime import timedelta

from .celery_common import BENCH_PORT, exit_on_sigterm, load
from .common import bench_database_url, gunicorn, machine
from .webhook_common import SLUG, bench_env, compact, prepare, user_event, write_request_files, wrk_post

THREADS, CONNECTIONS, BATCH = 2, 4, 1000


def _bodies(count: int) -> list[bytes]:
    return [compact({"events": [user_event(n) for n in range(BATCH)]}) for _ in range(count)]


def _raw_rate(bodies_per_connection: list[list[bytes]], seconds: float) -> float:
    """Events per second stored by raw PostgreSQL clients running the intake's INSERT."""
    import psycopg
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from integrations.services import _INSERT_SQL
    from tenants.due import due_mark_sql

    with schema_context(f"t_{SLUG}"):  # the same statement, the tenant's due-marker included
        mark, mark_params = due_mark_sql(at=timezone.now(), when="EXISTS (SELECT 1 FROM stored)")
    sql = _INSERT_SQL.format(
        table=f"t_{SLUG}.integrations_webhookevent", source="(%s::jsonb)->'events'", mark=mark
    )
    stored = [0] * len(bodies_per_connection)
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        with psycopg.connect(bench_database_url(), autocommit=True) as conn:
            for body in bodies_per_connection[n]:
                if time.monotonic() >= deadline:
                    return
                now = timezone.now()
                rows = conn.execute(
                    sql, ["user-service", now + timedelta(seconds=30), now, body.decode(), *mark_params]
                )
                stored[n] += len(rows.fetchall())

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(bodies_per_connection))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(stored) / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    exit_on_sigterm()

    secret = prepare()
    per_round = 15 * args.seconds + 10  # more than either side gets through in a round
    print(
        f"machine: {machine()}; gunicorn {args.workers} workers; wrk {THREADS} threads x {CONNECTIONS}"
        f" connections; raw PostgreSQL {CONNECTIONS} connections; {BATCH}-event batches"
    )
    warm = write_request_files([_bodies(5) for _ in range(THREADS)], secret)
    raw_rates, platform_rates = [], []
    with gunicorn(port=BENCH_PORT, workers=args.workers, env=bench_env()) as url:
        path = "/api/v1/webhooks/user-service/"
        wrk_post(url, path, warm, seconds=2, connections=CONNECTIONS, threads=THREADS)
        for number in range(1, args.rounds + 1):
            raw = _raw_rate([_bodies(per_round // CONNECTIONS) for _ in range(CONNECTIONS)], args.seconds)
            files = write_request_files([_bodies(per_round // THREADS) for _ in range(THREADS)], secret)
            platform = wrk_post(
                url, path, files, seconds=args.seconds, connections=CONNECTIONS, threads=THREADS
            )
            raw_rates.append(raw)
            platform_rates.append(platform.rps * BATCH)
            events = platform.rps * BATCH
            print(
                f"  round {number}: raw PostgreSQL {raw:8,.0f} events/s | platform {events:8,.0f}"
                f" events/s ({platform.rps:.1f} req/s, p50 {platform.p50_ms:.0f} ms, p99"
                f" {platform.p99_ms:.0f} ms, errors {platform.errors}) | ratio"
                f" {platform.rps * BATCH / raw:.2f} | {load()}",
                flush=True,
            )
    ratios = [p / r for p, r in zip(platform_rates, raw_rates, strict=True)]
    print(f"medians over {args.rounds} rounds of {args.seconds} s:")
    print(f"  raw PostgreSQL, the same INSERT: {statistics.median(raw_rates):8,.0f} events/s")
    print(
        f"  platform intake:                 {statistics.median(platform_rates):8,.0f} events/s"
        f" (aim >= 40,000)  ratio {statistics.median(ratios):.2f}  {load()}"
    )


if __name__ == "__main__":
    main()
