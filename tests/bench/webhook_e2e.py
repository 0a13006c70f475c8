"""End to end: 10,000 `user.updated` events sent in 1,000-event batches, from the first request to the
last event `processed`, with one worker of concurrency 2 — against the rate at which the same worker
runs 10,000 no-op tasks in the same run. Also the p95 lag (received -> processed).

    python -m tests.bench webhook_e2e [--events 10000] [--batch 1000]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import redis
import requests

from .common import ROOT, gunicorn, machine
from .webhook_common import SLUG, bench_env, compact, prepare, signed_line, user_event


def _start_worker() -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saas",
            "worker",
            "-c",
            "2",
            "-n",
            "bench@%h",
            "-I",
            "tests.bench.webhook_tasks",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=bench_env(),
    )
    from saas.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the Celery worker did not start")
    return proc


def _wait(check, what: str, timeout: float = 600) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args(argv)

    secret = prepare()
    from django.conf import settings
    from django.db.models import Max, Min
    from django_tenants.utils import schema_context

    from integrations.models import WebhookEvent
    from saas.celery import app
    from tests.bench.webhook_tasks import bench_noop

    r = redis.Redis.from_url(settings.REDIS_URL)
    app.control.purge()
    r.delete("bench:noop")
    worker = _start_worker()
    try:
        # Baseline: the same worker running no-op tasks.
        started = time.perf_counter()
        for _ in range(args.events):
            bench_noop.delay()
        _wait(lambda: int(r.get("bench:noop") or 0) >= args.events, "no-op tasks")
        noop_seconds = time.perf_counter() - started
        noop_rate = args.events / noop_seconds

        bodies = []
        for start in range(0, args.events, args.batch):
            bodies.append(compact({"events": [user_event(n) for n in range(start, start + args.batch)]}))
        signed = [signed_line(secret, body).split("\t") for body in bodies]
        with gunicorn(workers=4, env=bench_env()) as url:
            session = requests.Session()
            first = time.time()
            for msg_id, ts, sig, host, body in signed:
                response = session.post(
                    f"{url}/api/v1/webhooks/user-service/",
                    data=body.encode(),
                    headers={
                        "Host": host,
                        "Content-Type": "application/json",
                        "webhook-id": msg_id,
                        "webhook-timestamp": ts,
                        "webhook-signature": sig,
                    },
                    timeout=60,
                )
                assert response.status_code == 202, response.text
                assert json.loads(response.content)["accepted"] == args.batch

            with schema_context(f"t_{SLUG}"):
                _wait(
                    lambda: WebhookEvent.objects.filter(status="processed").count() >= args.events,
                    "events processed",
                )
                bounds = WebhookEvent.objects.aggregate(first=Min("received_at"), last=Max("processed_at"))
                lags = sorted(
                    (processed - received).total_seconds()
                    for received, processed in WebhookEvent.objects.values_list("received_at", "processed_at")
                )
                not_processed = WebhookEvent.objects.exclude(status="processed").count()
        e2e_seconds = bounds["last"].timestamp() - first
        e2e_rate = args.events / e2e_seconds
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    p95 = lags[int(len(lags) * 0.95) - 1]
    print(f"machine: {machine()}; one worker, prefork concurrency 2; batches of {args.batch}")
    print(f"  no-op tasks:            {args.events} in {noop_seconds:6.2f} s = {noop_rate:7.0f} tasks/s")
    print(
        f"  user.updated end to end: {args.events} in {e2e_seconds:6.2f} s = {e2e_rate:7.0f} events/s"
        f"  (first request -> last processed; {not_processed} not processed)"
    )
    print(f"  ratio end-to-end / no-op: {e2e_rate / noop_rate:.2f} (aim >= 1.0)")
    print(
        f"  lag received -> processed: p50 {statistics.median(lags):.2f} s  p95 {p95:.2f} s"
        f"  max {lags[-1]:.2f} s  (first received {bounds['first'].isoformat()})"
    )


if __name__ == "__main__":
    main()
