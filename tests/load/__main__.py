"""`python -m tests.load [--duration 180] [--users 40] [--tenants 20]`: the load test, one command.

1. Recreates its own database (`LOAD_DB`, default `saas_load`, next to DATABASE_URL's) and migrates
   it as the owner role (MIGRATION_DATABASE_URL; the processes under load use the app role);
   flushes its own Redis database (`LOAD_REDIS_URL`, default TEST_REDIS_URL, else REDIS_URL's
   server with database 15).
2. Makes the tenants (template copy), each with an owner, an admin, 20 members and a user-service
   signing secret; tenant budgets are raised (`rate_limit_per_minute`) and the per-IP login limit
   too (every simulated client comes from 127.0.0.1), so no answer is a 429.
3. Starts gunicorn (gunicorn.conf.py, 4 workers), a Celery worker (concurrency 2) and beat, as
   `make run` does, then locust headless for `--duration` seconds.
4. Waits for the webhook backlog to drain, then reports per route (requests, failures, p50/p95/p99),
   throughput, error rate, event lag (received -> processed) and the RSS of web and worker at
   start and end. The report goes to stdout and `.run/load/report.md`.
"""

import argparse
import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".run" / "load"
PASSWORD = "load-test-pass-1"
# RSS after the drain may exceed the floor of the run's first half (from 30 s, when every code path
# has been imported) by at most 25 % or 40 MiB, whichever is larger.
MEMORY_BOUND = 0.25


def _env(**extra: str) -> dict[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saas")
    owner = os.environ.get("MIGRATION_DATABASE_URL") or base  # makes and migrates the database
    db = os.environ.get("LOAD_DB", "saas_load")
    redis_url = os.environ.get("LOAD_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        redis_url = urlunparse(
            urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))._replace(path="/15")
        )
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "PROMETHEUS_MULTIPROC_DIR"}}
    return {
        **env,
        "DATABASE_URL": urlunparse(urlparse(base)._replace(path=f"/{db}")),
        "MIGRATION_DATABASE_URL": urlunparse(urlparse(owner)._replace(path=f"/{db}")),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "saas.settings.base",
        "DJANGO_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "LOGIN_RATE_PER_IP": "100000/m",  # one client IP for every simulated user
        "RATE_LIMIT_ANONYMOUS_PER_IP": "100000000/m",
        "RATE_LIMIT_WEBHOOKS_PER_SERVICE": "100000000/m",
        "AUDIT_LOG_LINES": "false",  # as before under LOG_LEVEL=WARNING
        **extra,
    }


def _recreate_database(env: dict[str, str]) -> None:
    import psycopg
    import redis

    parsed = urlparse(env["MIGRATION_DATABASE_URL"])
    name = parsed.path.lstrip("/")
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def _make_tenants(count: int) -> dict:
    import django

    django.setup()
    from django_tenants.utils import schema_context

    from accounts.models import Role
    from accounts.services import user_create
    from integrations.services import secret_rotate
    from tenants.services import tenant_create

    tenants = []
    for i in range(1, count + 1):
        slug = f"load-{i:02d}"
        tenant = tenant_create(
            slug=slug,
            name=f"Load {i}",
            plan="pro",
            owner_email=f"owner@{slug}.test",
            owner_password=PASSWORD,
            rate_limit_per_minute=1_000_000,
        )
        with schema_context(tenant.schema_name):
            user_create(email=f"admin@{slug}.test", password=PASSWORD, role=Role.ADMIN)
            members = [f"member{j}@{slug}.test" for j in range(20)]
            ids = [user_create(email=m, password=PASSWORD, role=Role.MEMBER).pk for m in members]
            secret = secret_rotate(service="user-service")
        tenants.append(
            {
                "slug": slug,
                "host": f"{slug}.localhost",
                "admin": f"admin@{slug}.test",
                "members": members,
                "user_ids": ids,
                "secret": secret,
                "schema": tenant.schema_name,
            }
        )
    return {"password": PASSWORD, "tenants": tenants}


def _rss(pid: int) -> tuple[float, float, int]:
    """(total MiB of the process tree, largest single process MiB, process count)."""
    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]
    sizes = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            sizes.append(p.memory_info().rss / 2**20)
    return sum(sizes), max(sizes), len(sizes)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _event_stats(fixture: dict) -> dict:
    from django.db import connection

    statuses: dict[str, int] = {}
    lags: list[float] = []
    with connection.cursor() as cursor:
        for t in fixture["tenants"]:
            cursor.execute(
                f'SELECT status, count(*) FROM "{t["schema"]}".integrations_webhookevent GROUP BY status'  # noqa: S608 (our own schema names)
            )
            for status, n in cursor.fetchall():
                statuses[status] = statuses.get(status, 0) + n
            cursor.execute(
                f"SELECT EXTRACT(EPOCH FROM processed_at - received_at) FROM "  # noqa: S608
                f'"{t["schema"]}".integrations_webhookevent WHERE processed_at IS NOT NULL'
            )
            lags.extend(float(row[0]) for row in cursor.fetchall())
    lags.sort()

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(p * len(lags)))] if lags else 0.0

    return {
        "statuses": statuses,
        "lag": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": lags[-1] if lags else 0.0},
    }


def _backlog(fixture: dict) -> int:
    from django.db import connection

    total = 0
    with connection.cursor() as cursor:
        for t in fixture["tenants"]:
            cursor.execute(
                f'SELECT count(*) FROM "{t["schema"]}".integrations_webhookevent '  # noqa: S608
                "WHERE status IN ('received', 'processing', 'retrying')"
            )
            total += cursor.fetchone()[0]
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=180, help="seconds of load (default 180)")
    parser.add_argument("--users", type=int, default=40, help="simulated clients (default 40)")
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()

    env = _env()
    os.environ.update(env)
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"load database {env['DATABASE_URL']}, Redis {env['REDIS_URL']}; load average {_load()}", flush=True
    )
    _recreate_database(env)
    fixture = _make_tenants(args.tenants)
    fixture_path = OUT / "fixture.json"
    fixture_path.write_text(json.dumps(fixture))
    from django.db import connection

    connection.close()

    url = f"http://127.0.0.1:{args.port}"
    web_env = {**env, "GUNICORN_BIND": f"127.0.0.1:{args.port}", "GUNICORN_WORKERS": "4"}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "saas.wsgi", "-c", "gunicorn.conf.py"], cwd=ROOT, env=web_env
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saas",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "-n",
            f"load-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saas",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(OUT / "celerybeat-schedule"),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.3)
        time.sleep(3)  # let the worker finish booting
        boot_rss = {"web": _rss(web.pid), "worker": _rss(worker.pid)}
        start_load = _load()
        started = time.monotonic()
        locust = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(Path(__file__).with_name("locustfile.py")),
                "--headless",
                "-u",
                str(args.users),
                "-r",
                str(max(1, args.users // 10)),
                "-t",
                f"{args.duration}s",
                "--host",
                url,
                "--csv",
                str(OUT / "stats"),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env={**env, "LOAD_FIXTURE": str(fixture_path)},
        )
        # RSS every 10 s; growth is measured from the sample at 30 s (every code path imported and
        # every cache filled by then) to the end, so start-up imports don't count as growth.
        samples: list[tuple[float, float, float]] = []
        while locust.poll() is None:
            samples.append((time.monotonic() - started, _rss(web.pid)[0], _rss(worker.pid)[0]))
            time.sleep(10)
        # The floor of the first half (from 30 s): a login holds Argon2's 100 MiB while it hashes, so
        # single samples swing by hundreds of MiB; the floor is what the processes keep.
        half = samples[-1][0] / 2
        warm = [x for x in samples if 30 <= x[0] <= half] or samples
        start_rss = {
            "web": (min(x[1] for x in warm), 0.0, boot_rss["web"][2]),
            "worker": (min(x[2] for x in warm), 0.0, boot_rss["worker"][2]),
        }
        (OUT / "rss.csv").write_text(
            "seconds,web_mib,worker_mib\n" + "".join(f"{a:.0f},{b:.0f},{c:.0f}\n" for a, b, c in samples)
        )
        elapsed = time.monotonic() - started
        end_load = _load()
        end_rss = {"web": _rss(web.pid), "worker": _rss(worker.pid)}
        drain_started = time.monotonic()
        while _backlog(fixture) and time.monotonic() - drain_started < 180:
            time.sleep(1)
        drain = time.monotonic() - drain_started
        events = _event_stats(fixture)
        after_drain_rss = {"web": _rss(web.pid), "worker": _rss(worker.pid)}
    finally:
        for proc in (beat, worker, web):
            proc.send_signal(signal.SIGTERM)
        for proc in (beat, worker, web):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    report = _report(args, elapsed, start_load, end_load, start_rss, end_rss, after_drain_rss, drain, events)
    report += (
        f"\nRSS at boot, before any request: web {boot_rss['web'][0]:.0f} MiB, "
        f"worker {boot_rss['worker'][0]:.0f} MiB; "
        f"samples every 10 s in .run/load/rss.csv: web {', '.join(f'{b:.0f}' for _, b, _ in samples)}; "
        f"worker {', '.join(f'{c:.0f}' for _, _, c in samples)}\n"
    )
    (OUT / "report.md").write_text(report)
    print(report)
    failed = report.count("FAIL")
    sys.exit(1 if failed else 0)


def _report(args, elapsed, start_load, end_load, start_rss, end_rss, after_rss, drain, events) -> str:
    rows = list(csv.DictReader((OUT / "stats_stats.csv").open()))
    lines = [
        f"Load test: {args.users} clients over {args.tenants} tenants for {elapsed:.0f} s "
        f"(load average {start_load} at start, {end_load} at end; 2 cores shared)",
        "",
        "| route | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = None
    for row in rows:
        cells = [
            row["Name"] if row["Name"] != "Aggregated" else "**all**",
            row["Request Count"],
            row["Failure Count"],
            f"{float(row['Requests/s']):.1f}",
            row["50%"],
            row["95%"],
            row["99%"],
            f"{float(row['Max Response Time']):.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if row["Name"] == "Aggregated":
            total = row
    requests_n = int(total["Request Count"]) if total else 0
    failures = int(total["Failure Count"]) if total else 0
    rate = failures / requests_n if requests_n else 1.0
    lines += [
        "",
        f"Throughput {float(total['Requests/s']) if total else 0:.1f} req/s; error rate {rate:.4%} "
        f"({failures} of {requests_n}) -> {'ok' if failures == 0 and requests_n else 'FAIL'}",
    ]
    failures_csv = OUT / "stats_failures.csv"
    if failures:
        lines += ["", "Failures:", "", "```", failures_csv.read_text()[:3000], "```"]
    lag = events["lag"]
    lines += [
        "",
        f"Webhook events stored: {events['statuses']} (backlog drained {drain:.0f} s after the load stopped)",
        f"Event lag received -> processed: p50 {lag['p50']:.2f} s, p95 {lag['p95']:.2f} s, "
        f"p99 {lag['p99']:.2f} s, "
        f"max {lag['max']:.2f} s",
        "",
        "| RSS (MiB) | floor 30 s to half-time | end of load | after drain | growth | processes | bound |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in ("web", "worker"):
        start, end, after = start_rss[name][0], end_rss[name][0], after_rss[name][0]
        growth = after - start
        bound = max(MEMORY_BOUND * start, 40.0)
        verdict = "ok" if growth <= bound else "FAIL"
        lines.append(
            f"| {name} (all processes) | {start:.0f} | {end:.0f} | {after:.0f} | {growth:+.0f} | "
            f"{start_rss[name][2]} | <= {bound:.0f}: {verdict} |"
        )
    if events["statuses"].get("dead") or events["statuses"].get("retrying"):
        lines.append("FAIL: events ended dead or retrying")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
