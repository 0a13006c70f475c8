"""Benchmark: `GET /api/v1/users/?page_size=50` on a tenant with 10,000 users against a bare DRF view
listing the same rows from a plain table, on the same gunicorn server in the same run.

Run from the repository root (PostgreSQL and Redis up, `.env` as `make prepare` leaves it):

    .venv/bin/python -m tests.bench.users_list [--users 10000] [--seconds 10] [--connections 8]

It creates (once) the tenant `bench` with N users and the plain table `public.bench_plain_user`
with copies of those rows, starts gunicorn with `gunicorn.conf.py` on a free 127.0.0.1 port, and
drives it from a second process, `wrk` (Debian package `wrk`). It prints requests/s, p50/p99
latency, the ratio, and the number of SQL queries one users request runs on a 100-user and on
the N-user tenant.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.settings")
os.environ.setdefault("JWT_ACCESS_SECONDS", "3600")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # both views log alike; keep the console readable

import django

django.setup()

import requests  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from accounts.tokens import token_pair  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import tenant_create, tenant_update  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PATH = "/api/v1/users/?page_size=50"
BARE_PATH = "/bench/plain-users/?page_size=50"
PASSWORD = "bench-owner-password"


def ensure_tenant(slug: str, users: int) -> Tenant:
    """The tenant with exactly `users` users (owner included), created or topped up."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = tenant_create(
            slug=slug, name=slug.title(), owner_email=f"owner@{slug}.test", owner_password=PASSWORD
        )
    # A budget far above what the run sends: the limiter still counts every request.
    tenant_update(tenant=tenant, rate_limit_per_minute=10_000_000)
    with schema_context(tenant.schema_name):
        have = User.objects.count()
        if have < users:
            hashed = make_password(PASSWORD)
            roles = [Role.MEMBER] * 8 + [Role.ADMIN]
            User.objects.bulk_create(
                (
                    User(
                        email=f"user{i:06d}@{slug}.test",
                        first_name=f"First{i}",
                        last_name=f"Last{i}",
                        role=roles[i % len(roles)],
                        password=hashed,
                    )
                    for i in range(have, users)
                ),
                batch_size=2000,
            )
    return tenant


def ensure_plain_table(tenant: Tenant) -> None:
    """`public.bench_plain_user`: the same rows as the tenant's users, in a plain table."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS public.bench_plain_user")
        source = f"{tenant.schema_name}.accounts_user"  # a schema name made by provisioning
        columns = "id, email, first_name, last_name, role, is_active, external_id, created_at, updated_at"
        cursor.execute(f"CREATE TABLE public.bench_plain_user AS SELECT {columns} FROM {source}")  # noqa: S608
        cursor.execute("ALTER TABLE public.bench_plain_user ADD PRIMARY KEY (id)")
        cursor.execute("ANALYZE public.bench_plain_user")


def owner_token(tenant: Tenant) -> str:
    with schema_context(tenant.schema_name):
        owner = User.objects.filter(role=Role.OWNER).order_by("id").first()
        assert owner is not None
        return str(token_pair(user=owner, tenant=tenant)["access"])


def query_count(tenant: Tenant, token: str) -> int:
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(PATH)  # warm the routing cache
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(PATH)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "LOG_LEVEL": "WARNING",
        "AUDIT_LOG_LINES": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "saas.wsgi", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match[1]) * _WRK_UNITS[match[2]]


def run_wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out)[1])  # type: ignore[index]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": float(non2xx[1]) if non2xx else 0.0}


def load(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    if not shutil.which("wrk"):
        raise SystemExit("The load generator is wrk: apt-get install -y wrk")
    return run_wrk(url, headers, seconds, connections)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    print(f"preparing tenants (bench: {args.users} users, bench-small: 100 users) ...", flush=True)
    big = ensure_tenant("bench", args.users)
    small = ensure_tenant("bench-small", 100)
    ensure_plain_table(big)
    token = owner_token(big)
    queries = {
        "bench-small (100 users)": query_count(small, owner_token(small)),
        f"bench ({args.users} users)": query_count(big, token),
    }

    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    users_headers = {"Host": "bench.localhost", "Authorization": f"Bearer {token}"}
    try:
        check = requests.get(base + PATH, headers=users_headers, timeout=10)
        bare = requests.get(base + BARE_PATH, timeout=10)
        assert check.status_code == 200, check.text[:300]
        assert bare.status_code == 200, bare.text[:300]
        assert len(check.json()["results"]) == len(bare.json()["results"]) == 50
        load(base + PATH, users_headers, 3, args.connections)  # warm-up, both
        load(base + BARE_PATH, {}, 3, args.connections)
        results: dict[str, list[dict[str, float]]] = {"users": [], "bare": []}
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            results["users"].append(load(base + PATH, users_headers, args.seconds, args.connections))
            results["bare"].append(load(base + BARE_PATH, {}, args.seconds, args.connections))
    finally:
        server.terminate()
        server.wait(timeout=30)

    def mean(name: str, key: str) -> float:
        return sum(r[key] for r in results[name]) / len(results[name])

    summary: dict[str, Any] = {
        "load_generator": f"wrk -t2 -c{args.connections}, {args.rounds} x {args.seconds}s per view",
        "server": "gunicorn -c gunicorn.conf.py (same process for both views)",
        "users_api": {k: round(mean("users", k), 2) for k in ("rps", "p50_ms", "p99_ms", "errors")},
        "bare_view": {k: round(mean("bare", k), 2) for k in ("rps", "p50_ms", "p99_ms", "errors")},
        "ratio_rps": round(mean("users", "rps") / mean("bare", "rps"), 3),
        "queries_per_users_request": queries,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
