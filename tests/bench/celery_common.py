"""Plumbing of the Celery benchmarks: a worker process that is up (answers a ping) before use, and
the load average printed with every figure."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .common import ROOT

# Not common.gunicorn's default: the HTTP benches of another checkout may run at the same time.
BENCH_PORT = int(os.environ.get("BENCH_PORT", "8791"))


def exit_on_sigterm() -> None:
    """A terminated bench still stops the workers and servers it started (its `finally` blocks run)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def load() -> str:
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def wait_for(check: Callable[[], bool], what: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


@contextmanager
def celery_worker(
    app: Any, module: str, *, name: str, env: dict[str, str], args: tuple[str, ...] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A module worker -c 2` (prefork), until the block ends; `app` is used to ping it."""
    command = [sys.executable, "-m", "celery", "-A", module, "worker", "-c", "2", "-n", f"{name}@%h"]
    command += ["--without-gossip", "--without-mingle", "--loglevel", "WARNING", *args]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 90
        while not app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the Celery worker {name} did not start")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
