"""Shared benchmark plumbing: a bench database, a gunicorn server, wrk as the load generator."""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = os.environ.get("BENCH_DB", "saas_bench")  # one per checkout when several share a server


def bench_database_url() -> str:
    """The bench runs on its own database next to the configured one, never on the dev data.

    As the owner role, in every process: benchmarks make tables of their own and measure speed, not
    privileges (the test suite covers the app role)."""
    url = os.environ.get("MIGRATION_DATABASE_URL") or os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saas"
    )
    return urlunparse(urlparse(url)._replace(path=f"/{BENCH_DB}"))


def bench_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": bench_database_url(),
        "MIGRATION_DATABASE_URL": bench_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "LOG_LEVEL": "WARNING",
        "AUDIT_LOG_LINES": "false",  # as before: no per-append log line (LOG_LEVEL no longer hides it)
        # Strangers' and webhooks' budgets out of the way: the bench measures the code, not the limiter.
        "RATE_LIMIT_ANONYMOUS_PER_IP": "100000000/m",
        "RATE_LIMIT_WEBHOOKS_PER_SERVICE": "100000000/m",
        # Its own Redis database too: benchmarks may flush it (never the development data's).
        "BENCH_REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        **extra,
    }


def setup_django() -> None:
    os.environ.update(bench_env())
    import django

    django.setup()


def recreate_bench_database() -> None:
    parsed = urlparse(bench_database_url())
    import psycopg

    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=bench_env(),
        check=True,
    )


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@contextmanager
def gunicorn(
    port: int = 8765, workers: int = 4, env: dict[str, str] | None = None, app: str = "saas.wsgi"
) -> Iterator[str]:
    """gunicorn with the platform's settings (gunicorn.conf.py: sync workers, max_requests...)."""
    wrk_check()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "-c",
            "gunicorn.conf.py",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env or bench_env(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/health", timeout=1)
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


WRK_MISSING = (
    "The HTTP benchmarks drive their servers with wrk, which is not installed.\n"
    "Install it with: sudo apt-get install wrk   (Debian/Ubuntu; `brew install wrk` on macOS)"
)


def wrk_check() -> None:
    """Stops before any set-up when the load generator is missing, saying how to get it."""
    if not shutil.which("wrk"):
        raise SystemExit(WRK_MISSING)


def wrk(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 2,
    script: str | None = None,
) -> Load:
    wrk_check()
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script:
        args += ["-s", script]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(rps=rps, p50_ms=p50, p99_ms=p99, errors=errors)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def load_average() -> str:
    """The 1/5/15-minute load average: benches on a busy machine say so next to their figures."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
