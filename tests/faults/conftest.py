"""Harness of the fault suite: private servers, the processes under test, signed senders, counting.

Nothing here touches the machine's PostgreSQL or Redis: the suite runs its own PostgreSQL cluster
(initdb under a temporary folder, as the `postgres` OS user when we are root) and every test its own
Redis, both on free ports of 127.0.0.1. The processes under test (gunicorn, Celery workers, beat, the
sandbox) are real subprocesses pointed at those servers, connected as the app role; migrations and
set-up connect as the owner role (both made by the set-up's `bootstrap_roles`, as for `make run`).
The test process itself only sends HTTP and counts rows with plain SQL, like an outside observer.
"""

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from integrations.signing import signed_headers
from scripts.services import bootstrap_roles
from tests.conftest import ROOT, free_port, wait_for
from tests.integrations.payloads import payload
from tests.redis_server import PrivateRedis

PYTHON = sys.executable
SUITE_STARTED = time.monotonic()


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    path = found[0] if found else shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found (install PostgreSQL 15: apt-get install postgresql)")
    return path


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` OS user then."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    """A throwaway PostgreSQL cluster under a temporary folder, on a free port."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="saas-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.app_url = self.owner_url = ""  # set by fault_postgres (bootstrap_roles)
        os.chmod(self.root, 0o755)  # noqa: S103 (the postgres user must reach its data folder)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            [
                *_as_postgres(),
                _pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def url(self, database: str = "saas_faults") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [
                *_as_postgres(),
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            [*_as_postgres(), _pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def is_up(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The processes under test
# ---------------------------------------------------------------------------------------------

# Short, test-friendly timings; the shapes (grace, lease, sweep, back-off) are production's.
ENGINE_ENV = {
    "WEBHOOK_RECEIVED_GRACE_SECONDS": "3",
    "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
    "WEBHOOK_PROCESSING_LEASE_SECONDS": "10",
    "WEBHOOK_BACKOFF_BASE_SECONDS": "0.5",
    "WEBHOOK_BACKOFF_CAP_SECONDS": "3",
    # The faults, not the budgets of strangers and webhooks, are under test (one client IP for all).
    "RATE_LIMIT_ANONYMOUS_PER_IP": "100000000/m",
    "RATE_LIMIT_WEBHOOKS_PER_SERVICE": "100000000/m",
}


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> set[int]:
        """Direct child pids (gunicorn workers, Celery pool processes)."""
        pids: set[int] = set()
        for task in glob.glob(f"/proc/{self.popen.pid}/task/*/children"):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in Path(task).read_text().split())
        return pids

    def kill(self) -> None:
        """SIGKILL to the whole process group: the parent and its pool, no chance to clean up."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def last_traceback(self, lines: int = 40) -> str:
        try:
            log = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        starts = [i for i, line in enumerate(log) if "Traceback (most recent call last)" in line]
        return "\n".join(log[starts[-1] : starts[-1] + lines]) if starts else "(no traceback)"

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    """Starts the processes under test on the private servers and stops every one afterwards."""

    database_url: str  # the app role's
    migration_url: str  # the owner role's
    redis: PrivateRedis
    folder: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PROMETHEUS_MULTIPROC_DIR", "CELERY_BROKER_URL", "REDIS_URL")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="saas.settings.test",
            DATABASE_URL=self.database_url,
            MIGRATION_DATABASE_URL=self.migration_url,
            TEST_REDIS_URL=self.redis.url,
            PYTHONUNBUFFERED="1",
            **ENGINE_ENV,
        )
        env.update(self.extra_env)
        env.update(extra)  # may name DATABASE_URL too (through PgBouncer, test_pgbouncer_restart)
        return env

    def _spawn(self, name: str, argv: list[str], **extra: str) -> Proc:
        log = self.folder / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def manage(self, *args: str, **extra: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def provision(self, slug: str, base_url: str = "") -> "Tenant":
        argv = [PYTHON, "-m", "tests.faults.provision", slug]
        if base_url:
            argv += ["--base-url", base_url]
        result = subprocess.run(
            argv, cwd=ROOT, env=self.env(), capture_output=True, text=True, check=False, timeout=300
        )
        assert result.returncode == 0, f"provision failed:\n{result.stdout}\n{result.stderr}"
        line = next(x for x in reversed(result.stdout.splitlines()) if x.startswith("PROVISIONED "))
        data = json.loads(line.removeprefix("PROVISIONED "))
        return Tenant(data["slug"], data["schema"], data["secrets"])

    def web(self, workers: int = 2, **extra: str) -> str:
        port = free_port()
        argv = [PYTHON, "-m", "gunicorn", "saas.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
        proc = self._spawn("web", [*argv, "--timeout", "120"], **extra)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.alive(), f"gunicorn exited:\n{proc.tail()}"
            with contextlib.suppress(requests.RequestException):
                return requests.get(url + "/health", timeout=2).status_code == 200
            return False

        wait_for(up, timeout=60, what="gunicorn")
        self.web_proc = proc
        return url

    def worker(self, concurrency: int = 2, **extra: str) -> Proc:
        name = f"faults-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        argv = [PYTHON, "-m", "celery", "-A", "saas", "worker", "-c", str(concurrency), "-n", name]
        argv += ["--include", "tests.integrations.event_types"]  # the `test.*` handlers
        proc = self._spawn(
            "worker", [*argv, "--without-gossip", "--without-mingle", "-l", "WARNING"], **extra
        )
        from celery import Celery

        control = Celery(broker=self.redis.url, set_as_current=False)
        try:

            def ready() -> bool:
                assert proc.alive(), f"celery worker exited:\n{proc.tail()}"
                return bool(control.control.ping(destination=[name], timeout=0.5))

            wait_for(ready, timeout=60, what="celery worker")
        finally:
            control.close()
        return proc

    def beat(self, **extra: str) -> Proc:
        schedule = self.folder / f"beat-{uuid.uuid4().hex[:6]}"
        argv = [PYTHON, "-m", "celery", "-A", "saas", "beat", "-s", str(schedule), "-l", "WARNING"]
        return self._spawn("beat", argv, **extra)

    def sandbox(self, *args: str, **extra: str) -> tuple[Proc, str]:
        port = free_port()
        proc = self._spawn(
            "sandbox", [PYTHON, "manage.py", "run_sandbox", "--port", str(port), *args], **extra
        )
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.alive(), f"sandbox exited:\n{proc.tail()}"
            with contextlib.suppress(requests.RequestException):
                return requests.get(url + "/_state", timeout=2).status_code == 200
            return False

        wait_for(up, timeout=60, what="sandbox")
        return proc, url

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.popen.pid}) ---\n{p.tail()}" for p in self.procs)

    def diagnosis(self) -> str:
        """Each process: running or its exit code, and the last traceback in its log (a process that
        died is the usual reason a fault test times out)."""
        parts = []
        for proc in self.procs:
            state = "running" if proc.alive() else f"exited {proc.popen.returncode}"
            parts.append(f"--- {proc.name} (pid {proc.popen.pid}, {state}) ---\n{proc.last_traceback()}")
        return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Sending and counting
# ---------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    slug: str
    schema: str
    secrets: dict[str, str]


def make_event(type_: str, *, ext: str | None = None, **data: Any) -> dict[str, Any]:
    """An event of `type_` about a user of its own (`ext`), from the example `user.updated` payload."""
    ext = ext or uuid.uuid4().hex[:12]
    data = {"id": ext, "email": f"{ext}@faults.test", **data}
    return {**payload("user.updated", **data), "type": type_}


class Sender:
    """Signed deliveries to one tenant's intake, over a keep-alive session per thread."""

    def __init__(self, url: str, tenant: Tenant) -> None:
        self.url, self.tenant = url, tenant
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def post(self, document: dict[str, Any], service: str = "user-service", timeout: float = 30) -> int:
        """The answer's status code, or 0 when no answer came (connection refused or reset, timeout)."""
        body = json.dumps(document).encode()
        headers = {
            "Host": f"{self.tenant.slug}.localhost",
            "Content-Type": "application/json",
            **signed_headers(self.tenant.secrets[service], body),
        }
        try:
            response = self._session().post(
                f"{self.url}/api/v1/webhooks/{service}/", data=body, headers=headers, timeout=timeout
            )
        except requests.RequestException:
            self._local.__dict__.pop("session", None)
            return 0
        return response.status_code

    def post_until_accepted(
        self,
        document: dict[str, Any],
        answers: list[int],
        service: str = "user-service",
        attempts: int = 200,
        abort: threading.Event | None = None,
    ) -> int:
        """Retries 5xx, 429 and no-answer with back-off (the same event ids, a fresh signature), as
        `send_webhook` does; appends every answer to `answers`; returns the final status."""
        status = 0
        for attempt in range(attempts):
            if abort is not None and abort.is_set():
                return status
            status = self.post(document, service)
            answers.append(status)
            if status and status < 500 and status != 429:
                return status
            time.sleep(min(0.1 * 2**attempt, 1.0))
        return status


@contextlib.contextmanager
def stopping(abort: threading.Event) -> Iterator[None]:
    """Sets `abort` when the block fails, so sender threads stop instead of holding the pool open."""
    try:
        yield
    except BaseException:
        abort.set()
        raise


class Counter:
    """Plain SQL on the private database, from outside the processes under test."""

    def __init__(self, database_url: str, schema: str) -> None:
        self.url, self.schema = database_url, schema

    def rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, connect_timeout=5, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.schema}", public')
            return conn.execute(sql, params).fetchall()

    def statuses(self) -> dict[str, int]:
        return dict(self.rows("SELECT status, count(*) FROM integrations_webhookevent GROUP BY status"))

    def side_effects(self) -> dict[str, int]:
        """Side-effect rows of `test.count` per event id."""
        return dict(self.rows("SELECT event_id, count(*) FROM test_side_effects GROUP BY event_id"))

    def assert_applied_once(
        self, batches: list[list[dict[str, Any]]], *, side_effect_rows: int
    ) -> tuple[dict[str, int], set[str]]:
        """Every `test.count` event left exactly one side effect, every user event its user, and
        there are `side_effect_rows` effects in all. Returns the effects and the users' ids."""
        effects = self.side_effects()
        users = {
            r[0] for r in self.rows("SELECT external_id FROM accounts_user WHERE external_id IS NOT NULL")
        }
        for batch in batches:
            for event in batch:
                if event["type"] == "test.count":
                    assert effects.get(event["id"]) == 1, event["id"]
                else:
                    assert event["data"]["id"] in users
        assert sum(effects.values()) == side_effect_rows
        return effects, users

    def safe(self, check: Callable[[], bool]) -> Callable[[], bool]:
        """A wait_for check that reads False while the database cannot be reached."""

        def run() -> bool:
            try:
                return check()
            except psycopg.OperationalError:
                return False

        return run


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fault_postgres() -> Iterator[PrivatePostgres]:
    """The suite's own PostgreSQL cluster with a migrated database `saas_faults`, its owner and app roles
    (tests may restart it)."""
    pg = PrivatePostgres()
    try:
        pg.start()
        pg.app_url, pg.owner_url = bootstrap_roles(pg.url())  # creates saas_faults and its two roles
        folder = Path(tempfile.mkdtemp(prefix="saas-faults-migrate-"))
        migrate_redis = PrivateRedis(folder)
        migrate_redis.start()
        try:
            Stack(pg.app_url, pg.owner_url, migrate_redis, folder).manage(
                "migrate_schemas", "--noinput", "-v", "0"
            )
        finally:
            migrate_redis.stop()
            shutil.rmtree(folder, ignore_errors=True)
        yield pg
    finally:
        pg.remove()


@pytest.fixture
def fault_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="saas-faults-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fault_redis(fault_folder: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(fault_folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(
    fault_postgres: PrivatePostgres, fault_redis: PrivateRedis, fault_folder: Path, request: Any
) -> Iterator[Stack]:
    """The processes under test; their logs' tails are printed when the test fails."""
    if not fault_postgres.is_up():  # a test that restarts PostgreSQL failed while it was down
        fault_postgres.start()
    the_stack = Stack(fault_postgres.app_url, fault_postgres.owner_url, fault_redis, fault_folder)
    yield the_stack
    the_stack.stop_all()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(the_stack.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.when == "call" and report.failed and isinstance(stack, Stack):
        # In the failure report itself (the teardown's full log tails come earlier in the output).
        report.sections.append(("processes under test", stack.diagnosis()))
    return report


def record(name: str, figures: dict[str, Any]) -> None:
    """Prints a test's counts and timings (shown with `-s`/`-rP`; copied into docs/issue-8-faults.md)."""
    print(f"\nFAULTS {name}: " + json.dumps(figures, sort_keys=True))
