"""Batch intake: events stored per second with signed 1,000-event batches.

python -m tests.bench webhook_batch [--seconds 10] [--workers 4]
"""

import argparse

from .common import gunicorn, machine
from .webhook_common import bench_env, compact, prepare, user_event, write_request_files, wrk_post

THREADS, CONNECTIONS, BATCH = 2, 4, 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)

    secret = prepare()
    batches_per_thread = 20 * args.seconds + 20

    def batches() -> list[bytes]:
        return [compact({"events": [user_event(n) for n in range(BATCH)]}) for _ in range(batches_per_thread)]

    warm = write_request_files([batches()[:10] for _ in range(THREADS)], secret)
    files = write_request_files([batches() for _ in range(THREADS)], secret)
    with gunicorn(workers=args.workers, env=bench_env()) as url:
        wrk_post(
            url, "/api/v1/webhooks/user-service/", warm, seconds=2, connections=CONNECTIONS, threads=THREADS
        )
        load = wrk_post(
            url,
            "/api/v1/webhooks/user-service/",
            files,
            seconds=args.seconds,
            connections=CONNECTIONS,
            threads=THREADS,
        )

    print(
        f"machine: {machine()}; gunicorn {args.workers} workers;"
        f" wrk {THREADS} threads x {CONNECTIONS} connections"
    )
    print(
        f"  {BATCH}-event batches: {load.rps:.1f} req/s = {load.rps * BATCH:,.0f} events/s (aim >= 20,000)"
        f"  p50 {load.p50_ms:.1f} ms  p99 {load.p99_ms:.1f} ms  errors {load.errors}"
    )


if __name__ == "__main__":
    main()
