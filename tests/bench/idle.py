"""Idle tenants: CPU time of the Celery worker and beat of `make run` with N tenants and no traffic.

python -m tests.bench idle [--tenants 1000] [--seconds 20] [--warmup 20] [--reuse]

Makes N tenants fast (rows in bulk, each schema a replay of the template snapshot by the owner's
`saas_tenant_schema_create`: no owner hash, no audit), then starts a worker (`--concurrency 2`, as
the Procfile) and beat with the sweep every 15 s, waits `--warmup` seconds and reads the CPU time
(user + system, every process of each group, from /proc) over `--seconds`. Goal (issue 15): under
5% of one core at 1,000 tenants. `--reuse` keeps the bench database of an earlier run.
The load average is printed too: the machine may be shared.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, bench_env, machine, recreate_bench_database, setup_django

TICKS = os.sysconf("SC_CLK_TCK")


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def make_tenants(count: int) -> None:
    """`count` idle tenants `i00001`...: Tenant and Domain rows in bulk, schemas from the snapshot."""
    from django.conf import settings
    from django.db import connection

    from tenants.models import Domain, Tenant

    existing = Tenant.objects.filter(slug__startswith="i").count()
    prefix = settings.TENANT_SCHEMA_PREFIX
    new = [
        Tenant(slug=f"i{i:05d}", name=f"Idle {i}", schema_name=f"{prefix}i{i:05d}")
        for i in range(existing + 1, count + 1)
    ]
    Tenant.objects.bulk_create(new, batch_size=1000)
    tenants = Tenant.objects.filter(slug__in=[t.slug for t in new])
    Domain.objects.bulk_create(
        [Domain(domain=f"{t.slug}.{settings.SAAS_BASE_DOMAIN}", tenant=t, is_primary=True) for t in tenants],
        batch_size=1000,
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for n, tenant in enumerate(new, 1):
            cursor.execute("SELECT public.saas_tenant_schema_create(%s)", [tenant.schema_name])
            if not cursor.fetchone()[0]:
                raise SystemExit("the template snapshot is missing: run migrate_schemas first")
            if n % 200 == 0:
                seconds = time.perf_counter() - started
                print(f"  {existing + n} tenants ({seconds:.0f} s, {load()})", flush=True)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in the process group (children included)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database of an earlier run")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; {load()}", flush=True)
    if not args.reuse:
        recreate_bench_database()
    setup_django()
    started = time.perf_counter()
    make_tenants(args.tenants)
    print(f"{args.tenants} tenants in {time.perf_counter() - started:.0f} s ({load()})", flush=True)

    from django.db import connection

    connection.close()
    env = bench_env(DJANGO_SETTINGS_MODULE="saas.settings.base", LOG_LEVEL="WARNING")
    env["REDIS_URL"] = env["BENCH_REDIS_URL"]
    env.pop("CELERY_BROKER_URL", None)
    folder = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    celery = [sys.executable, "-m", "celery", "-A", "saas"]
    worker = start([*celery, "worker", "--concurrency", "2", "-l", "WARNING", "-n", "idle@%h"], env)
    beat = start([*celery, "beat", "-l", "WARNING", "-s", str(folder / "schedule")], env)
    try:
        time.sleep(args.warmup)  # start-up (imports, forks) is not what an idle platform costs
        before = {p.pid: group_cpu_seconds(p.pid) for p in (worker, beat)}
        time.sleep(args.seconds)
        after = {p.pid: group_cpu_seconds(p.pid) for p in (worker, beat)}
        if worker.poll() is not None or beat.poll() is not None:
            raise SystemExit("the worker or beat exited")
    finally:
        for proc in (beat, worker):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in (beat, worker):
            proc.wait(timeout=30)
    used = {name: after[p.pid] - before[p.pid] for name, p in (("worker", worker), ("beat", beat))}
    total = sum(used.values())
    print(f"\nmachine: {machine()}; {load()}")
    print(
        f"{args.tenants} idle tenants, {args.seconds:.0f} s: worker {used['worker']:.2f} s CPU, "
        f"beat {used['beat']:.2f} s CPU; together {100 * total / args.seconds:.1f}% of one core "
        "(goal < 5%)"
    )


if __name__ == "__main__":
    main()
