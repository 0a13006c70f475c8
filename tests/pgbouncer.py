"""A private PgBouncer for tests: transaction pooling on a free port of 127.0.0.1, in front of the
PostgreSQL a URL names (scripts/services.py writes its configuration, as for `PGBOUNCER=1 make run`)."""

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse, urlunparse

import pytest

from scripts.services import pgbouncer_command, pgbouncer_write_config
from tests.conftest import free_port, port_accepts, wait_for


class PgBouncer:
    def __init__(self, server_url: str, users_from: list[str], pool_size: int) -> None:
        if not (shutil.which("pgbouncer") or os.path.exists("/usr/sbin/pgbouncer")):
            pytest.skip("PgBouncer is not installed (apt-get install pgbouncer)")
        self.folder = Path(tempfile.mkdtemp(prefix="saas-pgbouncer-"))
        os.chmod(self.folder, 0o755)  # noqa: S103 (PgBouncer runs as `postgres` when we are root)
        self.port = free_port()
        users = {unquote(u.username or ""): unquote(u.password or "") for u in map(urlparse, users_from)}
        self.ini = pgbouncer_write_config(
            self.folder, port=self.port, server_url=server_url, users=users, pool_size=pool_size
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, database_url: str) -> str:
        """`database_url` (same user, password and database) through this PgBouncer."""
        parsed = urlparse(database_url)
        return urlunparse(parsed._replace(netloc=parsed.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{self.port}"))

    def start(self) -> None:
        self.proc = subprocess.Popen(pgbouncer_command(self.ini), start_new_session=True)
        wait_for(lambda: port_accepts(self.port), what="pgbouncer")

    def stop(self) -> None:
        """SIGINT: PgBouncer closes every client and server connection at once."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text()[-3000:] if path.exists() else ""


@contextmanager
def private_pgbouncer(server_url: str, *, users_from: list[str], pool_size: int = 1) -> Iterator[PgBouncer]:
    bouncer = PgBouncer(server_url, users_from, pool_size)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(bouncer.folder, ignore_errors=True)
