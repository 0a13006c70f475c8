"""Shared plumbing of the webhook benchmarks: a bench tenant with a known secret, signed requests
written for wrk's Lua script, and a wrk runner that passes script arguments."""

import json
import os
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

from . import common
from .common import Load, _ms

# Other checkouts may run their benchmarks at the same time: keep our own database.
common.BENCH_DB = os.environ.get("BENCH_DB", common.BENCH_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.webhook_settings")
LUA = Path(__file__).with_name("webhook_requests.lua")
SLUG = "bench"


def bench_env(**extra: str) -> dict[str, str]:
    return common.bench_env(DJANGO_SETTINGS_MODULE="tests.bench.webhook_settings", **extra)


def prepare() -> str:
    """Fresh bench database with tenant `bench`; returns its user-service signing secret."""
    common.recreate_bench_database()
    os.environ.update(bench_env())
    import django

    django.setup()
    from django_tenants.utils import schema_context

    from integrations.services import integration_settings_ensure
    from tenants.services import tenant_create

    tenant = tenant_create(
        slug=SLUG,
        name="Bench",
        owner_email="o@bench.test",
        owner_password="bench-owner-pass-1",
        rate_limit_per_minute=10_000_000,  # measure intake, not the tenant's request budget
    )
    with schema_context(tenant.schema_name):
        return integration_settings_ensure(service="user-service").signing_secret


def user_event(n: int, *, occurred_at: str = "2025-01-01T00:00:00+00:00") -> dict[str, object]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "user.updated",
        "occurred_at": occurred_at,
        "data": {
            "id": f"ext-{n}",
            "email": f"user{n}@bench.test",
            "first_name": "Bench",
            "last_name": str(n),
        },
    }


def signed_line(secret: str, body: bytes) -> str:
    from integrations.signing import signed_headers  # after django.setup() in the bench's runner

    headers = signed_headers(secret, body)
    return "\t".join([*headers.values(), f"{SLUG}.localhost", body.decode()])


def write_request_files(bodies_per_thread: list[list[bytes]], secret: str) -> str:
    """One file per wrk thread (`<prefix>.<n>`), so no two threads send the same event."""
    prefix = tempfile.mktemp(prefix="webhook-bench-")  # noqa: S306  (paths for wrk, same user)
    for n, bodies in enumerate(bodies_per_thread):
        with open(f"{prefix}.{n}", "w") as out:
            for body in bodies:
                out.write(signed_line(secret, body) + "\n")
    return prefix


def wrk_post(url: str, path: str, prefix: str, *, seconds: int, connections: int, threads: int) -> Load:
    args = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        path,
        prefix,
    ]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return Load(rps=rps, p50_ms=p50, p99_ms=p99, errors=errors)


def compact(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
