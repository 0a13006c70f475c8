"""End to end: `--events` (10,000) `user.updated` events sent in 1,000-event batches, from the first
request to the last event `processed`, by the platform's worker (one worker, prefork concurrency 2),
with the audit trail on — against a bare Celery app (no Django, no tenant awareness, Celery's
defaults, same Redis broker, one worker of concurrency 2) running as many no-op tasks.

    python -m tests.bench webhook_e2e [--events 10000] [--batch 1000] [--rounds 3]

Rounds alternate: the bare worker runs its no-op tasks, then the platform's worker runs as many
no-op tasks sent from the tenant's schema (the tenant-aware worker's own no-op rate; both queued
before their worker starts, timed from its first task to its last), then the events
(fresh users every round, so every round creates and audits the same number of users). Each round
prints its figures, the ratios and the load average; then the medians. The goal: events per second
>= the bare app's no-op tasks per second, p95 lag (received -> processed) under 10 s.

Profile the platform worker while a round runs (not committed output; py-spy is in
requirements-dev.txt):
    .venv/bin/py-spy record -o /tmp/worker.txt -f raw --subprocesses -p $(pgrep -of 'celery -A saas worker')
"""

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import redis
import requests

from .celery_common import BENCH_PORT, celery_worker, exit_on_sigterm, load, wait_for
from .common import gunicorn, machine
from .webhook_common import SLUG, bench_env, compact, prepare, signed_line, user_event


@dataclass
class Round:
    bare_rate: float
    noop_rate: float
    events_rate: float
    p50: float
    p95: float
    load: str


def _queued_rate(count: int, counter: str, r: redis.Redis, worker: Any) -> float:
    """Tasks per second of a worker started on `count` queued tasks, from its first to its last one
    (so neither the publishing nor the worker's start-up is counted)."""
    with worker:
        wait_for(lambda: int(r.get(counter) or 0) >= 1, "the first task")
        started, first = time.perf_counter(), int(r.get(counter) or 0)
        wait_for(lambda: int(r.get(counter) or 0) >= count, "the tasks")
        return (count - first) / (time.perf_counter() - started)


def _bare_noop_rate(count: int, env: dict[str, str], r: redis.Redis) -> float:
    from tests.bench.bare import celery_app as bare

    bare.app.control.purge()
    r.delete(bare.COUNTER)
    for _ in range(count):
        bare.noop.delay()
    # No DJANGO_SETTINGS_MODULE: Celery's Django fix-up would set Django (and the platform's hooks) up.
    bare_env = {name: value for name, value in env.items() if name != "DJANGO_SETTINGS_MODULE"}
    worker = celery_worker(bare.app, "tests.bench.bare.celery_app", name="bare", env=bare_env)
    return _queued_rate(count, bare.COUNTER, r, worker)


def _send(url: str, signed: list[list[str]], batch: int) -> float:
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
            timeout=120,
        )
        assert response.status_code == 202, response.text
        assert json.loads(response.content)["accepted"] == batch
    return first


def _platform_round(
    number: int, args: argparse.Namespace, secret: str, url: str, env: dict[str, str], r: redis.Redis
) -> tuple[float, float, list[float]]:
    from django.db.models import Max
    from django_tenants.utils import schema_context

    from integrations.models import WebhookEvent
    from saas.celery import app
    from tests.bench.webhook_tasks import bench_noop

    schema = f"t_{SLUG}"
    offset = number * args.events
    bodies = [
        compact({"events": [user_event(offset + n) for n in range(start, start + args.batch)]})
        for start in range(0, args.events, args.batch)
    ]
    signed = [signed_line(secret, body).split("\t") for body in bodies]
    app.control.purge()
    r.delete("bench:noop")
    with schema_context(schema):  # as the platform's own tasks are sent: in the tenant's schema
        for _ in range(args.events):
            bench_noop.delay()
    worker_args = ("-I", "tests.bench.webhook_tasks")
    noop_rate = _queued_rate(
        args.events, "bench:noop", r, celery_worker(app, "saas", name="bench", env=env, args=worker_args)
    )
    with celery_worker(app, "saas", name="bench", env=env, args=worker_args), schema_context(schema):
        already = WebhookEvent.objects.filter(status="processed").count()
        first = _send(url, signed, args.batch)
        wait_for(
            lambda: WebhookEvent.objects.filter(status="processed").count() >= already + args.events,
            "events processed",
        )
        ours = WebhookEvent.objects.filter(received_at__gte=_from_unix(first - 1))
        last = ours.aggregate(last=Max("processed_at"))["last"]
        lags = sorted(
            (processed - received).total_seconds()
            for received, processed in ours.values_list("received_at", "processed_at")
        )
    return noop_rate, args.events / (last.timestamp() - first), lags


def _from_unix(seconds: float):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    exit_on_sigterm()

    secret = prepare()
    from django.conf import settings

    env = bench_env()
    r = redis.Redis.from_url(settings.REDIS_URL)
    print(f"machine: {machine()}; one worker each, prefork concurrency 2; batches of {args.batch}")
    rounds: list[Round] = []
    with gunicorn(port=BENCH_PORT, workers=4, env=env) as url:
        for number in range(1, args.rounds + 1):
            bare_rate = _bare_noop_rate(args.events, env, r)
            noop_rate, events_rate, lags = _platform_round(number, args, secret, url, env, r)
            p95 = lags[int(len(lags) * 0.95) - 1]
            done = Round(bare_rate, noop_rate, events_rate, statistics.median(lags), p95, load())
            rounds.append(done)
            print(
                f"  round {number}: bare no-op {bare_rate:6.0f} tasks/s | platform no-op {noop_rate:6.0f}"
                f" tasks/s ({noop_rate / bare_rate:.2f}) | user.updated {events_rate:6.0f} events/s"
                f" ({events_rate / bare_rate:.2f}), lag p50 {done.p50:.2f} s p95 {p95:.2f} s | {done.load}",
                flush=True,
            )

    def median(values: list[float]) -> float:
        return statistics.median(values)

    print(f"{args.events} events or tasks per phase, {len(rounds)} rounds; medians:")
    print(f"  bare Celery no-op:        {median([x.bare_rate for x in rounds]):7.0f} tasks/s")
    print(
        f"  platform worker no-op:    {median([x.noop_rate for x in rounds]):7.0f} tasks/s"
        f"  ratio per round {', '.join(f'{x.noop_rate / x.bare_rate:.2f}' for x in rounds)};"
        f" median {median([x.noop_rate / x.bare_rate for x in rounds]):.2f}"
    )
    print(
        f"  user.updated end to end:  {median([x.events_rate for x in rounds]):7.0f} events/s"
        f"  ratio per round {', '.join(f'{x.events_rate / x.bare_rate:.2f}' for x in rounds)};"
        f" median {median([x.events_rate / x.bare_rate for x in rounds]):.2f} (aim >= 1.0)"
    )
    print(
        f"  lag received -> processed: p50 {median([x.p50 for x in rounds]):.2f} s"
        f"  p95 {median([x.p95 for x in rounds]):.2f} s (aim < 10 s)  {load()}"
    )


if __name__ == "__main__":
    main()
